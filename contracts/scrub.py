"""Scrub gate: no pact may carry anything that looks like a real credential.

Pacts are committed and shared (and published to a broker when there is one), so every string
in them — bodies, headers, query strings, form fields, provider-state params — is checked:

- JSON Web Tokens (three base64url segments starting `eyJ`), anywhere;
- private keys (PEM `PRIVATE KEY` blocks), anywhere;
- the repository's development credentials (dev client secret, dev password, dev admin token);
- `Authorization` values, and any `Bearer <token>` / `Basic <credentials>` string, other than
  the documented placeholder (`Bearer contract-placeholder-token`) or a provider-state
  expression (`Bearer ${accessToken}`, a reference the verifier fills in, not a value);
- fields named like a secret (password, secret, client_secret, access_token, api_key, …) whose
  value is not a documented placeholder (contracts/placeholders.py).

Findings name the file, the location and the rule, and show at most the first few characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from contracts import PACT_DIR, pactfile, placeholders

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----|PRIVATE KEY-----")
BEARER_CREDENTIAL = re.compile(r"^\s*Bearer\s+([^\s=,\"]+=*)\s*$", re.IGNORECASE)
BASIC_CREDENTIAL = re.compile(r"^\s*Basic\s+([A-Za-z0-9+/]{4,}=*)\s*$", re.IGNORECASE)
SECRET_FIELD = re.compile(
    r"(?i)(^|[_-])(password|passwd|passphrase|secret|client_secret|api_?key|access_token|refresh_token"
    r"|id_token|private_key|token)$"
)
STATE_EXPRESSION = re.compile(r"^\$\{[A-Za-z0-9_.-]+\}$")  # `${accessToken}`: filled in at verification
AUTH_HEADERS = ("authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie")


def known_dev_credentials() -> frozenset[str]:
    """The development defaults shipped in this repository (they are real credentials there)."""
    values = {"companyos-dev-secret", "qa-dev-password", "mc-admin-dev"}
    try:
        from companyos.settings import DEV_CLIENT_SECRET
        from companyos.users import DEV_PASSWORD

        values |= {DEV_CLIENT_SECRET, DEV_PASSWORD}
    except ImportError:  # pragma: no cover - the gate still knows the literal defaults
        pass
    return frozenset(values)


@dataclass(frozen=True)
class Finding:
    file: str
    where: str
    rule: str
    preview: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.rule} (value starts {self.preview!r})"


def _preview(value: str) -> str:
    return value[:6] + "…" if len(value) > 6 else value


def _strings(value: Any, where: str, field_name: str = "") -> Iterator[tuple[str, str, str]]:
    """(location, field name, string) for every string, including form fields inside strings."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{where}.{k}", str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{where}[{i}]", field_name)
    elif isinstance(value, str):
        yield where, field_name, value
        if "=" in value and "&" in value and " " not in value:
            for k, v in parse_qsl(value, keep_blank_values=True):
                yield f"{where}<form {k}>", k, v


def _allowed_credential(value: str) -> bool:
    bearer = BEARER_CREDENTIAL.match(value)
    return value.strip() in placeholders.BEARER_VALUES or bool(
        bearer and STATE_EXPRESSION.match(bearer.group(1))
    )


def check_value(where: str, field_name: str, value: str) -> list[tuple[str, str]]:
    """[(rule, offending value)] for one string."""
    found: list[tuple[str, str]] = []
    if JWT.search(value):
        found.append(("looks like a JSON Web Token", JWT.search(value).group(0)))  # type: ignore[union-attr]
    if PRIVATE_KEY.search(value):
        found.append(("contains a private key", value))
    for secret in known_dev_credentials():
        if secret in value:
            found.append(("contains a development credential of this repository", secret))
    bearer = BEARER_CREDENTIAL.match(value)
    if bearer and bearer.group(1) != placeholders.TOKEN and not STATE_EXPRESSION.match(bearer.group(1)):
        found.append(("bearer credential other than the documented placeholder", bearer.group(1)))
    basic = BASIC_CREDENTIAL.match(value)
    if basic:
        found.append(("HTTP Basic credentials", basic.group(1)))
    if field_name.lower() in AUTH_HEADERS and not _allowed_credential(value):
        found.append((f"{field_name} value other than the documented placeholder", value))
    if SECRET_FIELD.search(field_name) and not (
        placeholders.is_placeholder(value) or STATE_EXPRESSION.match(value)
    ):
        found.append((f"secret-like field {field_name!r} holds a non-placeholder value", value))
    return found


def scan_document(doc: dict[str, Any], file: str) -> list[Finding]:
    findings: list[Finding] = []
    for where, field_name, value in _strings(doc, "$"):
        for rule, offending in check_value(where, field_name, value):
            findings.append(Finding(file, where, rule, _preview(offending)))
    return findings


def scan(paths: list[Path] | None = None) -> list[Finding]:
    paths = pactfile.committed(PACT_DIR) if paths is None else paths
    findings: list[Finding] = []
    for path in paths:
        findings += scan_document(json.loads(path.read_text("utf-8")), path.name)
    return findings


def report(findings: list[Finding], scanned: int) -> str:
    if not findings:
        return f"no secrets: {scanned} pacts scanned, only documented placeholders found"
    lines = [f"{len(findings)} secret-looking value(s) in pacts:"] + [f"  ✗ {f}" for f in findings]
    lines.append("Pacts may only hold the placeholders in contracts/placeholders.py (docs/contracts.md).")
    return "\n".join(lines)
