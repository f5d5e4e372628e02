"""Small helpers the consumer tests share: seam regexes, provider-state values, problem bodies.

Literal values in a pact are promises checked byte for byte (status codes, content types,
ETag *form*, `Content-Digest` syntax, reasons); matchers are for what legitimately varies
(ids, timestamps, digests, tokens). `from_state` marks a value the provider state supplies at
verification — in a request Pact substitutes it natively; in a response `contracts.render`
substitutes it before verification, so the provider's answer is compared with it exactly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any, TypeVar

from pact import Pact, generate, match
from pact.match.matcher import AbstractMatcher, GenericMatcher, IntegrationJSONEncoder

from contracts import placeholders

T = TypeVar("T")

MOCK_HOST = "127.0.0.1"

# What the seam promises, as regexes (docs/seam.md).
ETAG_STRONG = r'^"sha256-[0-9a-f]{64}"$'
CONTENT_DIGEST = r"^sha-256=:[A-Za-z0-9+/]{43}=:$"
HEX64 = r"^[0-9a-f]{64}$"
MC_EVIDENCE_ID = r"^ev_[0-9a-f]{32}$"
MC_EVIDENCE_LOCATION = r"^/v1/evidence/ev_[0-9a-f]{32}$"
RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
BASE64 = r"^[A-Za-z0-9+/]+={0,2}$"
ED25519_SIG = r"^[A-Za-z0-9+/]{86}==$"  # 64 bytes, base64
KEY_ID = r"^[A-Za-z0-9_-]{16}$"  # seam.keys.key_id
BEARER = r"^Bearer [A-Za-z0-9._~+/-]+=*$"
UNIX_SECONDS = r"^[0-9]{10}$"
RECEIPT_SIGNATURE = r"^keyid=[A-Za-z0-9_-]+,alg=ed25519,sig=[A-Za-z0-9+/]+={0,2}$"

JSON = "application/json"
PROBLEM = "application/problem+json"
FORM = "application/x-www-form-urlencoded"
PROBLEM_TYPE_BASE = "https://cos-pact-e2e.dev/problems/"


def from_state(example: str, expression: str, regex: str | None = None) -> AbstractMatcher[Any]:
    """A value the provider state supplies at verification (`expression` uses `${name}`).

    The consumer test sees `example`; the committed pact keeps `regex` (or a type match) as
    the rule a value must obey, and the expression for the exact value at verification.
    """
    gen = generate.provider_state(expression)
    if regex is not None:
        return GenericMatcher("regex", example, regex=regex, generator=gen)
    return GenericMatcher("type", example, generator=gen)


def bearer(expression: str = "accessToken") -> AbstractMatcher[Any]:
    """`Authorization: Bearer <placeholder>` in the pact, the real token at verification."""
    return from_state(f"Bearer {placeholders.TOKEN}", f"Bearer ${{{expression}}}", regex=BEARER)


def problem(status: int, reason: str, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem body: status and reason are the promise, the prose may change."""
    return {
        "type": match.regex(PROBLEM_TYPE_BASE + reason, regex=r"^https?://\S+$"),
        "title": match.str("Problem title"),
        "status": status,
        "detail": match.str("What went wrong, in words"),
        "reason": reason,
        **extra,
    }


def answers_problem(
    interaction: Any, status: int, reason: str, *, challenge: str | None = None, **extra: Any
) -> Any:
    """The seam's error answer on `interaction`: `status`, `Content-Type: application/problem+json`,
    an optional `WWW-Authenticate` challenge, and a problem body whose status and reason (and any
    `extra` field) are the promise. Pact's builder changes the interaction in place."""
    interaction.will_respond_with(status).with_header("Content-Type", PROBLEM)
    if challenge is not None:
        interaction.with_header("WWW-Authenticate", challenge)
    return interaction.with_body(problem(status, reason, **extra), PROBLEM)


def form_body(fields: dict[str, Any]) -> str:
    """A form-urlencoded body whose fields may carry matchers (Pact's integration JSON)."""
    return json.dumps(fields, cls=IntegrationJSONEncoder)


def binary_body_is(content_type: str) -> dict[str, Any]:
    """Matching rule: the body is any bytes of this content type (checked by magic bytes)."""
    return {"body": {"$": {"combine": "AND", "matchers": [{"match": "contentType", "value": content_type}]}}}


def canonical(doc: dict[str, Any]) -> bytes:
    """Compact, key-sorted JSON — the bytes Pact's verifier re-serialises a JSON body to, so a
    `Content-Digest` computed here still matches the body the provider receives."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def new_pact(consumer: str, provider: str) -> Pact:
    return Pact(consumer, provider).with_specification("V4")
