"""Secret scan of everything a run leaves under reports/ (the tree CI uploads as artifacts).

Why: reports/ is published (Allure report, CI artifacts, k6 summaries, service logs), so a
credential that reaches it is leaked. Each file is searched for

- `jwt`: a JWT-shaped string whose header and payload base64url-decode to JSON objects
  (header with an `alg`) — a bearer token, live or not, is never an artifact;
- `private-key`: a PEM `-----BEGIN … PRIVATE KEY-----` block;
- `credential`: the development passwords and secrets of the reference services
  (`harness.env.environments.Credentials` defaults and `contracts.scrub.known_dev_credentials`,
  which pins COS's and MC's own constants), plus the value of any of `SECRET_ENV` that is set;
- `secret-field`: a JSON field or `name=value` pair named like a secret (password, secret,
  token, api key, private key) whose value is not a redaction marker (`ALLOWED_VALUES`).

Findings name the file, the line and the kind — never the secret (a 12-hex fingerprint tells
two findings apart). `ALLOWED_VALUES` is the whole allowlist: markers that stand *in place of*
a secret and provably are none. Files are read as bytes (binary too), symlinks are not
followed. `python -m harness.gates.secret_scan reports/` exits 1 on any finding; `StageGate` is the
gate harness/gates/stages.py runs after every stage. docs/observability.md → "Secret scan".
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from contracts.scrub import known_dev_credentials
from harness.env.environments import Credentials

JWT, PRIVATE_KEY, CREDENTIAL, SECRET_FIELD = "jwt", "private-key", "credential", "secret-field"

# Env vars through which a run may receive real (non-default) secrets; their values are searched too.
SECRET_ENV = ("COS_PASSWORD", "COS_CLIENT_SECRET", "MC_CLIENT_SECRET", "MC_ADMIN_TOKEN")
MIN_SECRET_LEN = 8  # shorter env values would match innocent text

# The allowlist: values that replace a secret and are not one (harness/kit/recorder.py writes
# `<redacted>`, harness/load/runner.py masks the k6 command line with `***`).
ALLOWED_VALUES = frozenset({"<redacted>", "***", "[REDACTED]", "REDACTED", ""})

_B64URL = r"[A-Za-z0-9_-]"
# A JWT's header is a JSON object, so its base64url starts `ey` ('{"') or `ew` ('{\n').
_JWT = re.compile(rf"(?<!{_B64URL})e[wy]{_B64URL}{{2,}}\.{_B64URL}{{2,}}\.{_B64URL}*".encode())
_PEM = re.compile(rb"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----")
_FIELD_NAME = r"[A-Za-z0-9_-]*(?:password|passwd|secret|token|api[_-]?key|private[_-]?key)"
_JSON_FIELD = re.compile(rf'"({_FIELD_NAME})"\s*:\s*"((?:[^"\\\n]|\\.)*)"'.encode(), re.I)
_REPR_FIELD = re.compile(rf"'({_FIELD_NAME})'\s*:\s*'((?:[^'\\\n]|\\.)*)'".encode(), re.I)  # Python dict repr
_PAIR = re.compile(rf"(?<![A-Za-z0-9_.-])({_FIELD_NAME})=[\"']?([^\s&\"',;]*)".encode(), re.I)


@dataclass(frozen=True)
class Finding:
    path: str  # relative to the scanned root
    line: int
    kind: str
    what: str  # a description that holds no secret
    fingerprint: str  # first 12 hex of sha256(secret): tells findings apart, reveals nothing

    def describe(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}: {self.what} [sha256 {self.fingerprint}]"


def known_secrets(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """value → label for every literal secret the scan looks for."""
    labels = {f.name: f.name.replace("_", " ") for f in fields(Credentials)}
    defaults = Credentials()
    out: dict[str, str] = {}
    for name in ("cos_password", "mc_client_secret", "mc_admin_token"):
        out[getattr(defaults, name)] = f"development {labels[name]}"
    for value in sorted(known_dev_credentials()):
        out.setdefault(value, "development credential")
    env = os.environ if env is None else env
    for name in SECRET_ENV:
        value = env.get(name, "")
        if len(value) >= MIN_SECRET_LEN and value not in ALLOWED_VALUES:
            out.setdefault(value, f"value of ${name}")
    return out


def _fingerprint(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()[:12]


def _b64json(segment: bytes) -> object:
    try:
        return json.loads(base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _jwt(candidate: bytes) -> str | None:
    """A description if `candidate` parses as a token, else None."""
    head, payload, _sig = candidate.split(b".", 2)
    header, claims = _b64json(head), _b64json(payload)
    if not (isinstance(header, dict) and isinstance(header.get("alg"), str) and isinstance(claims, dict)):
        return None
    iss = claims.get("iss")
    return f"JWT (alg {header['alg'][:16]}" + (f", iss {str(iss)[:40]!r})" if iss else ")")


def scan_bytes(data: bytes, path: str, secrets: Mapping[str, str]) -> list[Finding]:
    """Every finding in one file's content, in file order."""
    hits: list[tuple[int, str, str, bytes]] = []
    for m in _JWT.finditer(data):
        what = _jwt(m.group())
        if what:
            hits.append((m.start(), JWT, what, m.group()))
    for m in _PEM.finditer(data):
        label = m.group(1).decode().strip() or "PKCS#8"
        end = data.find(b"-----END", m.end())
        hits.append((m.start(), PRIVATE_KEY, f"PEM private key ({label})", data[m.start() : end]))
    for value, label in secrets.items():
        needle = value.encode()
        start = data.find(needle)
        while start != -1:
            hits.append((start, CREDENTIAL, label, needle))
            start = data.find(needle, start + 1)
    seen = {secret for *_, secret in hits}
    for pattern in (_JSON_FIELD, _REPR_FIELD, _PAIR):
        for m in pattern.finditer(data):
            value = m.group(2)
            if value.decode("latin-1") in ALLOWED_VALUES or value in seen:
                continue  # a marker, or the token/credential already reported above
            hits.append((m.start(2), SECRET_FIELD, f"field {m.group(1).decode('latin-1')!r}", value))
    hits.sort(key=lambda h: h[0])
    return [
        Finding(path, data.count(b"\n", 0, pos) + 1, kind, what, _fingerprint(secret))
        for pos, kind, what, secret in hits
    ]


