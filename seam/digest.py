"""RFC 9530 `Content-Digest` and RFC 9110 entity tags derived from SHA-256.

Why here: the pack's identity on the seam *is* its SHA-256. MC's ETag, MC's
Content-Digest, the DSSE subject digest and COS's attestation ETag are all the
same number written in different syntaxes; one module writes all of them.
"""

from __future__ import annotations

import base64
import hashlib
import re

ALGORITHM = "sha-256"
_DIGEST_MEMBER = re.compile(r"\s*([A-Za-z0-9_-]+)\s*=\s*:([A-Za-z0-9+/=]*):\s*")


class DigestError(ValueError):
    """A Content-Digest header is malformed, lacks sha-256, or does not match."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_digest(data: bytes) -> str:
    """The `Content-Digest` value for `data`: `sha-256=:<base64>:`."""
    b64 = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
    return f"{ALGORITHM}=:{b64}:"


def parse_content_digest(header: str) -> dict[str, bytes]:
    """Parse an RFC 8941 dictionary of byte sequences into {algorithm: digest}."""
    result: dict[str, bytes] = {}
    for member in header.split(","):
        if not member.strip():
            continue
        m = _DIGEST_MEMBER.fullmatch(member)
        if not m:
            raise DigestError(f"malformed Content-Digest member: {member.strip()!r}")
        try:
            result[m.group(1).lower()] = base64.b64decode(m.group(2), validate=True)
        except ValueError as exc:
            raise DigestError(f"Content-Digest value for {m.group(1)} is not base64") from exc
    return result


def verify_content_digest(header: str | None, data: bytes) -> None:
    """Raise DigestError unless `header` carries a sha-256 equal to the body's."""
    if not header:
        raise DigestError("Content-Digest header is required")
    members = parse_content_digest(header)
    if ALGORITHM not in members:
        raise DigestError("Content-Digest must include sha-256")
    if members[ALGORITHM] != hashlib.sha256(data).digest():
        raise DigestError("Content-Digest sha-256 does not match the body")


def strong_etag(digest_hex: str) -> str:
    """The strong entity tag for a SHA-256 hex digest: `"sha256-<hex>"`."""
    return f'"sha256-{digest_hex}"'


def etag_for(data: bytes) -> str:
    return strong_etag(sha256_hex(data))


def if_none_match_hits(header: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: `*` or any listed tag equal under weak comparison."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.removeprefix("W/") == opaque:
            return True
    return False
