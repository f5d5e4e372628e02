"""`create_app(settings) -> Starlette`: every MC part built and wired in one place.

Why explicit wiring: each module gets exactly the collaborators it uses, so a
test builds a whole MC in one line (`create_app(Settings(data_dir=tmp))`) and
can reach the parts through `app.state.conductor`. The receipt loop runs in
the app's lifespan; everything else is ready as soon as the app is built.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conductor import SERVICE, __version__, admin, auth, evidence_api, graphql_api, packs
from conductor import mutations as mut
from conductor.db import Database
from conductor.evidence_store import EvidenceStore
from conductor.metrics import Metrics
from conductor.mutations import Mutations
from conductor.openapi import admin_document, document
from conductor.receipts import ReceiptDispatcher
from conductor.settings import Settings
from seam import bundle, keys, problem
from seam.tokens import TokenIssuer

log = logging.getLogger("conductor")


@dataclass
class Conductor:
    """The parts of one MC instance (what `app.state.conductor` holds)."""

    settings: Settings
    signing_key: Ed25519PrivateKey
    db: Database
    metrics: Metrics
    mutations: Mutations
    clients: auth.ClientRegistry
    issuer: TokenIssuer
    auth: auth.Authenticator
    packs: packs.PackStore
    store: EvidenceStore
    dispatcher: ReceiptDispatcher
    evidence: evidence_api.EvidenceService


def build(
    settings: Settings,
    *,
    signing_key: Ed25519PrivateKey | None = None,
    receipt_transport: httpx.AsyncBaseTransport | None = None,
) -> Conductor:
    key = signing_key or keys.load_or_create(settings.key_path)
    db = Database(settings.db_path)
    metrics = Metrics()
    for hook in settings.test_hooks:
        metrics.test_hooks_active.labels(hook).set(1)
    mutations = Mutations(settings.mutations)
    issuer = TokenIssuer(key, settings.issuer, settings.audience, settings.token_ttl_s)
    pack_store = packs.PackStore(
        db, key, settings.pack_name, settings.pack_revision, bundle.read_dir(settings.policy_dir)
    )
    store = EvidenceStore(db)
    if mutations.on(mut.EVIDENCE_STORED_TWICE):
        mut.store_twice(store, db)
    if settings.callback_url:
        # The flag is the dev client's callback from this start on (the admin API may change it later).
        store.set_callback(settings.client_id, settings.callback_url, None)
    dispatcher = ReceiptDispatcher(store, key, settings, metrics, transport=receipt_transport)
    metrics.receipts_pending.set_function(store.count_pending_receipts)
    return Conductor(
        settings=settings,
        signing_key=key,
        db=db,
        metrics=metrics,
        mutations=mutations,
        clients=auth.ClientRegistry.from_settings(settings),
        issuer=issuer,
        auth=auth.Authenticator(issuer, settings.admin_token, mutations),
        packs=pack_store,
        store=store,
        dispatcher=dispatcher,
        evidence=evidence_api.EvidenceService(
            store, dispatcher, metrics, mutations, delay_ms=settings.test_evidence_delay_ms
        ),
    )


def ops_routes(mc: Conductor) -> list[Route]:
    """Health, readiness, metrics, OpenAPI and the published signing key (all unauthenticated)."""
    public_key = mc.signing_key.public_key()
    pem = keys.public_pem(public_key)
    kid = keys.key_id(public_key)

    async def healthz(request: Request) -> Response:
        body = {"status": "ok", "service": SERVICE, "version": __version__}
        if mc.settings.test_hooks:  # only ever on a loopback test run
            body["test_hooks"] = list(mc.settings.test_hooks)
        return JSONResponse(body)

    async def readyz(request: Request) -> Response:
        current = mc.packs.current(mc.settings.pack_name)
        if not mc.db.ping() or current is None:
            return problem.response(503, "not_ready", "storage or seed pack unavailable")
        storage_problem = await asyncio.to_thread(mc.db.write_problem)
        if storage_problem is not None:
            return problem.response(
                503, "not_ready", f"the store cannot write ({storage_problem})", storage=storage_problem
            )
        return JSONResponse({"status": "ready", "pack": current.pack, "revision": current.revision})

    async def metrics(request: Request) -> Response:
        body, content_type = mc.metrics.render()
        return Response(body, headers={"Content-Type": content_type})

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(request.app.state.openapi)

    async def signing_pem(request: Request) -> Response:
        return Response(pem, media_type="application/x-pem-file", headers={"X-Key-Id": kid})

    async def key_set(request: Request) -> Response:
        return JSONResponse({"keys": [{"kid": kid, "alg": "Ed25519", "public_key_pem": pem}]})

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/v1/keys/signing.pem", signing_pem, methods=["GET"]),
        Route("/v1/keys", key_set, methods=["GET"]),
    ]


def create_app(
    settings: Settings | None = None,
    *,
    signing_key: Ed25519PrivateKey | None = None,
    receipt_transport: httpx.AsyncBaseTransport | None = None,
    attestation_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    settings = settings or Settings()
    mc = build(settings, signing_key=signing_key, receipt_transport=receipt_transport)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await mc.dispatcher.start()
        try:
            yield
        finally:
            await mc.dispatcher.stop()
            mc.store.close()
            mc.db.close()

    routes = [
        *ops_routes(mc),
        *auth.routes(mc.clients, mc.issuer, mc.metrics, mc.mutations),
        *packs.routes(mc.packs, mc.auth, mc.metrics, mc.mutations),
        *evidence_api.routes(mc.evidence, mc.auth, mc.mutations),
        *graphql_api.routes(mc.evidence, mc.auth, mc.mutations, introspection=settings.graphql_introspection),
    ]
    middleware = [Middleware(mut.ProblemAsJsonMiddleware)] if mc.mutations.on(mut.PROBLEM_AS_JSON) else []
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=problem.EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.conductor = mc
    app.state.openapi = document(routes)
    app.state.admin_app = create_admin_app(mc, middleware, attestation_transport)
    return app


def create_admin_app(
    mc: Conductor,
    middleware: list[Middleware],
    attestation_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The admin API as its own app, for its own listener (loopback by default).

    Why apart: the admin token can publish packs, mint tokens and wipe the store, so the
    admin API is not on the public port at all; whoever can reach the admin listener's
    address is the operator (docs/conductor.md "Two listeners"). It shares `mc` with the
    public app; the public app's lifespan runs the receipt loop for both.
    """
    routes = [
        *admin.routes(
            auth=mc.auth,
            settings=mc.settings,
            clients=mc.clients,
            issuer=mc.issuer,
            packs=mc.packs,
            store=mc.store,
            dispatcher=mc.dispatcher,
            metrics=mc.metrics,
            mutations=mc.mutations,
            attestation_transport=attestation_transport,
        ),
    ]

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(request.app.state.openapi)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": SERVICE, "version": __version__})

    routes += [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=problem.EXCEPTION_HANDLERS)
    app.state.conductor = mc
    app.state.openapi = admin_document(routes)
    return app
