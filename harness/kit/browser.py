"""What a person sees in a page: headless Chromium renders it, we read the visible text.

`chromium --dump-dom` with a virtual-time budget runs the page's scripts until the budget
is spent (or the page goes idle), then prints the DOM. No DevTools protocol, no extra
Python package: one process per page, its own fresh profile, killed by a timeout.

The flags keep Chromium off the network (this machine has none and CI must not depend on
it): without them it hangs on background connections (component updates, sync, QUIC).
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable

from harness.kit import debian_tools

FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container: the sandbox needs user namespaces we may not have
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_HIDDEN = re.compile(r"<(script|style|noscript|template)\b.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


class BrowserError(RuntimeError):
    """Chromium did not render the page."""


def dump_dom(url: str, *, budget_ms: int = 10_000, timeout_s: float = 60.0) -> str:
    """The page's DOM after its scripts ran for at most `budget_ms` of virtual time."""
    chromium = debian_tools.require("chromium")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        try:
            proc = subprocess.run(
                [
                    chromium,
                    *FLAGS,
                    f"--user-data-dir={profile}",
                    f"--virtual-time-budget={budget_ms}",
                    "--dump-dom",
                    url,
                ],
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired as exc:
            raise BrowserError(f"chromium did not finish {url} within {timeout_s:.0f}s") from exc
    if proc.returncode != 0 or "<html" not in proc.stdout.lower():
        raise BrowserError(f"chromium exited {proc.returncode} on {url}: {proc.stderr[-1500:]}")
    return proc.stdout


def visible_text(dom: str) -> str:
    """The DOM's text as one line of words: scripts and styles dropped, tags become spaces."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", _HIDDEN.sub(" ", dom)))).strip()


def page_text(
    url: str,
    *,
    budget_ms: int = 10_000,
    ready: Callable[[str], bool] | None = None,
    renders: int = 3,
) -> str:
    """What a person reads on the page at `url`, once it has rendered.

    `ready` says what a finished render shows (e.g. the report's totals). On a loaded machine
    Chromium's dump can come back before the page's data arrived: the report's bare frame, or
    "Failed to fetch" for its embedded data (seen while the gate's lanes kept both cores busy).
    Such a render is not the page's answer, so it is rendered again, at most `renders` times,
    each retry printed; a page that never gets ready fails the caller with its last text.
    """
    text = ""
    for attempt in range(1, renders + 1):
        text = visible_text(dump_dom(url, budget_ms=budget_ms))
        if ready is None or ready(text):
            return text
        print(
            f"browser: render {attempt} of {url} was not ready ({text[:160]!r}); rendering again",
            file=sys.stderr,
        )
    return text
