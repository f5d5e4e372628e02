"""Test-only seam mutations (docs/mutations.md): deliberate breaks of one promise each.

Why they exist: the contract gate must prove it notices when MC stops keeping a
promise. `SEAM_MUTATIONS` is shared by COS and MC, so names for the other
provider (`cos.*`) are ignored here, while an unknown `mc.*` name is an error
(a typo must not silently test nothing). Production never sets any.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seam import dsse
from seam.problem import MEDIA_TYPE as PROBLEM_MEDIA_TYPE
from seam.tokens import TokenIssuer

ETAG_DROPPED = "mc.etag-dropped"
ETAG_WEAK = "mc.etag-weak"
CONTENT_DIGEST_WRONG_ALG = "mc.content-digest-wrong-alg"
CONTENT_DIGEST_WRONG_VALUE = "mc.content-digest-wrong-value"
NO_304 = "mc.no-304"
EVIDENCE_202 = "mc.evidence-202"
EVIDENCE_FIELD_RENAMED = "mc.evidence-field-renamed"
SCOPE_CHECK_REMOVED = "mc.scope-check-removed"
REPLAY_NEW_ID = "mc.replay-new-id"
REPLAY_HEADER_DROPPED = "mc.replay-header-dropped"
MISMATCH_409 = "mc.mismatch-409"
TOKEN_FIELD_RENAMED = "mc.token-field-renamed"
PROBLEM_AS_JSON = "mc.problem-as-json"
GRAPHQL_EVIDENCEOK_RENAMED = "mc.graphql-evidenceok-renamed"
DIGEST_MISMATCH_ACCEPTED = "mc.digest-mismatch-accepted"
ATTESTATION_PAYLOAD_TYPE = "mc.attestation-payload-type"
ATTESTATION_SUBJECT_DIGEST = "mc.attestation-subject-digest"
ATTESTATION_SUBJECT_NAME = "mc.attestation-subject-name"
ATTESTATION_SIGNATURE_INVALID = "mc.attestation-signature-invalid"
ATTESTATION_UNSIGNED = "mc.attestation-unsigned"
ATTESTATION_ETAG_OTHER_BYTES = "mc.attestation-etag-other-bytes"
ATTESTATION_CONTENT_DIGEST_WRONG = "mc.attestation-content-digest-wrong"
ATTESTATION_MEDIA_TYPE = "mc.attestation-media-type"
PACK_MEDIA_TYPE = "mc.pack-media-type"
PACK_REVISION_HEADER_DROPPED = "mc.pack-revision-header-dropped"
TOKEN_LIFETIME_TOO_LONG = "mc.token-lifetime-too-long"
TOKEN_EXP_BEYOND_EXPIRES_IN = "mc.token-exp-beyond-expires-in"
TOKEN_SCOPE_WIDENED = "mc.token-scope-widened"
TOKEN_CACHE_CONTROL_DROPPED = "mc.token-cache-control-dropped"
# Contract mutations of the attestation body: each rebuilds the envelope (broken_envelope).
ENVELOPE_MUTATIONS = (
    ATTESTATION_PAYLOAD_TYPE,
    ATTESTATION_SUBJECT_DIGEST,
    ATTESTATION_SUBJECT_NAME,
    ATTESTATION_SIGNATURE_INVALID,
    ATTESTATION_UNSIGNED,
)
# Behavioural (docs/mutations.md "Behavioural mutations"): a pact cannot see it, the E2E suite must.
EVIDENCE_STORED_TWICE = "mc.evidence-stored-twice"
BEHAVIOURAL: frozenset[str] = frozenset({EVIDENCE_STORED_TWICE})

KNOWN: frozenset[str] = (
    frozenset(
        {
            ETAG_DROPPED,
            ETAG_WEAK,
            CONTENT_DIGEST_WRONG_ALG,
            CONTENT_DIGEST_WRONG_VALUE,
            NO_304,
            EVIDENCE_202,
            EVIDENCE_FIELD_RENAMED,
            SCOPE_CHECK_REMOVED,
            REPLAY_NEW_ID,
            REPLAY_HEADER_DROPPED,
            MISMATCH_409,
            TOKEN_FIELD_RENAMED,
            PROBLEM_AS_JSON,
            GRAPHQL_EVIDENCEOK_RENAMED,
            DIGEST_MISMATCH_ACCEPTED,
            *ENVELOPE_MUTATIONS,
            ATTESTATION_ETAG_OTHER_BYTES,
            ATTESTATION_CONTENT_DIGEST_WRONG,
            ATTESTATION_MEDIA_TYPE,
            PACK_MEDIA_TYPE,
            PACK_REVISION_HEADER_DROPPED,
            TOKEN_LIFETIME_TOO_LONG,
            TOKEN_EXP_BEYOND_EXPIRES_IN,
            TOKEN_SCOPE_WIDENED,
            TOKEN_CACHE_CONTROL_DROPPED,
        }
    )
    | BEHAVIOURAL
)


def parse(values: Iterable[str]) -> frozenset[str]:
    """Split comma-separated values; keep `mc.*` names, drop other providers' names."""
    names: set[str] = set()
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if not name or not name.startswith("mc."):
                continue
            if name not in KNOWN:
                raise ValueError(f"unknown MC seam mutation {name!r}; known: {', '.join(sorted(KNOWN))}")
            names.add(name)
    return frozenset(names)


