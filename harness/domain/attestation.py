"""COS's attestation endpoint and the validator promises it makes.

The header checks recompute everything from the bytes received (hashlib and
base64 here, not the service's helpers), so a service that computes a digest
wrongly cannot agree with itself and pass.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from harness.domain import answers
from harness.domain.phrases import HeaderPromise, IfNoneMatch
from harness.env.world import World


def fetch(world: World, if_none_match: str | None = None) -> Any:
    return world.cos.attestation(if_none_match=if_none_match)


def ask(world: World) -> Any:
    """A client asks COS which pack it enforces; the answer is `world.last`."""
    world.last = fetch(world)
    return world.last


def raw_bytes(answer: Any) -> bytes:
    return answer.raw


def expect_header(answer: Any, header: str, promise: HeaderPromise | str) -> None:
    """`header` is present and keeps `promise`: computed from the digest or the body, or literal."""
    value = answer.headers.get(header)
    assert value, f"{header} missing; headers: {dict(answer.headers)}"
    if promise is HeaderPromise.STRONG_PACK_TAG:
        assert not value.startswith("W/"), f"ETag must be strong, got {value}"
        digest = answer.body["digest"]
        assert value == f'"sha256-{digest}"', f"ETag {value} is not the pack digest {digest}"
    elif promise is HeaderPromise.BODY_SHA256:
        expected = base64.b64encode(hashlib.sha256(raw_bytes(answer)).digest()).decode()
        assert value == f"sha-256=:{expected}:", f"Content-Digest {value}, body hashes to {expected}"
    else:
        assert value.split(";")[0].strip() == promise, f"{header}: expected {promise!r}, got {value!r}"


def expect_source(answer: Any, source: str, verified: bool) -> None:
    """The attestation names where the pack came from and whether its signature was verified."""
    body = answer.body
    assert body["source"] == source, f"expected source {source!r}, got {body}"
    assert body["signature_verified"] is verified, f"expected verified={verified}, got {body}"


def expect_conditional(world: World, condition: IfNoneMatch) -> None:
    """Asking again with `condition` relative to the ETag of the attestation the scenario got
    (`world.last`): 304 with that ETag and no body when it matches, else the full attestation."""
    etag = world.last.headers["etag"]
    answer = fetch(world, answers.if_none_match(condition, etag))
    if answers.matches(condition):
        answers.expect_not_modified(answer, etag)
    else:
        assert answer.status == 200, f"stale If-None-Match: expected 200, got {answer.status}"
        assert answer.body.get("digest"), f"full attestation expected, got {answer.body}"
