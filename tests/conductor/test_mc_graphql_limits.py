"""POST /graphql limits (issue 13): an alias bomb, deep or costly queries and introspection are
refused before anything executes, as problem+json naming the limit."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from mc_helpers import bearer, get_token
from starlette.applications import Starlette
from starlette.testclient import TestClient

from conductor import graphql_limits
from conductor.tools.alias_bomb import alias_bomb  # the probe's own query, so test and probe agree


def ask(client: TestClient, token: str, query: str):  # noqa: ANN201 - an httpx.Response
    return client.post("/graphql", json={"query": query}, headers=bearer(token))


def assert_refused(response, reason: str) -> None:  # noqa: ANN001
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["reason"] == reason, body
    assert body["errors"] and all("message" in e for e in body["errors"])


def test_the_alias_bomb_is_refused_while_parsing(client: TestClient, token: str) -> None:
    query = alias_bomb()
    assert len(query) > 59_000 and query.count("__schema") > 1000
    assert_refused(ask(client, token, query), "graphql_too_large")


def test_a_query_within_the_size_but_over_the_token_budget_is_refused(client: TestClient, token: str) -> None:
    query = alias_bomb(8_000)
    assert len(query) < graphql_limits.MAX_QUERY_CHARS
    assert_refused(ask(client, token, query), "graphql_too_large")


def test_more_than_the_allowed_aliases_is_refused(client: TestClient, token: str) -> None:
    query = "{" + " ".join(f"s{i}: service" for i in range(graphql_limits.MAX_ALIASES + 1)) + "}"
    assert_refused(ask(client, token, query), "graphql_too_many_aliases")
    allowed = "{" + " ".join(f"s{i}: service" for i in range(graphql_limits.MAX_ALIASES)) + "}"
    assert ask(client, token, allowed).status_code == 200


def test_deep_queries_are_refused(client: TestClient, token: str) -> None:
    depth = graphql_limits.MAX_DEPTH + 1
    query = "{" + "".join(f" f{i} {{" for i in range(depth)) + " x" + " }" * depth + "}"
    assert_refused(ask(client, token, query), "graphql_too_deep")


def test_fragment_cycles_are_refused_not_followed_forever(client: TestClient, token: str) -> None:
    query = "{ ...A } fragment A on Query { service ...B } fragment B on Query { service ...A }"
    assert_refused(ask(client, token, query), "graphql_invalid")


def test_costly_queries_are_refused(client: TestClient, token: str) -> None:
    query = "{" + " service" * (graphql_limits.MAX_FIELDS + 1) + " }"
    assert_refused(ask(client, token, query), "graphql_too_costly")


@pytest.mark.parametrize("field", ["__schema { types { name } }", '__type(name: "Query") { name }'])
def test_introspection_is_off_by_default(client: TestClient, token: str, field: str) -> None:
    assert_refused(ask(client, token, "{ " + field + " }"), "graphql_introspection_disabled")
    assert ask(client, token, "{ __typename service }").json()["data"]["__typename"] == "Query"


def test_introspection_can_be_turned_on_for_development(make_app: Callable[..., Starlette]) -> None:
    with TestClient(make_app(graphql_introspection=True), base_url="http://127.0.0.1") as dev:
        response = ask(dev, get_token(dev), "{ __schema { queryType { name } } }")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


def test_unparseable_and_invalid_queries_are_problems(client: TestClient, token: str) -> None:
    assert_refused(ask(client, token, "{ service"), "graphql_invalid")
    assert_refused(ask(client, token, "{ nope }"), "graphql_invalid")
    r = client.post("/graphql", json={"query": 42}, headers=bearer(token))
    assert_refused(r, "graphql_invalid")
