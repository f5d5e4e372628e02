"""Toxiproxy's HTTP API (the v2 subset the suite needs) over a ProxyCollection, as a Starlette app.

Why the shapes are copied exactly: the suite's steps use `faultproxy.client`, and the same steps
must work against a real Toxiproxy (`backend=external`), so routes, methods, status codes, JSON
bodies and error messages follow Toxiproxy's api.go:

  GET    /proxies                       200 {name: proxy}
  POST   /proxies                       201 proxy           (409 duplicate, 400 missing field)
  POST   /populate                      201 {"proxies": [proxy]}
  GET    /proxies/{proxy}               200 proxy           (404 unknown)
  POST   /proxies/{proxy}  (or PATCH)   200 proxy           e.g. {"enabled": false} = down
  DELETE /proxies/{proxy}               204
  GET    /proxies/{proxy}/toxics        200 [toxic]
  POST   /proxies/{proxy}/toxics        200 toxic           (409 duplicate, 400 bad type/stream)
  GET    /proxies/{proxy}/toxics/{t}    200 toxic
  POST   /proxies/{proxy}/toxics/{t}    200 toxic           (or PATCH; attributes merge)
  DELETE /proxies/{proxy}/toxics/{t}    204
  POST   /reset                         204                 enable all, remove all toxics
  GET    /version                       200 {"version": "..."}

Errors are `{"error": "...", "status": N}`. Like Toxiproxy, requests whose User-Agent starts with
"Mozilla/" are refused, so a web page open on the same machine cannot drive the loopback API.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from faultproxy import SERVER_VERSION, errors
from faultproxy.collection import ProxyCollection, ProxySpec

log = logging.getLogger("faultproxy.api")

MAX_BODY_BYTES = 1024 * 1024


class RefuseBrowsers:
    """Toxiproxy's stopBrowsersMiddleware: 403 for browser user agents (CSRF on a local API)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            agent = dict(scope.get("headers") or []).get(b"user-agent", b"")
            if agent.startswith(b"Mozilla/"):
                await Response("User agent not allowed\n", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _error(exc: errors.ApiError) -> JSONResponse:
    return JSONResponse(exc.to_json(), status_code=exc.status)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.ApiError)
    return _error(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(errors.ApiError(str(exc.detail).lower(), exc.status_code))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _error(errors.ApiError(f"internal error: {exc}", 500))


async def _json(request: Request) -> object:
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY_BYTES:
            raise errors.ApiError(f"request body over {MAX_BODY_BYTES} bytes", 413)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise errors.BAD_REQUEST_BODY.joined(str(exc) if bytes(body).strip() else "EOF") from None


def create_app(collection: ProxyCollection, on_ready: Callable[[], None] | None = None) -> Starlette:
    """The API app. `on_ready` runs once the app has started; proxies stop when it shuts down."""

    async def proxy_index(request: Request) -> Response:
        return JSONResponse({p.name: p.to_json() for p in collection.all()})

    async def proxy_create(request: Request) -> Response:
        proxy = await collection.add(ProxySpec.from_json(await _json(request)))
        return JSONResponse(proxy.to_json(), status_code=201)

    async def populate(request: Request) -> Response:
        body = await _json(request)
        if not isinstance(body, list):
            raise errors.BAD_REQUEST_BODY.joined("expected a JSON array of proxies")
        specs = [ProxySpec.from_json(item, f" at proxy {i + 1}") for i, item in enumerate(body)]
        proxies = await collection.populate(specs)
        return JSONResponse({"proxies": [p.to_json() for p in proxies]}, status_code=201)

    async def proxy_show(request: Request) -> Response:
        return JSONResponse(collection.get(request.path_params["proxy"]).to_json())

    async def proxy_update(request: Request) -> Response:
        proxy = await collection.update(request.path_params["proxy"], await _json(request))
        return JSONResponse(proxy.to_json())

    async def proxy_delete(request: Request) -> Response:
        await collection.remove(request.path_params["proxy"])
        return Response(status_code=204)

    async def toxic_index(request: Request) -> Response:
        proxy = collection.get(request.path_params["proxy"])
        return JSONResponse([t.to_json() for t in proxy.ordered_toxics()])

    async def toxic_create(request: Request) -> Response:
        name = request.path_params["proxy"]
        collection.get(name)  # 404 for an unknown proxy before complaining about the body
        toxic = await collection.add_toxic(name, await _json(request))
        return JSONResponse(toxic.to_json())

    async def toxic_show(request: Request) -> Response:
        proxy = collection.get(request.path_params["proxy"])
        return JSONResponse(proxy.find_toxic(request.path_params["toxic"]).to_json())

    async def toxic_update(request: Request) -> Response:
        params = request.path_params
        collection.get(params["proxy"]).find_toxic(params["toxic"])  # 404s first, as Toxiproxy
        toxic = await collection.update_toxic(params["proxy"], params["toxic"], await _json(request))
        return JSONResponse(toxic.to_json())

    async def toxic_delete(request: Request) -> Response:
        await collection.remove_toxic(request.path_params["proxy"], request.path_params["toxic"])
        return Response(status_code=204)

    async def reset(request: Request) -> Response:
        await collection.reset()
        return Response(status_code=204)

    async def version(request: Request) -> Response:
        return Response(
            json.dumps({"version": SERVER_VERSION}) + "\n", media_type="application/json;charset=utf-8"
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            await collection.close()

    update = ["POST", "PATCH"]
    routes = [
        Route("/reset", reset, methods=["POST"]),
        Route("/version", version, methods=["GET"]),
        Route("/populate", populate, methods=["POST"]),
        Route("/proxies", proxy_index, methods=["GET"]),
        Route("/proxies", proxy_create, methods=["POST"]),
        Route("/proxies/{proxy}", proxy_show, methods=["GET"]),
        Route("/proxies/{proxy}", proxy_update, methods=update),
        Route("/proxies/{proxy}", proxy_delete, methods=["DELETE"]),
        Route("/proxies/{proxy}/toxics", toxic_index, methods=["GET"]),
        Route("/proxies/{proxy}/toxics", toxic_create, methods=["POST"]),
        Route("/proxies/{proxy}/toxics/{toxic}", toxic_show, methods=["GET"]),
        Route("/proxies/{proxy}/toxics/{toxic}", toxic_update, methods=update),
        Route("/proxies/{proxy}/toxics/{toxic}", toxic_delete, methods=["DELETE"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            errors.ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
        middleware=[Middleware(RefuseBrowsers)],
    )
