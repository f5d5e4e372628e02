"""Consumer `companyos` → provider `maestro-conductor`, driving `companyos.mc_client.ConductorClient`.

What COS relies on from MC: tokens, the pack with strong validators and 304, the pack
attestation, evidence publication (REST and GraphQL) under the idempotency rules, and the
401/403 answers. Provider states (set up by contracts/providers/conductor.py):

- "MC knows the client" {client_id} → `clientSecret`
- "the client holds a token" {scope} → `accessToken`
- "the client holds an expired token" {scope} → `accessToken`
- "MC serves a revision of the pack" {pack, revision} → `packDigest`, `packContentDigest`
- "MC attests that revision with its signing key" {pack, revision, statement} → `attestationPayload`,
  `attestationSignature`, `signingKeyId`, `attestationEtag`, `attestationContentDigest`
- "evidence was accepted under an idempotency key" {idempotency_key, evidence} → `evidenceId`
- "a publish under an idempotency key is still in flight" {idempotency_key, evidence}
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from pact import Pact, match

from companyos.credentials import SCOPES, TokenCache
from companyos.health import RuntimeStatus
from companyos.mc_client import GRAPHQL_PUBLISH, ConductorClient, to_graphql_input
from companyos.metrics import Metrics
from companyos.policy_engine import PolicyHolder
from companyos.policy_fetcher import PolicyFetcher
from companyos.policy_store import PolicyStore
from companyos.trust import KeyPin
from contracts import COS, MC, examples, placeholders
from contracts.consumers import ConsumerSuite
from contracts.dsl import (
    BASE64,
    CONTENT_DIGEST,
    ED25519_SIG,
    ETAG_STRONG,
    FORM,
    HEX64,
    JSON,
    KEY_ID,
    MC_EVIDENCE_ID,
    MC_EVIDENCE_LOCATION,
    MOCK_HOST,
    PROBLEM,
    RFC3339,
    bearer,
    binary_body_is,
    canonical,
    form_body,
    from_state,
    problem,
    run,
)
from seam import digest, dsse, keys

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


# -- credentials ----------------------------------------------------------------------------
def _declare_token(pact: Pact, description: str, scope: str) -> None:
    """A token for exactly `scope`, living at most 15 minutes (docs/seam.md, "Tokens").

    `scope` is literal: MC grants exactly what was asked, never more. `expires_in` is pinned to
    1..900 by a regex rule; the token itself is a JWT whose `exp - iat` (≤ 900, = `expires_in`)
    and `scope` claim contracts/checks.py checks against the response and the request.
    """
    (
        pact.upon_receiving(description)
        .given(CLIENT_KNOWN, client_id=CLIENT_ID)
        .with_request("POST", "/v1/tokens")
        .with_header("Accept", JSON)
        .with_body(_token_form(from_state(placeholders.CLIENT_SECRET, "${clientSecret}"), scope), FORM)
        .will_respond_with(200)
        .with_header("Content-Type", JSON)
        .with_header("Cache-Control", "no-store")
        .with_body(
            {
                "access_token": match.regex(EXAMPLE_JWT, regex=JWT),
                "token_type": "Bearer",
                "expires_in": match.regex(600, regex=AT_MOST_900),
                "scope": scope,
            },
            JSON,
        )
    )


def _token_granted(pact: Pact, description: str, scope: str) -> None:
    _declare_token(pact, description, scope)
    with pact.serve(addr=MOCK_HOST) as srv:
        client = _client(srv)
        result = run(_call(client, "get_token", scope.split()))
    assert result.status == 200 and result.access_token == EXAMPLE_JWT, result
    assert result.scope == scope and 0 < (result.expires_in or 0) <= 900, result


TOKEN_FOR_COS = "a token request with the client's credentials"


@case
def token_with_client_credentials(pact: Pact) -> None:
    _token_granted(pact, TOKEN_FOR_COS, " ".join(SCOPES))


@case
def token_for_one_scope(pact: Pact) -> None:
    _token_granted(pact, "a token request for policy:read only", "policy:read")


@case
def token_with_wrong_secret(pact: Pact) -> None:
    (
        pact.upon_receiving("a token request with a wrong client secret")
        .given(CLIENT_KNOWN, client_id=CLIENT_ID)
        .with_request("POST", "/v1/tokens")
        .with_body(_token_form(placeholders.WRONG_CLIENT_SECRET, "policy:read"), FORM)
        .will_respond_with(401)
        .with_header("Content-Type", PROBLEM)
        .with_header("WWW-Authenticate", 'Basic realm="maestro-conductor"')
        .with_body(problem(401, "invalid_client"), PROBLEM)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv, placeholders.WRONG_CLIENT_SECRET), "get_token", ["policy:read"]))
    assert result.status == 401 and result.reason == "invalid_client" and result.access_token is None, result


@case
def token_for_unknown_scope(pact: Pact) -> None:
    (
        pact.upon_receiving("a token request for a scope MC does not know")
        .given(CLIENT_KNOWN, client_id=CLIENT_ID)
        .with_request("POST", "/v1/tokens")
        .with_body(
            _token_form(from_state(placeholders.CLIENT_SECRET, "${clientSecret}"), "policy:admin"), FORM
        )
        .will_respond_with(400)
        .with_header("Content-Type", PROBLEM)
        .with_body(problem(400, "invalid_scope"), PROBLEM)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "get_token", ["policy:admin"]))
    assert result.status == 400 and result.reason == "invalid_scope", result


# -- policy pack ----------------------------------------------------------------------------
def _pack_validators(pact: Pact) -> Pact:
    return pact.with_header(
        "ETag", from_state(examples.EXAMPLE_PACK_ETAG, '"sha256-${packDigest}"', regex=ETAG_STRONG)
    ).with_header(
        "Content-Digest",
        from_state(examples.EXAMPLE_PACK_CONTENT_DIGEST, "${packContentDigest}", regex=CONTENT_DIGEST),
    )


def _pack_given(pact: Pact, description: str, scope: str = "policy:read") -> Pact:
    return (
        pact.upon_receiving(description)
        .given(PACK_SERVED, pack=examples.PACK, revision=examples.PACK_REVISION)
        .given(TOKEN, scope=scope)
    )


def _declare_pack_get(pact: Pact) -> None:
    interaction = (
        _pack_given(pact, "a request for the policy pack")
        .with_request("GET", PACK_PATH)
        .with_header("Authorization", bearer())
        .will_respond_with(200)
        .with_header("Content-Type", "application/gzip")
        .with_header("X-Pack-Revision", examples.PACK_REVISION)
        .with_header("Cache-Control", "no-cache")
    )
    _pack_validators(interaction).with_binary_body(examples.EXAMPLE_PACK_BYTES, "application/gzip")
    interaction.with_matching_rules(binary_body_is("application/gzip"), part="Response")


@case
def pack_get(pact: Pact) -> None:
    _declare_pack_get(pact)
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "fetch_pack", examples.PACK, token=placeholders.TOKEN))
    assert result.status == 200 and result.content == examples.EXAMPLE_PACK_BYTES, result
    assert result.etag == digest.etag_for(result.content), result.etag
    digest.verify_content_digest(result.content_digest, result.content)
    assert result.revision == examples.PACK_REVISION


@case
def pack_head(pact: Pact) -> None:
    interaction = (
        _pack_given(pact, "a HEAD request for the policy pack")
        .with_request("HEAD", PACK_PATH)
        .with_header("Authorization", bearer())
        .will_respond_with(200)
        .with_header("Content-Type", "application/gzip")
        .with_header("X-Pack-Revision", examples.PACK_REVISION)
    )
    _pack_validators(interaction)
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "head_pack", examples.PACK, token=placeholders.TOKEN))
    assert result.status == 200 and result.etag == examples.EXAMPLE_PACK_ETAG and not result.content, result
    assert result.content_digest == examples.EXAMPLE_PACK_CONTENT_DIGEST


@case
def pack_not_modified(pact: Pact) -> None:
    etag = from_state(examples.EXAMPLE_PACK_ETAG, '"sha256-${packDigest}"', regex=ETAG_STRONG)
    (
        _pack_given(pact, "a conditional request for an unchanged policy pack")
        .with_request("GET", PACK_PATH)
        .with_header("Authorization", bearer())
        .with_header("If-None-Match", etag)
        .will_respond_with(304)
        .with_header("ETag", etag)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(
            _call(
                _client(srv),
                "fetch_pack",
                examples.PACK,
                if_none_match=examples.EXAMPLE_PACK_ETAG,
                token=placeholders.TOKEN,
            )
        )
    assert result.status == 304 and result.etag == examples.EXAMPLE_PACK_ETAG and not result.content, result


@case
def pack_without_token(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for the policy pack without a token")
        .given(PACK_SERVED, pack=examples.PACK, revision=examples.PACK_REVISION)
        .with_request("GET", PACK_PATH)
        .will_respond_with(401)
        .with_header("Content-Type", PROBLEM)
        .with_header("WWW-Authenticate", BEARER_CHALLENGE)
        .with_body(problem(401, "missing_token"), PROBLEM)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "fetch_pack", examples.PACK))
    assert result.status == 401 and result.reason == "missing_token", result


@case
def pack_with_expired_token(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for the policy pack with an expired token")
        .given(PACK_SERVED, pack=examples.PACK, revision=examples.PACK_REVISION)
        .given(EXPIRED_TOKEN, scope="policy:read")
        .with_request("GET", PACK_PATH)
        .with_header("Authorization", bearer())
        .will_respond_with(401)
        .with_header("Content-Type", PROBLEM)
        .with_header("WWW-Authenticate", BEARER_CHALLENGE)
        .with_body(problem(401, "expired_token"), PROBLEM)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "fetch_pack", examples.PACK, token=placeholders.TOKEN))
    assert result.status == 401 and result.reason == "expired_token", result


@case
def pack_without_scope(pact: Pact) -> None:
    (
        _pack_given(pact, "a request for the policy pack with a token lacking policy:read", "evidence:write")
        .with_request("GET", PACK_PATH)
        .with_header("Authorization", bearer())
        .will_respond_with(403)
        .with_header("Content-Type", PROBLEM)
        .with_header(
            "WWW-Authenticate",
            'Bearer realm="maestro-conductor", error="insufficient_scope", scope="policy:read"',
        )
        .with_body(problem(403, "insufficient_scope", scope="policy:read"), PROBLEM)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "fetch_pack", examples.PACK, token=placeholders.TOKEN))
    assert result.status == 403 and result.reason == "insufficient_scope", result


@case
def pack_unknown(pact: Pact) -> None:
    (
        pact.upon_receiving("a request for a pack MC does not have")
        .given(TOKEN, scope="policy:read")
        .with_request("GET", f"/v1/policy/packs/{examples.UNKNOWN_PACK}")
        .with_header("Authorization", bearer())
        .will_respond_with(404)
        .with_header("Content-Type", PROBLEM)
        .with_body(problem(404, "unknown_pack"), PROBLEM)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "fetch_pack", examples.UNKNOWN_PACK, token=placeholders.TOKEN))
    assert result.status == 404 and result.reason == "unknown_pack", result


def expected_statement(pack_digest: str) -> dict:
    """The in-toto Statement COS requires of a pack's attestation (docs/seam.md)."""
    return dsse.pack_statement(examples.PACK, examples.PACK_REVISION, pack_digest)


