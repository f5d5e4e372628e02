"""Consumer `companyos-client` (the `cosclient` SDK) → provider `companyos`, driving `CompanyOSClient`.

What applications (and this suite's steps) rely on from COS: login, the attestation with its
validators, decisions, and evidence submission under the idempotency rules, with their error
answers. Provider states (contracts/providers/companyos.py):

- "a local user exists" {username} → `password`
- "the user is logged in to COS" {username} → `accessToken`
- "COS enforces a policy pack" → `attestationEtag`
- "evidence was accepted under an idempotency key" {idempotency_key, evidence} → `evidenceId`
"""

from __future__ import annotations

import json

from pact import Pact, match
from pact.match.matcher import GenericMatcher

from contracts import COS, SDK, examples, placeholders
from contracts.consumers import ConsumerSuite
from contracts.consumers.conductor_cos import (
    EXAMPLE_ATTESTATION_ETAG,
    POLICY_ENFORCED,
    attestation_body,
    attestation_validators,
)
from contracts.dsl import ETAG_STRONG, HEX64, JSON, MOCK_HOST, answers_problem, bearer, canonical, from_state
from cosclient import CompanyOSClient
from seam import digest

SUITE = ConsumerSuite(SDK, COS)
case = SUITE.case

USER_EXISTS = "a local user exists"
LOGGED_IN = "the user is logged in to COS"
EVIDENCE_ACCEPTED = "evidence was accepted under an idempotency key"

CHALLENGE = 'Bearer realm="companyos"'
TOKEN_CHALLENGE = 'Bearer realm="companyos", error="invalid_token"'
EXAMPLE_EVIDENCE_ID = "3f2c1a9e-8b7d-4c6e-9f01-23456789abcd"


def _client(srv, token: str | None = None) -> CompanyOSClient:
    return CompanyOSClient(str(srv.url), token=token)


# -- login ----------------------------------------------------------------------------------
@case
def login(pact: Pact) -> None:
    (
        pact.upon_receiving("a login with a local user's password")
        .given(USER_EXISTS, username=examples.USERNAME)
        .with_request("POST", "/v1/login")
        .with_header("Content-Type", JSON)
        .with_body(
            {"username": examples.USERNAME, "password": from_state(placeholders.PASSWORD, "${password}")},
            JSON,
        )
        .will_respond_with(200)
        .with_header("Content-Type", JSON)
        .with_header("Cache-Control", "no-store")
        .with_body(
            {
                "access_token": match.str(placeholders.TOKEN),
                "token_type": "Bearer",
                "expires_in": match.int(600),
            },
            JSON,
        )
    )
    with pact.serve(addr=MOCK_HOST) as srv, _client(srv) as cos:
        reply = cos.login(examples.USERNAME, placeholders.PASSWORD)
        assert reply.status == 200 and cos.token == placeholders.TOKEN, reply


@case
def login_wrong_password(pact: Pact) -> None:
    request = (
        pact.upon_receiving("a login with a wrong password")
        .given(USER_EXISTS, username=examples.USERNAME)
        .with_request("POST", "/v1/login")
        .with_header("Content-Type", JSON)
        .with_body({"username": examples.USERNAME, "password": placeholders.WRONG_PASSWORD}, JSON)
    )
    answers_problem(request, 401, "invalid_credentials", challenge=CHALLENGE)
    with pact.serve(addr=MOCK_HOST) as srv, _client(srv) as cos:
        reply = cos.login(examples.USERNAME, placeholders.WRONG_PASSWORD)
        assert reply.status == 401 and reply.reason == "invalid_credentials" and cos.token is None, reply
        assert reply.headers["www-authenticate"] == CHALLENGE


