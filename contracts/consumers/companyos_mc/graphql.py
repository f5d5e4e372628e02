"""Evidence over GraphQL (`publishEvidence`): the same idempotency rules, `evidenceOk`."""

from __future__ import annotations

from companyos.mc_client import GRAPHQL_PUBLISH, to_graphql_input
from contracts.consumers.companyos_mc.common import (
    BEARER_CHALLENGE,
    EVIDENCE_ACCEPTED,
    EXAMPLE_EVIDENCE_ID,
    JSON,
    MC_EVIDENCE_ID,
    TOKEN,
    Pact,
    _call,
    _client,
    bearer,
    case,
    examples,
    match,
    placeholders,
)
from contracts.dsl import MOCK_HOST, answers_problem, from_state, run


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
    request = _graphql(pact, "a GraphQL publishEvidence without a token", key, doc, token=False)
    answers_problem(request, 401, "missing_token", challenge=BEARER_CHALLENGE)
    with pact.serve(addr=MOCK_HOST) as srv:
        result = _graphql_publish(srv, doc, key)
    assert result.status == 401, result
