"""Evidence over REST under the idempotency rules: 201, replay, 422, 409, 400 and the 401/403 answers."""

from __future__ import annotations

from contracts.consumers.companyos_mc.common import (
    BEARER_CHALLENGE,
    EVIDENCE_ACCEPTED,
    EVIDENCE_IN_FLIGHT,
    EXAMPLE_EVIDENCE_ID,
    JSON,
    MC_EVIDENCE_ID,
    TOKEN,
    Pact,
    _call,
    _client,
    _evidence_created,
    _evidence_request,
    canonical,
    case,
    digest,
    examples,
    match,
    placeholders,
)
from contracts.dsl import MC_EVIDENCE_LOCATION, MOCK_HOST, answers_problem, from_state, run


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
    request = _evidence_request(
        pact,
        "a publish reusing a key with different evidence",
        key,
        second,
        states=(
            (TOKEN, {"scope": "evidence:write"}),
            (EVIDENCE_ACCEPTED, {"idempotency_key": key, "evidence": first}),
        ),
    )
    answers_problem(request, 422, "idempotency_key_reused")
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _publish(srv, second, key, token=placeholders.TOKEN)
    assert result.status == 422 and result.reason == "idempotency_key_reused", result


@case
def evidence_in_flight(pact: Pact) -> None:
    key, doc = "contract-mc-in-flight", examples.evidence(5)
    request = _evidence_request(
        pact,
        "a publish while the same key is still in flight",
        key,
        doc,
        states=(
            (TOKEN, {"scope": "evidence:write"}),
            (EVIDENCE_IN_FLIGHT, {"idempotency_key": key, "evidence": doc}),
        ),
    )
    answers_problem(request, 409, "idempotency_key_in_flight")
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _publish(srv, doc, key, token=placeholders.TOKEN)
    assert result.status == 409 and result.reason == "idempotency_key_in_flight", result


@case
def evidence_digest_mismatch(pact: Pact) -> None:
    key, doc = "contract-mc-digest-mismatch", examples.evidence(6)
    wrong = digest.content_digest(b"some other bytes")
    request = _evidence_request(
        pact, "a publish whose Content-Digest does not match the body", key, doc, content_digest=wrong
    )
    answers_problem(request, 400, "content_digest_mismatch")
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _publish(srv, doc, key, token=placeholders.TOKEN, content_digest=wrong)
    assert result.status == 400 and result.reason == "content_digest_mismatch", result


@case
def evidence_without_token(pact: Pact) -> None:
    key, doc = "contract-mc-no-token", examples.evidence(7)
    request = _evidence_request(pact, "a publish without a token", key, doc, states=(), token=False)
    answers_problem(request, 401, "missing_token", challenge=BEARER_CHALLENGE)
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _publish(srv, doc, key)
    assert result.status == 401 and result.reason == "missing_token", result


@case
def evidence_without_scope(pact: Pact) -> None:
    key, doc = "contract-mc-no-scope", examples.evidence(8)
    request = _evidence_request(
        pact,
        "a publish with a token lacking evidence:write",
        key,
        doc,
        states=((TOKEN, {"scope": "policy:read"}),),
    )
    answers_problem(request, 403, "insufficient_scope", scope="evidence:write")
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _publish(srv, doc, key, token=placeholders.TOKEN)
    assert result.status == 403 and result.reason == "insufficient_scope", result