# -- attestation ----------------------------------------------------------------------------
@case
def attestation(pact: Pact) -> None:
    interaction = (
        pact.upon_receiving("a request for the attestation of the pack COS enforces")
        .given(POLICY_ENFORCED)
        .with_request("GET", "/v1/attestation")
        .will_respond_with(200)
        .with_header("Content-Type", JSON)
        .with_header("Cache-Control", "no-cache")
    )
    attestation_validators(interaction).with_body(attestation_body(), JSON)
    with pact.serve(addr=MOCK_HOST) as srv, _client(srv) as cos:
        reply = cos.attestation()
        assert reply.status == 200 and reply.headers["etag"] == EXAMPLE_ATTESTATION_ETAG, reply
        assert reply.body["pack"] == examples.PACK, reply


@case
def attestation_not_modified(pact: Pact) -> None:
    (
        pact.upon_receiving("a conditional request for an unchanged attestation")
        .given(POLICY_ENFORCED)
        .with_request("GET", "/v1/attestation")
        .with_header("If-None-Match", from_state(EXAMPLE_ATTESTATION_ETAG, "${attestationEtag}", ETAG_STRONG))
        .will_respond_with(304)
        .with_header("ETag", match.regex(EXAMPLE_ATTESTATION_ETAG, regex=ETAG_STRONG))
    )
    with pact.serve(addr=MOCK_HOST) as srv, _client(srv) as cos:
        reply = cos.attestation(if_none_match=EXAMPLE_ATTESTATION_ETAG)
        assert reply.status == 304 and reply.body == b"", reply


# -- decisions ------------------------------------------------------------------------------
SUBJECT = {"user": examples.USERNAME, "roles": examples.ROLES}


@case
def authorize(pact: Pact) -> None:
    (
        pact.upon_receiving("a decision request from a logged-in user")
        .given(POLICY_ENFORCED)
        .given(LOGGED_IN, username=examples.USERNAME)
        .with_request("POST", "/v1/authorize")
        .with_header("Authorization", bearer())
        .with_header("Content-Type", JSON)
        .with_body({"subject": SUBJECT, "action": "read"}, JSON)
        .will_respond_with(200)
        .with_header("Content-Type", JSON)
        .with_body(
            {
                "allow": match.bool(True),
                "reasons": GenericMatcher("type", ["role developer permits read"], min=0),
                "policy": {
                    "pack": examples.PACK,
                    "revision": "local",
                    "digest": from_state(examples.example_hex("cos-pack"), "${packDigest}", regex=HEX64),
                },
            },
            JSON,
        )
    )
    with pact.serve(addr=MOCK_HOST) as srv, _client(srv, placeholders.TOKEN) as cos:
        reply = cos.authorize(SUBJECT, "read")
        assert reply.status == 200 and reply.body["allow"] is True, reply
        assert reply.body["policy"]["pack"] == examples.PACK


@case
def authorize_without_token(pact: Pact) -> None:
    request = (
        pact.upon_receiving("a decision request without a token")
        .with_request("POST", "/v1/authorize")
        .with_header("Content-Type", JSON)
        .with_body({"subject": SUBJECT, "action": "read"}, JSON)
    )
    answers_problem(request, 401, "missing_token", challenge=TOKEN_CHALLENGE)
    with pact.serve(addr=MOCK_HOST) as srv, _client(srv) as cos:
        reply = cos.authorize(SUBJECT, "read")
        assert reply.status == 401 and reply.reason == "missing_token", reply


