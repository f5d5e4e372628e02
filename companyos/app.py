"""The COS app factory: the resource modules' routes, the OpenAPI document, the lifecycle.

`create_app(settings)` builds everything from the settings passed in (no
globals), so a test can run a complete COS in one line. Work that must
happen on the serving thread — building regorus engines, which are
unsendable — and work that needs the event loop — the fetcher and publisher
tasks — happens in the lifespan, not in the factory.

The handlers live one module per resource under companyos/api/ (login, decisions,
attestation, evidence, receipts, ops), each with its routes and their OpenAPI operations;
every error is problem+json (seam/problem.py); nothing echoes a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool

from companyos import __version__, health, mutations
from companyos.api import attestation, decisions, evidence, login, ops, receipts
from companyos.api.context import Services, canonical_digest
from companyos.auth import Authenticator
from companyos.credentials import TokenCache
from companyos.key_watch import KeyWatch
from companyos.mc_client import ConductorClient
from companyos.metrics import Metrics
from companyos.outbox import Outbox
from companyos.policy_engine import ActivePolicy, load
from companyos.policy_fetcher import PolicyFetcher
from companyos.policy_store import PolicyStore, build_local_pack
from companyos.publisher import EvidencePublisher
from companyos.settings import Settings
from companyos.trust import KeyPin
from companyos.users import UserStore
from seam import openapi
from seam.problem import EXCEPTION_HANDLERS

__all__ = ["ROUTES", "OPERATIONS", "Services", "canonical_digest", "create_app", "openapi_document"]

log = logging.getLogger("companyos.app")

_RESOURCES = (login, decisions, attestation, evidence, receipts, ops)
ROUTES = [route for module in _RESOURCES for route in module.ROUTES]
OPERATIONS = [op for module in _RESOURCES for op in module.OPERATIONS]
SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT (EdDSA)",
        "description": "a token from POST /v1/login",
    }
}


def openapi_document() -> dict[str, Any]:
    """COS's OpenAPI 3.1 document: the route table's operations and their models."""
    openapi.check_routes(ROUTES, OPERATIONS)
    return openapi.document(
        title="CompanyOS (COS)",
        version=__version__,
        description="Decisions, attestation and the evidence outbox of one COS (docs/seam.md).",
        operations=OPERATIONS,
        security_schemes=SECURITY_SCHEMES,
    )


# -- lifecycle ------------------------------------------------------------------------------
def initial_policy(cos: Services) -> ActivePolicy:
    """Integrated: the verified LKG if there is one, else the local pack. Standalone: local."""
    s = cos.settings
    if s.integrated:
        lkg = cos.store.load_lkg(cos.pin.key)
        if lkg is not None:
            try:
                policy = load(
                    lkg.pack_bytes,
                    source="mc",
                    signature_verified=True,
                    expected_name=s.pack,
                    loaded_at=float(lkg.meta.get("loaded_at") or 0) or None,
                )
                log.info(
                    "enforcing last-known-good pack %s revision %s from MC", policy.pack, policy.revision
                )
                return policy
            except ValueError as exc:
                log.warning("ignoring last-known-good pack that no longer loads: %s", exc)
    policy = load(build_local_pack(s.local_pack_dir, s.pack), source="local", signature_verified=False)
    log.info("enforcing local pack %s revision %s (%s…)", policy.pack, policy.revision, policy.digest[:12])
    return policy


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    cos: Services = app.state.cos
    s = cos.settings
    cos.outbox = await run_in_threadpool(Outbox, s.data_dir, on_commit=cos.metrics.outbox_commits)
    policy = initial_policy(cos)
    previous = cos.holder.swap(policy)
    if previous is not None:
        previous.release()
    cos.metrics.set_active(policy.pack, policy.revision, policy.digest, policy.source, policy.loaded_at)
    cos.status.reload(
        "initial", pack=policy.pack, revision=policy.revision, digest=policy.digest, source=policy.source
    )
    if s.integrated:
        cos.client = ConductorClient(s.mc_url, s.client_id, s.client_secret, timeout=s.mc_timeout_s)
        cos.tokens = TokenCache(cos.client)
        cos.key_watch = KeyWatch(cos.client, cos.pin, cos.status)
        cos.fetcher = PolicyFetcher(
            s.pack,
            cos.client,
            cos.tokens,
            cos.pin,
            cos.store,
            cos.holder,
            cos.metrics,
            cos.status,
            poll_interval_s=s.poll_interval_s,
            backoff_cap_s=s.backoff_cap_s,
            mutations=cos.mutations,
            key_watch=cos.key_watch,
        )
        cos.publisher = EvidencePublisher(
            cos.client,
            cos.tokens,
            cos.outbox,
            cos.metrics,
            cos.status,
            backoff_cap_s=s.backoff_cap_s,
            concurrency=s.publish_concurrency,
            mutations=cos.mutations,
        )
        cos.tasks = [
            asyncio.create_task(cos.fetcher.run(), name="policy-fetcher"),
            asyncio.create_task(cos.publisher.run(), name="evidence-publisher"),
        ]
        log.info(
            "integrated with MC at %s as client %r (poll every %.2fs)",
            s.mc_url,
            s.client_id,
            s.poll_interval_s,
        )
    else:
        log.info("standalone: evidence is kept in the outbox and never published")
    try:
        yield
    finally:
        for task in cos.tasks:
            task.cancel()
        for task in cos.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        cos.tasks = []
        if cos.client is not None:
            await cos.client.aclose()
        if cos.outbox is not None:
            cos.outbox.close()
            cos.outbox = None
        cos.holder.clear()  # drop the engine on this thread (regorus engines are unsendable)


def create_app(settings: Settings) -> Starlette:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    muts = mutations.Mutations(settings.seam_mutations)
    muts.warn_if_any()
    cos = Services(
        settings=settings,
        mutations=muts,
        metrics=Metrics(),
        status=health.RuntimeStatus(
            mode=settings.mode,
            hide_degraded=muts.active(mutations.DEGRADED_NOT_REPORTED),
            test_hooks=settings.test_hooks,
        ),
        users=UserStore.load(settings.users_path),
        auth=Authenticator(settings.data_dir, settings.token_lifetime_s),
        pin=KeyPin(settings.data_dir, settings.mc_public_key),
        store=PolicyStore(settings.data_dir),
    )
    for hook in settings.test_hooks:
        cos.metrics.test_hooks_active.labels(hook).set(1)
    app = Starlette(routes=ROUTES, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)  # type: ignore[arg-type]
    app.state.cos = cos
    app.state.openapi = openapi_document()
    return app
