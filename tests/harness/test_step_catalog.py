"""The handbook's list of step phrases is generated from steps/ and must be current; every step
module is a `*_steps.py` and every step says in one line what it does (the catalog prints it)."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_handbook_lists_exactly_the_step_phrases_in_the_code():
    proc = subprocess.run(
        [sys.executable, "-m", "harness.gates.step_catalog", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_step_module_is_named_for_its_noun_with_the_steps_suffix():
    # A step module named like a top-level package (steps/contracts.py) shadowed that package
    # while behave loaded steps/ (it puts steps/ first on sys.path).
    modules = [p.name for p in (REPO / "steps").glob("*.py")]
    assert modules, "no step modules found"
    assert [m for m in modules if not m.endswith("_steps.py")] == []


def _catalog() -> dict[str, list[dict[str, str]]]:
    """The step catalog, collected in a fresh process (it loads behave's global registry)."""
    code = (
        "import json, dataclasses\n"
        "from harness.gates import step_catalog\n"
        "print(json.dumps({m: [dataclasses.asdict(s) for s in ss]"
        " for m, ss in step_catalog.collect().items()}))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_every_step_has_a_one_line_docstring():
    catalog = _catalog()
    steps = [(m, s) for m, ss in catalog.items() for s in ss]
    assert len(steps) > 50, f"the catalog found only {len(steps)} steps"
    missing = [f"{m}: {s['phrase']}" for m, s in steps if not s["doc"]]
    multi = [f"{m}: {s['phrase']}" for m, s in steps if "\n" in s["doc"]]
    assert missing == [], f"steps without a docstring: {missing}"
    assert multi == [], f"steps whose docstring is more than one line: {multi}"


def test_the_handbook_shows_each_docstring_beside_its_phrase():
    handbook = (REPO / "docs" / "qa-handbook.md").read_text()
    line = (
        "- **When** a decision is requested from COS with {token:CosToken} — "
        "Ask COS for a viewer's decision carrying no, a forged or an expired token."
    )
    assert line in handbook
