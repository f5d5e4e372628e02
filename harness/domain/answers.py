"""Assertions about any HTTP answer (COS client result or MC reply).

Both clients return objects with `status`, `headers` and `body`; these checks
produce messages that say what was expected and what was seen, including the
problem document's reason, so a failed scenario explains itself.
"""

from __future__ import annotations

from typing import Any

from harness.domain.phrases import IfNoneMatch

PROBLEM = "application/problem+json"
STALE_TAG = f'"sha256-{"0" * 64}"'  # a strong tag of the right form that no pack or attestation has


def describe(answer: Any) -> str:
    body = answer.body
    if isinstance(body, bytes):
        body = f"<{len(body)} bytes>"
    return f"{answer.status} {answer.headers.get('content-type', '')} {body}"


def expect_status(answer: Any, status: int) -> None:
    assert answer.status == status, f"expected status {status}, got {describe(answer)}"


def expect_problem(answer: Any, status: int, reason: str | None = None) -> dict:
    expect_status(answer, status)
    ctype = answer.headers.get("content-type", "")
    assert ctype.startswith(PROBLEM), f"expected {PROBLEM}, got {ctype!r}: {describe(answer)}"
    body = answer.body
    assert isinstance(body, dict) and body.get("status") == status, f"malformed problem: {body!r}"
    assert "detail" in body and "reason" in body, f"problem lacks detail/reason: {body!r}"
    if reason is not None:
        assert body["reason"] == reason, f"expected reason {reason!r}, got {body['reason']!r}: {body}"
    return body


def expect_challenge(answer: Any) -> str:
    challenge = answer.headers.get("www-authenticate")
    assert challenge, f"401 without WWW-Authenticate: {describe(answer)}"
    assert challenge.lower().startswith(("bearer", "basic")), f"odd challenge {challenge!r}"
    return challenge


def if_none_match(condition: IfNoneMatch, current: str) -> str:
    """The If-None-Match header value for `condition`, given the resource's `current` ETag."""
    return {
        IfNoneMatch.CURRENT: current,
        IfNoneMatch.LIST_WITH_CURRENT: f"{STALE_TAG}, {current}",
        IfNoneMatch.ANY: "*",
        IfNoneMatch.STALE: STALE_TAG,
    }[condition]


def matches(condition: IfNoneMatch) -> bool:
    """Whether `condition` names the current representation (so the answer is 304)."""
    return condition is not IfNoneMatch.STALE


def expect_not_modified(answer: Any, etag: str) -> None:
    """304 Not Modified, repeating the representation's ETag, with no body."""
    assert answer.status == 304, f"expected 304, got {describe(answer)}"
    assert answer.headers.get("etag") == etag, f"304 ETag {answer.headers.get('etag')} != {etag}"
    assert not answer.raw, f"304 must have no body, got {answer.raw[:80]!r}"
