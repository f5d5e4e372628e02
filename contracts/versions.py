"""Pacticipant versions: the git commit, qualified when that pacticipant's code is uncommitted.

All three pacticipants live in this repository, so a version is the short SHA of `HEAD`. When
the files a pacticipant is built from differ from `HEAD` (edited or untracked), the version is
`<sha>+dirty.<fingerprint>`: the fingerprint hashes those files' current content, so two
different uncommitted states never share a version and the same state always gets the same one.
`PACT_VERSION_<NAME>` (e.g. `PACT_VERSION_COMPANYOS`) or `PACT_VERSION` overrides — CI sets it
to the build's version. Git is only read (rev-parse / diff / ls-files, no optional locks).
"""

from __future__ import annotations

import hashlib
import os
import subprocess

from contracts import COS, MC, REPO, SDK

SOURCES: dict[str, tuple[str, ...]] = {
    COS: ("companyos", "seam", "policy"),
    MC: ("conductor", "seam", "policy"),
    SDK: ("cosclient", "seam"),
}
UNVERSIONED = "0.0.0+nogit"


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


def _changed_files(paths: tuple[str, ...]) -> list[str]:
    modified = _git("diff", "--name-only", "HEAD", "--", *paths) or ""
    untracked = _git("ls-files", "--others", "--exclude-standard", "--", *paths) or ""
    return sorted({line for line in (modified + untracked).splitlines() if line.strip()})


def _fingerprint(files: list[str]) -> str:
    h = hashlib.sha256()
    for name in files:
        path = REPO / name
        h.update(name.encode() + b"\0")
        h.update(path.read_bytes() if path.is_file() else b"<deleted>")
    return h.hexdigest()[:10]


def version_of(pacticipant: str) -> str:
    env_name = "PACT_VERSION_" + pacticipant.upper().replace("-", "_")
    override = os.environ.get(env_name) or os.environ.get("PACT_VERSION")
    if override:
        return override
    sha = (_git("rev-parse", "--short=12", "HEAD") or "").strip()
    if not sha:
        return UNVERSIONED
    changed = _changed_files(SOURCES[pacticipant])
    return f"{sha}+dirty.{_fingerprint(changed)}" if changed else sha


def branch() -> str | None:
    name = (os.environ.get("PACT_BRANCH") or (_git("rev-parse", "--abbrev-ref", "HEAD") or "")).strip()
    return None if name in ("", "HEAD") else name
