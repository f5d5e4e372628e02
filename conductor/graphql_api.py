"""`POST /graphql`: the `publishEvidence` mutation over the same EvidenceService as REST.

Why a hand-rolled endpoint around `ariadne.graphql` instead of ariadne's ASGI
app: the seam wants authentication failures as HTTP 401/403 problem+json (not
a GraphQL error under 200), and the same 64 KiB body limit as REST. Business
outcomes (invalid evidence, key reuse, key in flight) are data in the result
(`evidenceOk: false` + `error{reason field message}`), as GraphQL clients expect.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from ariadne import MutationType, QueryType, ScalarType, graphql, make_executable_schema
from graphql import GraphQLError, GraphQLSchema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conductor import graphql_limits
from conductor import mutations as mut
from conductor.auth import Authenticator
from conductor.evidence_api import SCOPE, EvidenceService, check_key
from conductor.mutations import Mutations
from seam import evidence, problem
from seam.problem import Problem

TYPE_DEFS = """
scalar JSON

input DigestInput { sha256: String! }
input SubjectInput { name: String!, digest: DigestInput! }
input EvidenceInput {
  release: String!
  kind: String!
  subject: SubjectInput!
  producedAt: String!
  payload: JSON
}

type EvidenceError { reason: String!, field: String, message: String! }

type PublishEvidenceResult {
  %(ok)s: Boolean!
  evidenceId: String
  replayed: Boolean!
  error: EvidenceError
}

type Query { service: String! }

type Mutation {
  publishEvidence(input: EvidenceInput!, idempotencyKey: String!): PublishEvidenceResult!
}
"""

_GRAPHQL_FIELDS = {"produced_at": "producedAt"}


def to_document(data: dict[str, Any]) -> dict[str, Any]:
    """GraphQL input → the evidence document in REST field names (omitting a null payload)."""
    subject = data.get("subject") or {}
    sha256 = (subject.get("digest") or {}).get("sha256")
    doc: dict[str, Any] = {
        "release": data.get("release"),
        "kind": data.get("kind"),
        "subject": {"name": subject.get("name"), "digest": {"sha256": sha256}},
        "produced_at": data.get("producedAt"),
    }
    if data.get("payload") is not None:
        doc["payload"] = data["payload"]
    return doc


def build_schema(mutations: Mutations, service: EvidenceService) -> GraphQLSchema:
    ok_field = "ok" if mutations.on(mut.GRAPHQL_EVIDENCEOK_RENAMED) else "evidenceOk"
    query = QueryType()
    mutation = MutationType()
    json_scalar = ScalarType("JSON")

    @query.field("service")
    def resolve_service(*_: Any) -> str:
        return "maestro-conductor"

    def failure(reason: str, message: str, field: str | None = None) -> dict[str, Any]:
        return {
            ok_field: False,
            "evidenceId": None,
            "replayed": False,
            "error": {"reason": reason, "field": field, "message": message},
        }

    @mutation.field("publishEvidence")
    async def resolve_publish(
        _: Any,
        info: Any,
        input: dict[str, Any],
        idempotencyKey: str,  # noqa: A002,N803
    ) -> dict[str, Any]:
        try:
            key = check_key(idempotencyKey)
            doc = evidence.validate(to_document(input))
        except Problem as exc:
            field = exc.extra.get("field")
            if exc.reason.endswith("idempotency_key"):
                field = "idempotencyKey"
            return failure(exc.reason, exc.detail, _GRAPHQL_FIELDS.get(field, field) if field else None)
        try:
            result = await service.publish(doc, key, info.context["client_id"], "graphql")
        except sqlite3.Error as exc:
            info.context["storage_error"] = exc  # answered as HTTP 507/503, like REST
            raise
        if result.outcome == "mismatch":
            return failure("idempotency_key_reused", "this key was already used with a different body")
        if result.outcome == "in_flight":
            return failure("idempotency_key_in_flight", "a request with this key is still in flight")
        return {
            ok_field: True,
            "evidenceId": result.body.get("evidence_id"),
            "replayed": result.outcome == "replayed",
            "error": None,
        }

    return make_executable_schema(TYPE_DEFS % {"ok": ok_field}, query, mutation, json_scalar)


class _ResolverFailuresOnly(logging.Filter):
    """Log a GraphQL error only when a resolver failed; a refused query is the client's answer."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, GraphQLError) or error.original_error is not None


_errors_log = logging.getLogger("conductor.graphql")
_errors_log.addFilter(_ResolverFailuresOnly())


def routes(
    service: EvidenceService, auth: Authenticator, mutations: Mutations, *, introspection: bool = False
) -> list[Route]:
    schema = build_schema(mutations, service)
    rules = graphql_limits.validation_rules(introspection)

    async def post_graphql(request: Request) -> Response:
        claims = auth.require(request, SCOPE)
        problem.require_json(request)
        raw = await problem.read_body(request, evidence.MAX_BODY_BYTES)
        data = problem.parse_json_object(raw)
        context: dict[str, Any] = {"request": request, "client_id": claims.subject}
        success, result = await graphql(
            schema,
            data,
            context_value=context,
            query_parser=graphql_limits.parse_query,
            validation_rules=rules,
            logger=_errors_log,
        )
        if "storage_error" in context:
            raise context["storage_error"]
        if result.get("data") is None and result.get("errors"):
            # A request error (unparseable, invalid, over a limit): nothing ran. Answered like
            # every other error, as problem+json, with the GraphQL errors alongside for clients.
            errors = [{"message": e.get("message", "")} for e in result["errors"]]
            reason = graphql_limits.reason_of(result["errors"])
            return problem.response(400, reason, errors[0]["message"], errors=errors)
        return JSONResponse(result, status_code=200 if success else 400)

    return [Route("/graphql", post_graphql, methods=["POST"])]
