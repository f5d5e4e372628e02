"""Where the Debian tools of the observability stage and the report test are, and whether they must be.

`scripts/install-debian-tools.sh` (run by scripts/bootstrap.sh, so by `make test`) installs
chromium, promtool, prometheus, the Pushgateway and Alertmanager where missing and then
writes a stamp. A test needing one of them may skip only when the tool is absent *and* the
script never ran here; after the script ran, a missing tool is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STAMP = REPO / ".venv" / ".debian-tools-stamp"
# Debian's names first; the others are what a hosted runner may have instead.
CANDIDATES: dict[str, tuple[str, ...]] = {
    "chromium": ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"),
    "promtool": ("promtool",),
    "prometheus": ("prometheus",),
    "pushgateway": ("prometheus-pushgateway", "pushgateway"),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
}
ENV_OVERRIDE = {"chromium": "CHROMIUM"}


class ToolMissing(RuntimeError):
    """A tool the install script should have provided is not on PATH."""


def find(tool: str) -> str | None:
    """The tool's path: $CHROMIUM for chromium if set, else the first candidate on PATH."""
    override = os.environ.get(ENV_OVERRIDE.get(tool, ""), "")
    if override:
        return override if Path(override).exists() else None
    return next((p for p in map(shutil.which, CANDIDATES[tool]) if p), None)


def install_script_ran() -> bool:
    return STAMP.exists()


def require(tool: str) -> str:
    """The tool's path, or ToolMissing saying how to get it."""
    path = find(tool)
    if path is None:
        raise ToolMissing(
            f"{tool} not found (looked for {', '.join(CANDIDATES[tool])}); "
            "run `bash scripts/install-debian-tools.sh` (make test runs it)"
        )
    return path


def skip_reason(tool: str) -> str | None:
    """Why a test may skip for want of `tool` (None: the tool is there, or must be — then don't skip)."""
    if find(tool) is not None or install_script_ran():
        return None
    return f"{tool} absent and scripts/install-debian-tools.sh was not run on this machine"


def run(
    tool: str, *args: str, stdin: str | None = None, timeout_s: float = 120
) -> subprocess.CompletedProcess:
    """Run an installed tool (e.g. `run("promtool", "check", "metrics", stdin=text)`), output captured."""
    return subprocess.run(
        [require(tool), *args], input=stdin, capture_output=True, text=True, timeout=timeout_s
    )
