"""The evidence document both services accept, and its validation.

One schema for COS's write path, MC's REST endpoint and MC's GraphQL input,
so an invalid field is named the same way (`field`) wherever it is rejected.

    {
      "release":     "2026.11.3",                 # 1..128 chars
      "kind":        "test-report",               # one of KINDS
      "subject":     {"name": "api", "digest": {"sha256": "<64 hex>"}},
      "produced_at": "2026-11-26T06:00:00Z",      # RFC 3339
      "payload":     {...}                        # optional JSON object
    }
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from seam import strict_json
from seam.problem import Problem

KINDS = ("test-report", "sbom", "approval", "scan", "build")
MAX_BODY_BYTES = 64 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ALLOWED = {"release", "kind", "subject", "produced_at", "payload"}


def _invalid(field: str, detail: str) -> Problem:
    return Problem(422, "invalid_evidence", f"{field}: {detail}", field=field)


def validate(doc: dict[str, Any]) -> dict[str, Any]:
    """Return `doc` unchanged if valid; raise a 422 Problem naming the field otherwise."""
    unknown = sorted(set(doc) - _ALLOWED)
    if unknown:
        raise _invalid(unknown[0], "unknown field")
    release = doc.get("release")
    if not isinstance(release, str) or not 1 <= len(release) <= 128:
        raise _invalid("release", "required string of 1 to 128 characters")
    if doc.get("kind") not in KINDS:
        raise _invalid("kind", f"must be one of {', '.join(KINDS)}")
    subject = doc.get("subject")
    if not isinstance(subject, dict):
        raise _invalid("subject", "required object with name and digest")
    if not isinstance(subject.get("name"), str) or not subject["name"]:
        raise _invalid("subject.name", "required non-empty string")
    digest = subject.get("digest")
    if not isinstance(digest, dict) or not isinstance(digest.get("sha256"), str):
        raise _invalid("subject.digest.sha256", "required hex SHA-256")
    if not _HEX64.fullmatch(digest["sha256"]):
        raise _invalid("subject.digest.sha256", "must be 64 lowercase hex characters")
    produced_at = doc.get("produced_at")
    if not isinstance(produced_at, str):
        raise _invalid("produced_at", "required RFC 3339 timestamp")
    try:
        datetime.fromisoformat(produced_at.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _invalid("produced_at", "not an RFC 3339 timestamp") from exc
    if "payload" in doc and not isinstance(doc["payload"], dict):
        raise _invalid("payload", "must be a JSON object when present")
    # GraphQL literals never pass the strict JSON door: check the values here, for every API.
    for name, value in doc.items():
        try:
            strict_json.check(value)
        except strict_json.StrictJsonError as exc:
            raise _invalid(name, exc.detail) from None
    return doc