# -- evidence -------------------------------------------------------------------------------
def _submission(
    pact: Pact,
    description: str,
    key: str | None,
    doc: dict,
    *,
    states: tuple[tuple[str, dict], ...] = ((LOGGED_IN, {"username": examples.USERNAME}),),
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
    interaction.with_header("Content-Type", JSON)
    if key is not None:
        interaction.with_header("Idempotency-Key", key)
    return interaction.with_header("Content-Digest", content_digest or digest.content_digest(body)).with_body(
        json.loads(body), JSON
    )


def _accepted(key: str, evidence_id=None) -> dict:
    return {
        "evidence_id": evidence_id or match.str(EXAMPLE_EVIDENCE_ID),
        "idempotency_key": key,
        "status": "accepted",
    }


def _submit(srv, doc: dict, key: str | None, token: str | None = placeholders.TOKEN, **kwargs):
    with _client(srv, token) as cos:
        return cos.submit_evidence(canonical(doc), key, **kwargs)


@case
def evidence_accepted(pact: Pact) -> None:
    key, doc = "contract-cos-first-submission", examples.evidence(21)
    (
        _submission(pact, "an evidence submission", key, doc)
        .will_respond_with(202)
        .with_header("Content-Type", JSON)
        .with_header(
            "Location", match.regex(f"/v1/evidence/{EXAMPLE_EVIDENCE_ID}", regex=r"^/v1/evidence/\S+$")
        )
        .with_body(_accepted(key), JSON)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        reply = _submit(srv, doc, key)
    assert reply.status == 202 and reply.body["status"] == "accepted", reply
    assert "idempotent-replayed" not in reply.headers


@case
def evidence_replay(pact: Pact) -> None:
    key, doc = "contract-cos-replay", examples.evidence(22)
    (
        _submission(
            pact,
            "a repeated evidence submission with the same key and the same evidence",
            key,
            doc,
            states=(
                (LOGGED_IN, {"username": examples.USERNAME}),
                (EVIDENCE_ACCEPTED, {"idempotency_key": key, "evidence": doc}),
            ),
        )
        .will_respond_with(202)
        .with_header("Content-Type", JSON)
        .with_header("Idempotent-Replayed", "true")
        .with_body(_accepted(key, from_state(EXAMPLE_EVIDENCE_ID, "${evidenceId}")), JSON)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        reply = _submit(srv, doc, key)
    assert reply.status == 202 and reply.headers["idempotent-replayed"] == "true", reply
    assert reply.body["evidence_id"] == EXAMPLE_EVIDENCE_ID


@case
def evidence_key_reused(pact: Pact) -> None:
    key, first, second = "contract-cos-reused", examples.evidence(23), examples.evidence(24)
    request = _submission(
        pact,
        "an evidence submission reusing a key with different evidence",
        key,
        second,
        states=(
            (LOGGED_IN, {"username": examples.USERNAME}),
            (EVIDENCE_ACCEPTED, {"idempotency_key": key, "evidence": first}),
        ),
    )
    answers_problem(request, 422, "idempotency_key_reused")
    with pact.serve(addr=MOCK_HOST) as srv:
        reply = _submit(srv, second, key)
    assert reply.status == 422 and reply.reason == "idempotency_key_reused", reply


@case
def evidence_without_key(pact: Pact) -> None:
    doc = examples.evidence(25)
    request = _submission(pact, "an evidence submission without an Idempotency-Key", None, doc)
    answers_problem(request, 400, "missing_idempotency_key")
    with pact.serve(addr=MOCK_HOST) as srv:
        reply = _submit(srv, doc, None)
    assert reply.status == 400 and reply.reason == "missing_idempotency_key", reply


@case
def evidence_digest_mismatch(pact: Pact) -> None:
    key, doc = "contract-cos-digest-mismatch", examples.evidence(26)
    wrong = digest.content_digest(b"some other bytes")
    request = _submission(
        pact,
        "an evidence submission whose Content-Digest does not match the body",
        key,
        doc,
        content_digest=wrong,
    )
    answers_problem(request, 400, "content_digest_mismatch")
    with pact.serve(addr=MOCK_HOST) as srv:
        reply = _submit(srv, doc, key, content_digest=wrong)
    assert reply.status == 400 and reply.reason == "content_digest_mismatch", reply


@case
def evidence_without_token(pact: Pact) -> None:
    key, doc = "contract-cos-no-token", examples.evidence(27)
    request = _submission(pact, "an evidence submission without a token", key, doc, states=(), token=False)
    answers_problem(request, 401, "missing_token", challenge=TOKEN_CHALLENGE)
    with pact.serve(addr=MOCK_HOST) as srv:
        reply = _submit(srv, doc, key, token=None)
    assert reply.status == 401 and reply.reason == "missing_token", reply