def redact_fields(data: bytes) -> bytes:
    """`data` with the value of every JSON field named like a secret replaced by a redaction marker.

    For artifacts that must keep their shape but may carry generated or example credentials
    (the fuzz stage's request log): what the scan would call a secret field, it no longer sees.
    """
    return _JSON_FIELD.sub(lambda m: m.group(0)[: m.start(2) - m.start(0)] + b"REDACTED" + b'"', data)


def redact(data: bytes, secrets: Mapping[str, str]) -> bytes:
    """`data` with secret-named fields and every known secret value replaced by a redaction marker."""
    for value in secrets:
        data = data.replace(value.encode(), b"REDACTED")
    return redact_fields(data)


def files_under(root: Path) -> Iterator[Path]:
    """Every regular file under `root`, symlinks neither followed nor read, in a stable order."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path


def scan_file(path: Path, root: Path, secrets: Mapping[str, str]) -> list[Finding]:
    try:
        data = path.read_bytes()
    except OSError:
        return []  # vanished or unreadable while a stage was still writing; the next gate sees it
    return scan_bytes(data, str(path.relative_to(root)), secrets)


def scan_tree(root: Path | str, secrets: Mapping[str, str] | None = None) -> list[Finding]:
    """Every finding in every file under `root` (an absent root has none)."""
    root = Path(root)
    secrets = known_secrets() if secrets is None else secrets
    return [f for path in files_under(root) for f in scan_file(path, root, secrets)]


def describe_all(findings: list[Finding], limit: int = 20) -> list[str]:
    """One line per finding, at most `limit` (a leaking log can hold thousands)."""
    lines = [f.describe() for f in findings[:limit]]
    if len(findings) > limit:
        lines.append(f"… and {len(findings) - limit} more finding(s)")
    return lines


class StageGate:
    """The gate after each stage: reports findings no earlier gate of this run reported.

    The whole tree is scanned each time, so a file an earlier run left in reports/ (and CI
    would upload) fails the first gate, marked as such; a finding fails only the first stage
    that sees it. Unchanged files (same size and mtime) are not read again.
    """

    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self._secrets = known_secrets() if secrets is None else dict(secrets)
        self._cache: dict[Path, tuple[tuple[int, int], list[Finding]]] = {}
        self._reported: set[tuple[str, str, str]] = set()
        self._started_ns = time.time_ns()
        self._earlier: set[str] = set()  # files last written before this run began

    def check(self, root: Path) -> list[Finding]:
        """Scan `root`; print one line with the count (a clean gate is visible in the stage log)."""
        new: list[Finding] = []
        files = 0
        for path in files_under(root):
            files += 1
            try:
                st = path.stat()
            except OSError:
                continue
            if st.st_mtime_ns < self._started_ns:
                self._earlier.add(str(path.relative_to(root)))
            else:
                self._earlier.discard(str(path.relative_to(root)))
            stamp = (st.st_size, st.st_mtime_ns)
            cached = self._cache.get(path)
            if cached is None or cached[0] != stamp:
                cached = (stamp, scan_file(path, root, self._secrets))
                self._cache[path] = cached
            for f in cached[1]:
                key = (f.path, f.kind, f.fingerprint)
                if key not in self._reported:
                    self._reported.add(key)
                    new.append(f)
        print(f"secret scan of {root}: {files} file(s), {len(new)} new finding(s)", flush=True)
        return new

    def note(self, findings: Iterable[Finding]) -> str:
        """The stage note: files and kinds; a file older than this run is marked as such."""
        return note(findings, earlier=self._earlier)


def note(findings: Iterable[Finding], limit: int = 3, earlier: Iterable[str] = ()) -> str:
    """A one-line stage note: files and kinds, never values."""
    per_file: dict[str, set[str]] = {}
    for f in findings:
        per_file.setdefault(f.path, set()).add(f.kind)
    old = set(earlier)
    items = [
        f"{p} ({', '.join(sorted(k))}{', left by an earlier run' if p in old else ''})"
        for p, k in per_file.items()
    ]
    more = f" and {len(items) - limit} more file(s)" if len(items) > limit else ""
    return "secrets in reports: " + "; ".join(items[:limit]) + more


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.gates.secret_scan",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("root", nargs="?", default="reports", help="tree to scan (default reports/)")
    args = parser.parse_args(argv)
    root = Path(args.root)
    findings = scan_tree(root)
    for f in findings:
        print(f.describe())
    files = len({f.path for f in findings})
    print(f"secret scan of {root}: {len(findings)} finding(s) in {files} file(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
