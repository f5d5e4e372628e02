"""OpenAPI 3.1 documents generated from the typed models and the app's route table.

Each resource module declares its operations next to its routes (`Op`: method, path, request
model, responses per status with their models and headers, parameters, security); `document()`
turns them into one OpenAPI document, pulling every pydantic model's JSON Schema into
`components/schemas`. `check_routes()` fails the app's build if a route has no operation or an
operation no route, so `/openapi.json` cannot forget or invent an endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute, Route

from seam.models.problem import ProblemDocument

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
REF = "#/components/schemas/{model}"

# Every header the seam documents, by name (docs/seam.md).
HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {"description": "strong validator of the representation", "schema": {"type": "string"}},
    "Content-Digest": {
        "description": "RFC 9530 digest of the body: sha-256=:<base64>:",
        "schema": {"type": "string", "pattern": "^sha-256=:[A-Za-z0-9+/]+=*:$"},
    },
    "Idempotent-Replayed": {
        "description": "true when this is the stored answer to an earlier request with this key",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Location": {"description": "where the created resource can be read", "schema": {"type": "string"}},
    "WWW-Authenticate": {"description": "the bearer (or Basic) challenge", "schema": {"type": "string"}},
    "Cache-Control": {"description": "caching directives", "schema": {"type": "string"}},
    "X-Pack-Revision": {"description": "revision of the pack served", "schema": {"type": "string"}},
    "X-Key-Id": {"description": "id of the published signing key", "schema": {"type": "string"}},
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "string"}},
    "Accept-Post": {"description": "media type the endpoint accepts", "schema": {"type": "string"}},
}

_PROBLEM_STATUS_TEXT = {
    400: "bad request",
    401: "not authenticated",
    403: "authenticated but not allowed",
    404: "not found",
    408: "the body did not arrive in time",
    409: "conflict",
    413: "body too large",
    415: "not a JSON body",
    422: "invalid content",
    502: "an upstream did not answer",
    503: "not available right now",
    507: "the data volume is full",
}


@dataclass(frozen=True)
class Resp:
    """One documented answer: its body model (or raw schema) and media type, and its headers."""

    description: str
    model: type[BaseModel] | dict[str, Any] | None = None
    media: str = JSON
    headers: tuple[str, ...] = ()
    example: Any = None


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # path | query | header
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Op:
    """One operation of the route table, as the OpenAPI document describes it."""

    method: str
    path: str
    operation_id: str
    summary: str
    responses: dict[int, Resp]
    security: tuple[str, ...] = ()  # names in components/securitySchemes; () → public
    scopes: tuple[str, ...] = ()
    request: type[BaseModel] | dict[str, Any] | None = None
    request_media: tuple[str, ...] = (JSON,)
    request_example: Any = None
    params: tuple[Param, ...] = ()
    problems: tuple[int, ...] = ()  # statuses answered with a problem document
    tags: tuple[str, ...] = ()
    links: dict[int, dict[str, Any]] = field(default_factory=dict)


def problem(status: int, description: str | None = None, headers: tuple[str, ...] = ()) -> Resp:
    return Resp(
        description or _PROBLEM_STATUS_TEXT.get(status, "error"), ProblemDocument, PROBLEM_JSON, headers
    )


IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
    True,
    "1-255 visible ASCII characters",
)


def link(name: str, operation_id: str, parameter: str, pointer: str) -> dict[str, Any]:
    """An OpenAPI link: `parameter` of `operation_id` taken from this answer's body at `pointer`."""
    return {name: {"operationId": operation_id, "parameters": {parameter: f"$response.body#{pointer}"}}}


def path_param(name: str, schema: dict[str, Any] | None = None, description: str = "") -> Param:
    return Param(name, "path", schema or {"type": "string"}, True, description)


def _schema(model: type[BaseModel] | dict[str, Any], models: set[type[BaseModel]]) -> dict[str, Any]:
    if isinstance(model, dict):
        return model
    models.add(model)
    return {"$ref": REF.format(model=model.__name__)}


def _operation(op: Op, models: set[type[BaseModel]]) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "responses": {}}
    if op.tags:
        out["tags"] = list(op.tags)
    out["security"] = [{name: list(op.scopes) for name in op.security}] if op.security else []
    if op.params:
        out["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required,
                "schema": p.schema,
                **({"description": p.description} if p.description else {}),
            }
            for p in op.params
        ]
    if op.request is not None:
        content: dict[str, Any] = {}
        for media in op.request_media:
            entry: dict[str, Any] = {"schema": _schema(op.request, models)}
            if op.request_example is not None:
                entry["example"] = op.request_example
            content[media] = entry
        out["requestBody"] = {"required": True, "content": content}
    responses = dict(op.responses)
    for status in op.problems:
        responses.setdefault(status, problem(status))
    if op.security:
        responses.setdefault(401, problem(401, headers=("WWW-Authenticate",)))
        if op.scopes:
            responses.setdefault(403, problem(403, headers=("WWW-Authenticate",)))
    for status in sorted(responses):
        resp = responses[status]
        body: dict[str, Any] = {"description": resp.description}
        if resp.headers:
            body["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in resp.headers}
        if resp.model is not None:
            media: dict[str, Any] = {"schema": _schema(resp.model, models)}
            if resp.example is not None:
                media["example"] = resp.example
            body["content"] = {resp.media: media}
        if status in op.links:
            body["links"] = op.links[status]
        out["responses"][str(status)] = body
    return out


def document(
    *,
    title: str,
    version: str,
    description: str,
    operations: Iterable[Op],
    security_schemes: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for `operations`, every referenced model in components."""
    models: set[type[BaseModel]] = {ProblemDocument}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, models)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, schemas = models_json_schema([(m, "validation") for m in ordered], ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "headers": HEADERS,
            "securitySchemes": security_schemes,
        },
    }


def check_routes(routes: Iterable[BaseRoute], operations: Iterable[Op]) -> None:
    """Raise unless the routes and the operations name the same (method, path) pairs."""
    served = {
        (method, route.path)
        for route in routes
        if isinstance(route, Route)
        for method in (route.methods or ())
    }
    documented = {(op.method.upper(), op.path) for op in operations}
    # Starlette answers HEAD wherever there is a GET; a documented HEAD is optional.
    served -= {("HEAD", path) for method, path in served if method == "GET"}
    documented -= {("HEAD", path) for method, path in documented if method == "GET"}
    if served != documented:
        raise RuntimeError(
            f"OpenAPI out of step with the routes: undocumented {sorted(served - documented)}, "
            f"no route for {sorted(documented - served)}"
        )
