"""Operations endpoints: liveness/state, readiness, Prometheus metrics and this OpenAPI document."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from companyos import health
from companyos.api.context import Services, json_response, services
from companyos.api.models import Health, Readiness
from companyos.metrics import CONTENT_TYPE
from seam.openapi import Op, Resp

OPENAPI_SCHEMA = {"type": "object", "required": ["openapi", "info", "paths"]}


async def _outbox_depth(cos: Services) -> int | None:
    if cos.outbox is None:
        return None
    try:
        return await run_in_threadpool(cos.outbox.depth)
    except Exception:
        return None


async def healthz(request: Request) -> Response:
    """Liveness and state: ok|degraded, mode, pack, digest age, last reload, MC, outbox depth."""
    cos = services(request)
    depth = await _outbox_depth(cos)
    return json_response(health.healthz(cos.status, cos.holder.current, depth, cos.settings.callback_url))


async def readyz(request: Request) -> Response:
    """Readiness: 200 once a pack is loaded and the outbox is open, else 503."""
    cos = services(request)
    storage_ok = cos.outbox is not None and await run_in_threadpool(cos.outbox.ping)
    ok, body = health.ready(cos.holder.current, storage_ok)
    if ok and cos.outbox is not None:
        storage_problem = await run_in_threadpool(cos.outbox.write_problem)
        if storage_problem is not None:  # open, but it cannot write (e.g. the volume is full)
            ok, body = False, {**body, "ready": False, "storage": storage_problem}
    return json_response(body, status=200 if ok else 503)


async def metrics(request: Request) -> Response:
    """Prometheus metrics of this COS instance."""
    cos = services(request)
    depth = await _outbox_depth(cos)
    if depth is not None:
        cos.metrics.outbox_depth.set(depth)
    return Response(cos.metrics.render(), media_type=CONTENT_TYPE)


async def openapi_json(request: Request) -> Response:
    """This API's OpenAPI 3.1 document, generated from the models and the route table."""
    return JSONResponse(request.app.state.openapi)


ROUTES = [
    Route("/healthz", healthz, methods=["GET"], name="healthz"),
    Route("/readyz", readyz, methods=["GET"], name="readyz"),
    Route("/metrics", metrics, methods=["GET"], name="metrics"),
    Route("/openapi.json", openapi_json, methods=["GET"], name="openapi"),
]
OPERATIONS = [
    Op(
        "GET",
        "/healthz",
        "healthz",
        "Liveness and state: ok|degraded, mode, pack, digest age, last reload, MC, outbox depth",
        responses={200: Resp("state of this COS", Health)},
        tags=("ops",),
    ),
    Op(
        "GET",
        "/readyz",
        "readyz",
        "Readiness: 200 once a pack is loaded and the outbox is open, else 503",
        responses={200: Resp("ready", Readiness), 503: Resp("not ready (and why)", Readiness)},
        tags=("ops",),
    ),
    Op(
        "GET",
        "/metrics",
        "metrics",
        "Prometheus metrics of this COS instance",
        responses={200: Resp("Prometheus text exposition", {"type": "string"}, CONTENT_TYPE.split(";")[0])},
        tags=("ops",),
    ),
    Op(
        "GET",
        "/openapi.json",
        "openapi",
        "This API's OpenAPI 3.1 document, generated from the models and the route table",
        responses={200: Resp("OpenAPI 3.1", OPENAPI_SCHEMA)},
        tags=("ops",),
    ),
]
