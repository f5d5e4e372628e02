"""COS's attestation endpoint and the validator promises it makes.

The header checks recompute everything from the bytes received (hashlib and
base64 here, not the service's helpers), so a service that computes a digest
wrongly cannot agree with itself and pass.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from harness.env.world import World


def fetch(world: World, if_none_match: str | None = None) -> Any:
    return world.cos.attestation(if_none_match=if_none_match)


def raw_bytes(answer: Any) -> bytes:
    return answer.raw


def expect_header(answer: Any, header: str, promise: str) -> None:
    value = answer.headers.get(header)
    assert value, f"{header} missing; headers: {dict(answer.headers)}"
    if promise == "strong tag of the pack digest":
        assert not value.startswith("W/"), f"ETag must be strong, got {value}"
        digest = answer.body["digest"]
        assert value == f'"sha256-{digest}"', f"ETag {value} is not the pack digest {digest}"
    elif promise == "sha-256 of the body":
        expected = base64.b64encode(hashlib.sha256(raw_bytes(answer)).digest()).decode()
        assert value == f"sha-256=:{expected}:", f"Content-Digest {value}, body hashes to {expected}"
    else:
        assert value.split(";")[0].strip() == promise, f"{header}: expected {promise!r}, got {value!r}"


def expect_not_modified(world: World, if_none_match: str, etag: str | None = None) -> None:
    answer = fetch(world, if_none_match)
    expected_etag = etag or if_none_match
    assert answer.status == 304, f"If-None-Match {if_none_match}: expected 304, got {answer.status}"
    assert answer.headers.get("etag") == expected_etag, (
        f"304 ETag {answer.headers.get('etag')} != {expected_etag}"
    )
    assert not raw_bytes(answer), f"304 must have no body, got {raw_bytes(answer)[:80]!r}"


def expect_full(world: World, if_none_match: str) -> None:
    answer = fetch(world, if_none_match)
    assert answer.status == 200, f"stale If-None-Match: expected 200, got {answer.status}"
    assert answer.body.get("digest"), f"full attestation expected, got {answer.body}"
