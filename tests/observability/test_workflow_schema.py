"""The GitHub workflow validates against GitHub's published JSON schema (check-jsonschema's vendored copy).

A typo in a key (`need:`), a step with both `uses` and `run`, or a wrong type fails here, in the
unit stage, rather than on the first push. The compose job must use a registry base image on
hosted runners (the local debootstrap base needs root and no registry).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
CHECK = Path(sys.executable).parent / "check-jsonschema"


def validate(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CHECK), "--builtin-schema", "vendor.github-workflows", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_workflow_matches_the_github_workflow_schema():
    assert WORKFLOWS, "no workflow under .github/workflows"
    proc = validate(*WORKFLOWS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok -- validation done" in proc.stdout


def test_the_schema_check_fails_on_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOWS[0].read_text().replace("runs-on:", "runs_on:", 1))
    proc = validate(broken)
    assert proc.returncode != 0, proc.stdout
    assert "runs-on" in proc.stdout + proc.stderr


def test_the_compose_job_builds_on_a_registry_base_image():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "acceptance.yml").read_text())
    compose = workflow["jobs"]["compose"]
    assert compose["env"]["BASE_IMAGE"] == "python:3.11-slim", compose["env"]