class Mutations:
    """The active set, asked by name at the one place each promise is kept."""

    def __init__(self, active: Iterable[str] = ()) -> None:
        self.active = frozenset(active)
        unknown = self.active - KNOWN
        if unknown:
            raise ValueError(f"unknown MC seam mutations: {sorted(unknown)}")

    def on(self, name: str) -> bool:
        return name in self.active

    def __bool__(self) -> bool:
        return bool(self.active)


class ProblemAsJsonMiddleware:
    """`mc.problem-as-json`: relabel problem+json responses as plain application/json."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def relabel(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type" and value.startswith(PROBLEM_MEDIA_TYPE.encode()):
                        value = b"application/json"
                    headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, relabel)


def store_twice(store: Any, db: Any) -> None:
    """`mc.evidence-stored-twice`: every new document is also stored as a second record.

    The copy gets its own id and a derived key (the key column is UNIQUE), so every answer and
    every count *by idempotency key* stays exactly as before: only counting MC's records by
    document digest can see the duplicate. Behavioural: no pact can observe it.
    """
    original = store.store_async  # what the write path awaits (conductor/evidence_api.py)

    def copy(record: Any) -> None:
        with db.transaction() as conn:
            conn.execute(
                "INSERT INTO evidence(id, idempotency_key, client_id, digest, received_at, api, document)"
                " VALUES (?,?,?,?,?,?,?)",
                (
                    f"{record.evidence_id}-copy",
                    f"{record.idempotency_key}~copy",
                    record.client_id,
                    record.digest,
                    record.received_at,
                    record.api,
                    json.dumps(record.document, sort_keys=True),
                ),
            )

    async def store_and_copy(record: Any, status: int, response: dict[str, Any], receipt_body: bytes) -> None:
        # The copy first: whenever the real record is visible, so is its duplicate.
        try:
            await asyncio.to_thread(copy, record)
        except BaseException:
            store.abandon(record.client_id, record.idempotency_key)  # the real write never ran
            raise
        await original(record, status, response, receipt_body)

    store.store_async = store_and_copy


def broken_envelope(
    mutations: Mutations, pack: str, revision: str, digest_hex: str, key: Ed25519PrivateKey
) -> bytes | None:
    """The attestation body under an active envelope mutation (None: serve the real one).

    Each breaks one thing COS relies on and leaves the rest a well-formed, consistently served
    envelope (its ETag and Content-Digest are computed from these bytes as usual).
    """
    if not any(mutations.on(name) for name in ENVELOPE_MUTATIONS):
        return None
    subject_digest = digest_hex
    if mutations.on(ATTESTATION_SUBJECT_DIGEST):
        subject_digest = hashlib.sha256(bytes.fromhex(digest_hex) + b"other").hexdigest()
    statement = dsse.pack_statement(pack, revision, subject_digest)
    if mutations.on(ATTESTATION_SUBJECT_NAME):
        statement["subject"][0]["name"] = pack + "-other"
    envelope: dict[str, Any] = dsse.sign(statement, None if mutations.on(ATTESTATION_UNSIGNED) else key)
    if mutations.on(ATTESTATION_SIGNATURE_INVALID):
        other = key.sign(dsse.pae(dsse.PAYLOAD_TYPE, b"not the payload"))
        envelope["signatures"][0]["sig"] = base64.b64encode(other).decode("ascii")
    if mutations.on(ATTESTATION_PAYLOAD_TYPE):
        envelope["payloadType"] = "application/json"
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode("utf-8")


LONG_LIFETIME_S = 3600


def token_lifetime(mutations: Mutations, issuer: TokenIssuer, token: str, lifetime: int) -> tuple[str, int]:
    """`mc.token-lifetime-too-long`: an hour-long token, said so in `expires_in`;
    `mc.token-exp-beyond-expires-in`: the JWT lives an hour while `expires_in` still says `lifetime`.
    Signed with the issuer's own key (a valid token, only its lifetime is wrong)."""
    too_long = mutations.on(TOKEN_LIFETIME_TOO_LONG)
    if not too_long and not mutations.on(TOKEN_EXP_BEYOND_EXPIRES_IN):
        return token, lifetime
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["exp"] = int(claims["iat"]) + LONG_LIFETIME_S
    signed = jwt.encode(claims, issuer._key, algorithm="EdDSA")  # noqa: SLF001 - test-only mutation
    return signed, LONG_LIFETIME_S if too_long else lifetime