def _declare_attestation(pact: Pact) -> None:
    pack_digest = digest.sha256_hex(examples.EXAMPLE_PACK_BYTES)
    envelope = dsse.sign(expected_statement(pack_digest), examples.EXAMPLE_SIGNING_KEY)
    envelope_bytes = canonical(envelope)
    [signature] = envelope["signatures"]
    (
        pact.upon_receiving("a request for the attestation of the pack revision MC serves")
        .given(PACK_SERVED, pack=examples.PACK, revision=examples.PACK_REVISION)
        .given(
            PACK_ATTESTED,
            pack=examples.PACK,
            revision=examples.PACK_REVISION,
            statement=expected_statement("${packDigest}"),
        )
        .given(TOKEN, scope="policy:read")
        .with_request("GET", f"{PACK_PATH}/attestation")
        .with_query_parameter("digest", from_state(pack_digest, "${packDigest}", regex=HEX64))
        .with_header("Authorization", bearer())
        .will_respond_with(200)
        .with_header("Content-Type", JSON)
        .with_header("Cache-Control", "no-cache")
        .with_header("X-Pack-Revision", examples.PACK_REVISION)
        .with_header("ETag", from_state(digest.etag_for(envelope_bytes), "${attestationEtag}", ETAG_STRONG))
        .with_header(
            "Content-Digest",
            from_state(digest.content_digest(envelope_bytes), "${attestationContentDigest}", CONTENT_DIGEST),
        )
        .with_body(
            {
                "payload": from_state(envelope["payload"], "${attestationPayload}", regex=BASE64),
                "payloadType": dsse.PAYLOAD_TYPE,
                "signatures": [
                    {
                        "keyid": from_state(signature["keyid"], "${signingKeyId}", regex=KEY_ID),
                        "sig": from_state(signature["sig"], "${attestationSignature}", regex=ED25519_SIG),
                    }
                ],
            },
            JSON,
        )
    )


