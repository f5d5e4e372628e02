"""Run a shell recipe from docs/runbook.md exactly as written: the docs are the test.

A recipe is the fenced `sh` block right after a `<!-- recipe: NAME -->` line.
It is run with bash from the repository root, stopping at its first failing
command; whatever it started in the background is stopped when it ends, and
its fixed loopback ports must be free first (a clear error, not a confusing
failure, when they are not). The recipe's own last `N passed, N failed`
line is its verdict.

    python -m harness.gates.runbook_recipe external-backend
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "docs" / "runbook.md"
_PORT = re.compile(r"127\.0\.0\.1:(\d{2,5})")
TIMEOUT_S = 900


class RecipeError(RuntimeError):
    """The recipe is missing from the runbook, or cannot run here; the message says why."""


def extract(name: str, text: str) -> str:
    """The body of the fenced block that follows `<!-- recipe: name -->`."""
    marker = f"<!-- recipe: {name} -->"
    start = text.find(marker)
    if start < 0:
        raise RecipeError(f"no recipe {name!r} in {RUNBOOK.relative_to(REPO)} (a line {marker!r})")
    m = re.compile(r"```(?:sh|bash)\n(.*?)```", re.S).search(text, start + len(marker))
    if not m:
        raise RecipeError(f"recipe {name!r} has no ```sh block after its marker")
    return m.group(1)


def ports(script: str) -> list[int]:
    return sorted({int(p) for p in _PORT.findall(script)})


def busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def run(name: str, env: dict[str, str] | None = None) -> int:
    script = extract(name, RUNBOOK.read_text("utf-8"))
    taken = [p for p in ports(script) if busy(p)]
    if taken:
        raise RecipeError(f"recipe {name!r} needs loopback ports {taken} free; something listens there")
    wrapped = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n" + script
    print(f"=== recipe {name} (docs/runbook.md) ===\n{script}", flush=True)
    return subprocess.run(["bash", "-c", wrapped], cwd=REPO, env=env, timeout=TIMEOUT_S).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", help="the recipe's name, as in <!-- recipe: NAME -->")
    args = parser.parse_args(argv)
    try:
        return run(args.name)
    except RecipeError as exc:
        print(f"recipe: {exc}", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
