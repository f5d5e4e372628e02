"""Tokens: MC grants exactly the requested scopes for at most 15 minutes; wrong secrets and
unknown scopes are refused."""

from __future__ import annotations

from companyos.credentials import SCOPES
from contracts.consumers.companyos_mc.common import (
    AT_MOST_900,
    CLIENT_ID,
    CLIENT_KNOWN,
    EXAMPLE_JWT,
    JSON,
    JWT,
    Pact,
    _call,
    _client,
    _token_form,
    case,
    match,
    placeholders,
)
from contracts.dsl import FORM, MOCK_HOST, answers_problem, from_state, run


# -- credentials ----------------------------------------------------------------------------
def declare_token(pact: Pact, description: str, scope: str) -> None:
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
    declare_token(pact, description, scope)
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
    request = (
        pact.upon_receiving("a token request with a wrong client secret")
        .given(CLIENT_KNOWN, client_id=CLIENT_ID)
        .with_request("POST", "/v1/tokens")
        .with_body(_token_form(placeholders.WRONG_CLIENT_SECRET, "policy:read"), FORM)
    )
    answers_problem(request, 401, "invalid_client", challenge='Basic realm="maestro-conductor"')
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv, placeholders.WRONG_CLIENT_SECRET), "get_token", ["policy:read"]))
    assert result.status == 401 and result.reason == "invalid_client" and result.access_token is None, result


@case
def token_for_unknown_scope(pact: Pact) -> None:
    request = (
        pact.upon_receiving("a token request for a scope MC does not know")
        .given(CLIENT_KNOWN, client_id=CLIENT_ID)
        .with_request("POST", "/v1/tokens")
        .with_body(
            _token_form(from_state(placeholders.CLIENT_SECRET, "${clientSecret}"), "policy:admin"), FORM
        )
    )
    answers_problem(request, 400, "invalid_scope")
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "get_token", ["policy:admin"]))
    assert result.status == 400 and result.reason == "invalid_scope", result