@case
def pack_attestation(pact: Pact) -> None:
    _declare_attestation(pact)
    pack_digest = digest.sha256_hex(examples.EXAMPLE_PACK_BYTES)
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(
            _call(_client(srv), "fetch_attestation", examples.PACK, pack_digest, token=placeholders.TOKEN)
        )
    assert result.status == 200 and result.envelope is not None, result
    # What COS's PolicyFetcher does with it: the validators belong to these bytes, and the
    # signature verifies under the pinned key for a statement about exactly this pack.
    digest.verify_content_digest(result.headers["content-digest"], result.content)
    assert result.headers["etag"] == digest.etag_for(result.content), result.headers
    pinned = examples.EXAMPLE_SIGNING_KEY.public_key()
    statement = dsse.verify_pack(result.envelope, pinned, examples.PACK, pack_digest)
    assert statement["predicate"] == {"pack": examples.PACK, "revision": examples.PACK_REVISION}


@case
def policy_fetcher_enforces_a_verified_pack(pact: Pact) -> None:
    """COS's own PolicyFetcher against the mock: token, pack, attestation (the interactions above,
    unchanged), then the envelope verified against the pinned key and the pack enforced."""
    _declare_token(pact, TOKEN_FOR_COS, " ".join(SCOPES))
    _declare_pack_get(pact)
    _declare_attestation(pact)
    with tempfile.TemporaryDirectory(prefix="contract-fetcher-") as tmp, pact.serve(addr=MOCK_HOST) as srv:
        pin_file = Path(tmp) / "mc-signing.pem"
        pin_file.write_text(keys.public_pem(examples.EXAMPLE_SIGNING_KEY.public_key()))
        outcome, holder = run(_poll_once(str(srv.url), Path(tmp), pin_file))
    policy = holder.current
    assert outcome == "reloaded" and policy is not None, outcome
    assert policy.source == "mc" and policy.signature_verified, policy
    assert policy.digest == digest.sha256_hex(examples.EXAMPLE_PACK_BYTES)
    assert policy.revision == examples.PACK_REVISION


