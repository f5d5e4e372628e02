"""What every companyos → maestro-conductor consumer case shares: the suite, provider-state
names, the client under test and the request/response shapes used by several resources."""

from __future__ import annotations

import json

from pact import Pact, match

from companyos.mc_client import ConductorClient
from contracts import COS, MC, examples, placeholders
from contracts.consumers import ConsumerSuite
from contracts.dsl import (
    HEX64,
    JSON,
    MC_EVIDENCE_ID,
    RFC3339,
    bearer,
    canonical,
    form_body,
)
from seam import digest

SUITE = ConsumerSuite(COS, MC)
case = SUITE.case

CLIENT_ID = "companyos"
PACK_PATH = f"/v1/policy/packs/{examples.PACK}"
BEARER_CHALLENGE = 'Bearer realm="maestro-conductor", error="invalid_token"'
EXAMPLE_EVIDENCE_ID = "ev_" + examples.example_hex("mc-evidence")[:32]
EXAMPLE_RECEIVED_AT = "2026-01-15T10:00:01.000Z"
EXAMPLE_JWT = placeholders.JWT_TOKEN
JWT = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
AT_MOST_900 = r"^([1-9][0-9]?|[1-8][0-9]{2}|900)$"  # expires_in: 1..900 seconds

# States, by name (one place, so a typo cannot silently create a new state).
CLIENT_KNOWN = "MC knows the client"
TOKEN = "the client holds a token"
EXPIRED_TOKEN = "the client holds an expired token"
PACK_SERVED = "MC serves a revision of the pack"
PACK_ATTESTED = "MC attests that revision with its signing key"
EVIDENCE_ACCEPTED = "evidence was accepted under an idempotency key"
EVIDENCE_IN_FLIGHT = "a publish under an idempotency key is still in flight"


def _client(srv, secret: str = placeholders.CLIENT_SECRET) -> ConductorClient:
    return _client_at(str(srv.url), secret)


def _client_at(base_url: str, secret: str = placeholders.CLIENT_SECRET) -> ConductorClient:
    return ConductorClient(base_url, CLIENT_ID, secret)


async def _call(client: ConductorClient, method: str, *args, **kwargs):
    try:
        return await getattr(client, method)(*args, **kwargs)
    finally:
        await client.aclose()


def _token_form(secret, scope: str) -> str:
    return form_body(
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": secret, "scope": scope}
    )


def _evidence_request(
    pact: Pact,
    description: str,
    key: str,
    doc: dict,
    *,
    states: tuple[tuple[str, dict], ...] = ((TOKEN, {"scope": "evidence:write"}),),
    content_digest: str | None = None,
    token: bool = True,
):
    body = canonical(doc)
    interaction = pact.upon_receiving(description)
    for name, params in states:
        interaction.given(name, **params)
    interaction.with_request("POST", "/v1/evidence")
    if token:
        interaction.with_header("Authorization", bearer())
    return (
        interaction.with_header("Content-Type", JSON)
        .with_header("Idempotency-Key", key)
        .with_header("Content-Digest", content_digest or digest.content_digest(body))
        .with_body(json.loads(body), JSON)
    )


def _evidence_created(key: str, doc: dict) -> dict:
    return {
        "evidence_id": match.regex(EXAMPLE_EVIDENCE_ID, regex=MC_EVIDENCE_ID),
        "idempotency_key": key,
        "status": "stored",
        "received_at": match.regex(EXAMPLE_RECEIVED_AT, regex=RFC3339),
        "digest": match.regex(digest.sha256_hex(canonical(doc)), regex=HEX64),
    }