async def _poll_once(base_url: str, data_dir: Path, pin_file: Path) -> tuple[str, PolicyHolder]:
    client = _client_at(base_url)
    holder = PolicyHolder()
    fetcher = PolicyFetcher(
        examples.PACK,
        client,
        TokenCache(client),
        KeyPin(data_dir, pin_file),
        PolicyStore(data_dir),
        holder,
        Metrics(),
        RuntimeStatus(mode="integrated"),
        poll_interval_s=1.0,
        backoff_cap_s=1.0,
    )
    try:
        return await fetcher.poll_once(), holder
    finally:
        await client.aclose()


# -- evidence (REST) ------------------------------------------------------------------------
def _publish(srv, doc: dict, key: str, **kwargs):
    return run(_call(_client(srv), "publish_evidence", canonical(doc), key, **kwargs))


@case
def evidence_first_publish(pact: Pact) -> None:
    key, doc = "contract-mc-first-publish", examples.evidence(1)
    (
        _evidence_request(pact, "a first publish of evidence", key, doc)
        .will_respond_with(201)
        .with_header("Content-Type", JSON)
        .with_header(
            "Location", match.regex(f"/v1/evidence/{EXAMPLE_EVIDENCE_ID}", regex=MC_EVIDENCE_LOCATION)
        )
        .with_body(_evidence_created(key, doc), JSON)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _publish(srv, doc, key, token=placeholders.TOKEN)
    assert result.status == 201 and result.evidence_id == EXAMPLE_EVIDENCE_ID and not result.replayed, result


@case
def evidence_replay(pact: Pact) -> None:
    key, doc = "contract-mc-replay", examples.evidence(2)
    (
        _evidence_request(
            pact,
            "a repeated publish with the same key and the same evidence",
            key,
            doc,
            states=(
                (TOKEN, {"scope": "evidence:write"}),
                (EVIDENCE_ACCEPTED, {"idempotency_key": key, "evidence": doc}),
            ),
        )
        .will_respond_with(201)
        .with_header("Content-Type", JSON)
        .with_header("Idempotent-Replayed", "true")
        .with_header(
            "Location",
            from_state(
                f"/v1/evidence/{EXAMPLE_EVIDENCE_ID}", "/v1/evidence/${evidenceId}", MC_EVIDENCE_LOCATION
            ),
        )
        .with_body(
            {
                **_evidence_created(key, doc),
                "evidence_id": from_state(EXAMPLE_EVIDENCE_ID, "${evidenceId}", MC_EVIDENCE_ID),
            },
            JSON,
        )
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _publish(srv, doc, key, token=placeholders.TOKEN)
    assert result.status == 201 and result.replayed and result.evidence_id == EXAMPLE_EVIDENCE_ID, result


@case
def evidence_key_reused(pact: Pact) -> None:
    key, first, second = "contract-mc-reused", examples.evidence(3), examples.evidence(4)
    (
        _evidence_request(
            pact,
            "a publish reusing a key with different evidence",
            key,
            second,
            states=(
                (TOKEN, {"scope": "evidence:write"}),
                (EVIDENCE_ACCEPTED, {"idempotency_key": key, "evidence": first}),
            ),
        )
        .will_respond_with(422)
        .with_header("Content-Type", PROBLEM)
        .with_body(problem(422, "idempotency_key_reused"), PROBLEM)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _publish(srv, second, key, token=placeholders.TOKEN)
    assert result.status == 422 and result.reason == "idempotency_key_reused", result


@case
def evidence_in_flight(pact: Pact) -> None:
    key, doc = "contract-mc-in-flight", examples.evidence(5)
    (
        _evidence_request(
            pact,
            "a publish while the same key is still in flight",
            key,
            doc,
            states=(
                (TOKEN, {"scope": "evidence:write"}),
                (EVIDENCE_IN_FLIGHT, {"idempotency_key": key, "evidence": doc}),
            ),
        )
        .will_respond_with(409)
        .with_header("Content-Type", PROBLEM)
        .with_body(problem(409, "idempotency_key_in_flight"), PROBLEM)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _publish(srv, doc, key, token=placeholders.TOKEN)
    assert result.status == 409 and result.reason == "idempotency_key_in_flight", result


@case
def evidence_digest_mismatch(pact: Pact) -> None:
    key, doc = "contract-mc-digest-mismatch", examples.evidence(6)
    wrong = digest.content_digest(b"some other bytes")
    (
        _evidence_request(
            pact, "a publish whose Content-Digest does not match the body", key, doc, content_digest=wrong
        )
        .will_respond_with(400)
        .with_header("Content-Type", PROBLEM)
        .with_body(problem(400, "content_digest_mismatch"), PROBLEM)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _publish(srv, doc, key, token=placeholders.TOKEN, content_digest=wrong)
    assert result.status == 400 and result.reason == "content_digest_mismatch", result


@case
def evidence_without_token(pact: Pact) -> None:
    key, doc = "contract-mc-no-token", examples.evidence(7)
    (
        _evidence_request(pact, "a publish without a token", key, doc, states=(), token=False)
        .will_respond_with(401)
        .with_header("Content-Type", PROBLEM)
        .with_header("WWW-Authenticate", BEARER_CHALLENGE)
        .with_body(problem(401, "missing_token"), PROBLEM)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _publish(srv, doc, key)
    assert result.status == 401 and result.reason == "missing_token", result


@case
def evidence_without_scope(pact: Pact) -> None:
    key, doc = "contract-mc-no-scope", examples.evidence(8)
    (
        _evidence_request(
            pact,
            "a publish with a token lacking evidence:write",
            key,
            doc,
            states=((TOKEN, {"scope": "policy:read"}),),
        )
        .will_respond_with(403)
        .with_header("Content-Type", PROBLEM)
        .with_body(problem(403, "insufficient_scope", scope="evidence:write"), PROBLEM)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _publish(srv, doc, key, token=placeholders.TOKEN)
    assert result.status == 403 and result.reason == "insufficient_scope", result


# -- evidence (GraphQL) ---------------------------------------------------------------------
def _graphql(pact: Pact, description: str, key: str, doc: dict, states=(), token: bool = True):
    interaction = pact.upon_receiving(description)
    for name, params in states:
        interaction.given(name, **params)
    interaction.with_request("POST", "/graphql")
    if token:
        interaction.with_header("Authorization", bearer())
    return interaction.with_header("Content-Type", JSON).with_body(
        {"query": GRAPHQL_PUBLISH, "variables": {"input": to_graphql_input(doc), "key": key}}, JSON
    )


def _graphql_publish(srv, doc: dict, key: str, **kwargs):
    return run(_call(_client(srv), "publish_evidence_graphql", doc, key, **kwargs))


@case
def graphql_publish(pact: Pact) -> None:
    key, doc = "contract-mc-graphql", examples.evidence(9, kind="sbom")
    (
        _graphql(
            pact,
            "a GraphQL publishEvidence mutation",
            key,
            doc,
            states=((TOKEN, {"scope": "evidence:write"}),),
        )
        .will_respond_with(200)
        .with_header("Content-Type", JSON)
        .with_body(
            {
                "data": {
                    "publishEvidence": {
                        "evidenceOk": True,
                        "evidenceId": match.regex(EXAMPLE_EVIDENCE_ID, regex=MC_EVIDENCE_ID),
                        "replayed": False,
                        "error": None,
                    }
                }
            },
            JSON,
        )
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _graphql_publish(srv, doc, key, token=placeholders.TOKEN)
    assert result.status == 200 and result.evidence_ok and not result.replayed, result
    assert result.evidence_id == EXAMPLE_EVIDENCE_ID


@case
def graphql_replay(pact: Pact) -> None:
    key, doc = "contract-mc-graphql-replay", examples.evidence(10, kind="scan")
    (
        _graphql(
            pact,
            "a GraphQL publishEvidence repeating a publish MC already accepted",
            key,
            doc,
            states=(
                (TOKEN, {"scope": "evidence:write"}),
                (EVIDENCE_ACCEPTED, {"idempotency_key": key, "evidence": doc}),
            ),
        )
        .will_respond_with(200)
        .with_header("Content-Type", JSON)
        .with_body(
            {
                "data": {
                    "publishEvidence": {
                        "evidenceOk": True,
                        "evidenceId": from_state(EXAMPLE_EVIDENCE_ID, "${evidenceId}", MC_EVIDENCE_ID),
                        "replayed": True,
                        "error": None,
                    }
                }
            },
            JSON,
        )
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _graphql_publish(srv, doc, key, token=placeholders.TOKEN)
    assert result.status == 200 and result.evidence_ok and result.replayed, result


@case
def graphql_without_token(pact: Pact) -> None:
    key, doc = "contract-mc-graphql-no-token", examples.evidence(11)
    (
        _graphql(pact, "a GraphQL publishEvidence without a token", key, doc, token=False)
        .will_respond_with(401)
        .with_header("Content-Type", PROBLEM)
        .with_header("WWW-Authenticate", BEARER_CHALLENGE)
        .with_body(problem(401, "missing_token"), PROBLEM)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _graphql_publish(srv, doc, key)
    assert result.status == 401, result
