"""The COS HTTP app: routes wired to the modules that do the work.

`create_app(settings)` builds everything from the settings passed in (no
globals), so a test can run a complete COS in one line. Work that must
happen on the serving thread — building regorus engines, which are
unsendable — and work that needs the event loop — the fetcher and publisher
tasks — happens in the lifespan, not in the factory.

Handlers stay thin: authenticate, parse, call one module, shape the answer.
Every error is problem+json (seam/problem.py); nothing echoes a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from companyos import health, mutations, openapi
from companyos import receipts as receipt_handling
from companyos.auth import REALM, Authenticator
from companyos.credentials import TokenCache
from companyos.key_watch import KeyWatch
from companyos.mc_client import ConductorClient
from companyos.metrics import CONTENT_TYPE, Metrics
from companyos.outbox import Outbox
from companyos.policy_engine import ActivePolicy, PolicyHolder, load
from companyos.policy_fetcher import PolicyFetcher
from companyos.policy_store import PolicyStore, build_local_pack
from companyos.publisher import EvidencePublisher
from companyos.settings import Settings
from companyos.trust import KeyPin
from companyos.users import UserStore
from seam import digest, evidence, idempotency
from seam.problem import EXCEPTION_HANDLERS, Problem, parse_json_object, read_body, require_json

log = logging.getLogger("companyos.app")

MAX_REQUEST_BYTES = 64 * 1024
_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")
JSON = "application/json"


@dataclass
class Services:
    """Everything the handlers and tasks share, built once per app."""

    settings: Settings
    mutations: mutations.Mutations
    metrics: Metrics
    status: health.RuntimeStatus
    users: UserStore
    auth: Authenticator
    pin: KeyPin
    store: PolicyStore
    holder: PolicyHolder = field(default_factory=PolicyHolder)
    outbox: Outbox | None = None
    client: ConductorClient | None = None
    tokens: TokenCache | None = None
    fetcher: PolicyFetcher | None = None
    key_watch: KeyWatch | None = None
    publisher: EvidencePublisher | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)

    @property
    def latency_s(self) -> float:
        return self.settings.test_latency_ms / 1000.0

    async def test_latency(self) -> None:
        if self.settings.test_latency_ms > 0:
            await asyncio.sleep(self.latency_s)

    def require_outbox(self) -> Outbox:
        if self.outbox is None:
            raise Problem(503, "storage_unavailable", "the evidence outbox is not open")
        return self.outbox

    def require_policy(self) -> ActivePolicy:
        policy = self.holder.current
        if policy is None:
            raise Problem(503, "no_policy", "no policy pack is loaded yet")
        return policy


def canonical_digest(doc: dict[str, Any]) -> str:
    """The body identity for idempotency, as MC computes it: SHA-256 of sorted, compact JSON.

    Whitespace or key order in a retry must not turn it into a 422 mismatch.
    """
    return digest.sha256_hex(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def _cos(request: Request) -> Services:
    return request.app.state.cos


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")), status_code=status, media_type=JSON, headers=headers
    )


# -- login ----------------------------------------------------------------------------------
async def login(request: Request) -> Response:
    """Exchange a local username and password for a short-lived bearer token."""
    cos = _cos(request)
    require_json(request)
    doc = parse_json_object(await read_body(request, MAX_REQUEST_BYTES))
    username, password = doc.get("username"), doc.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise Problem(400, "invalid_request", "username and password are required strings")
    user = await run_in_threadpool(cos.users.authenticate, username, password)
    if user is None:
        log.info("failed login for user %r", username[:64])
        headers = (
            {} if cos.mutations.active(mutations.LOGIN_NO_WWW_AUTHENTICATE) else {"WWW-Authenticate": REALM}
        )
        raise Problem(401, "invalid_credentials", "unknown user or wrong password", headers=headers)
    ttl = doc.get("ttl_s")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1):
        raise Problem(400, "invalid_request", "ttl_s must be a positive integer", field="ttl_s")
    token, lifetime = cos.auth.issue(user.username, user.roles, ttl)
    return _json(
        {"access_token": token, "token_type": "Bearer", "expires_in": lifetime},
        headers={"Cache-Control": "no-store"},
    )


# -- decisions ------------------------------------------------------------------------------
def _decision_input(doc: dict[str, Any]) -> dict[str, Any]:
    subject = doc.get("subject")
    if not isinstance(subject, dict):
        raise Problem(422, "invalid_request", "subject: required object {user, roles}", field="subject")
    user = subject.get("user")
    if not isinstance(user, str) or not user:
        raise Problem(422, "invalid_request", "subject.user: required string", field="subject.user")
    roles = subject.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Problem(422, "invalid_request", "subject.roles: list of strings", field="subject.roles")
    action = doc.get("action")
    if not isinstance(action, str) or not action:
        raise Problem(422, "invalid_request", "action: required string", field="action")
    return {
        "subject": {**subject, "user": user, "roles": roles},
        "action": action,
        "resource": doc.get("resource"),
    }


async def authorize(request: Request) -> Response:
    """Decide whether subject may perform action on resource, with the active pack."""
    cos = _cos(request)
    cos.auth.require(request)
    await cos.test_latency()
    require_json(request)
    doc = parse_json_object(await read_body(request, MAX_REQUEST_BYTES))
    policy = cos.require_policy()  # read once: decision and reported pack are the same object
    decision = policy.decide(_decision_input(doc))
    field_name = "allowed" if cos.mutations.active(mutations.AUTHORIZE_FIELD_RENAMED) else "allow"
    cos.metrics.authorize_decisions.labels("true" if decision.allow else "false").inc()
    body = {field_name: decision.allow, "reasons": decision.reasons, "policy": policy.policy_ref()}
    return _json(cos.mutations.decision(body) if cos.mutations.names else body)


# -- attestation ----------------------------------------------------------------------------
async def attestation(request: Request) -> Response:
    """Which policy pack COS enforces right now (name, revision, digest, source)."""
    cos = _cos(request)
    await cos.test_latency()
    policy = cos.require_policy()
    etag = policy.etag
    if cos.mutations.active(mutations.ATTESTATION_ETAG_WEAK):
        etag = "W/" + etag
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if not cos.mutations.active(mutations.ATTESTATION_NO_304) and digest.if_none_match_hits(
        request.headers.get("if-none-match"), etag
    ):
        return Response(status_code=304, headers=headers)
    body = policy.attestation_body
    if cos.mutations.names:
        body = cos.mutations.attestation_body(policy.describe()) or body
    wrong_digest = cos.mutations.active(mutations.ATTESTATION_CONTENT_DIGEST_WRONG)
    headers["Content-Digest"] = digest.content_digest(body + b"other" if wrong_digest else body)
    return Response(body, media_type=JSON, headers=headers)


# -- evidence -------------------------------------------------------------------------------
async def submit_evidence(request: Request) -> Response:
    """Accept evidence into the durable outbox (202); published to MC in integrated mode."""
    cos = _cos(request)
    cos.auth.require(request)
    outbox = cos.require_outbox()
    require_json(request)
    key = request.headers.get("idempotency-key")
    if key is None or not key.strip():
        raise Problem(400, "missing_idempotency_key", "Idempotency-Key header is required")
    if not _KEY_RE.fullmatch(key):
        raise Problem(
            400, "invalid_idempotency_key", "Idempotency-Key must be 1-255 visible ASCII characters"
        )
    body = await read_body(request, evidence.MAX_BODY_BYTES)
    header = request.headers.get("content-digest")
    if header is not None:
        try:
            digest.verify_content_digest(header, body)
        except digest.DigestError as exc:
            raise Problem(400, "content_digest_mismatch", str(exc)) from None
    doc = evidence.validate(parse_json_object(body))
    body_digest = canonical_digest(doc)
    outcome = await run_in_threadpool(outbox.begin, key, body_digest)
    if isinstance(outcome, idempotency.Mismatch):
        raise Problem(422, "idempotency_key_reused", "this Idempotency-Key was used with a different body")
    if isinstance(outcome, idempotency.InFlight):
        raise Problem(409, "idempotency_key_in_flight", "a request with this Idempotency-Key is in progress")
    if isinstance(outcome, idempotency.Replay):
        return _json(
            outcome.body,
            status=outcome.status,
            headers={
                "Idempotent-Replayed": "true",
                "Location": f"/v1/evidence/{outcome.body.get('evidence_id')}",
            },
        )
    status = 201 if cos.mutations.active(mutations.EVIDENCE_201) else 202
    try:
        await cos.test_latency()
        accept = (
            outbox.accept_later
            if cos.mutations.active(mutations.OUTBOX_ACK_BEFORE_DURABLE)
            else outbox.accept
        )
        response = await run_in_threadpool(accept, key, body, body_digest, status)
    except BaseException:
        with contextlib.suppress(Exception):
            await run_in_threadpool(outbox.abandon, key)
        raise
    cos.metrics.evidence_accepted.inc()
    if cos.publisher is not None:
        cos.publisher.notify()
    return _json(response, status=status, headers={"Location": f"/v1/evidence/{response['evidence_id']}"})


MAX_PAGE = 10_000
_MAX_OFFSET = 2**62  # SQLite integers are 64-bit; anything near that is no real page


def _paging(request: Request, name: str, default: int) -> int:
    """A non-negative integer query parameter (ASCII digits only), else a 400 naming it."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > _MAX_OFFSET:
        raise Problem(
            400, "invalid_request", f"{name} must be an integer from 0 to {_MAX_OFFSET}", field=name
        )
    return int(raw)


async def list_evidence(request: Request) -> Response:
    """Outbox entries with their state (pending/published/acknowledged) and MC evidence id."""
    cos = _cos(request)
    cos.auth.require(request)
    outbox = cos.require_outbox()
    state = request.query_params.get("state")
    if state is not None and state not in ("pending", "published", "acknowledged"):
        raise Problem(
            400, "invalid_request", "state must be pending, published or acknowledged", field="state"
        )
    limit = min(_paging(request, "limit", 1000), MAX_PAGE)
    offset = _paging(request, "offset", 0)
    entries = await run_in_threadpool(outbox.entries, state, limit, offset)
    counts = await run_in_threadpool(outbox.counts)
    return _json({"items": [e.describe() for e in entries], "total": sum(counts.values()), "counts": counts})


async def get_evidence(request: Request) -> Response:
    """One outbox entry (by COS evidence id or idempotency key), with its document."""
    cos = _cos(request)
    cos.auth.require(request)
    entry = await run_in_threadpool(cos.require_outbox().get, request.path_params["evidence_id"])
    if entry is None:
        raise Problem(404, "unknown_evidence", "no such evidence in the outbox")
    return _json(entry.describe(with_document=True))


async def evidence_receipt(request: Request) -> Response:
    """MC's signed receipt for stored evidence: marks the outbox entry acknowledged."""
    cos = _cos(request)
    require_json(request)
    body = await read_body(request, receipt_handling.MAX_RECEIPT_BYTES)
    unchecked = cos.mutations.active(mutations.RECEIPT_SIGNATURE_UNCHECKED)
    if cos.mutations.active(mutations.RECEIPT_APPLIED_BEFORE_VERIFY):  # test-only: the order matters
        await run_in_threadpool(receipt_handling.apply, parse_json_object(body), cos.require_outbox())
    try:
        receipt_handling.verify_signature(request.headers, body, cos.pin, unchecked=unchecked)
    except Problem:
        cos.metrics.evidence_receipts.labels("bad_signature").inc()
        if cos.key_watch is not None:
            cos.key_watch.suspect()  # a forgery, or MC changed its key: the next poll asks MC
        raise
    receipt = parse_json_object(body)
    if cos.mutations.active(mutations.RECEIPT_IGNORED):  # test-only: 204, but nothing recorded
        return Response(status_code=204)
    entry = await run_in_threadpool(receipt_handling.apply, receipt, cos.require_outbox())
    cos.metrics.evidence_receipts.labels("acknowledged").inc()
    log.debug("receipt acknowledged %s (MC %s)", entry.evidence_id, entry.mc_evidence_id)
    return Response(status_code=204)


# -- operations -----------------------------------------------------------------------------
async def _outbox_depth(cos: Services) -> int | None:
    if cos.outbox is None:
        return None
    try:
        return await run_in_threadpool(cos.outbox.depth)
    except Exception:
        return None


async def healthz(request: Request) -> Response:
    """Liveness and state: ok|degraded, mode, pack, digest age, last reload, MC, outbox depth."""
    cos = _cos(request)
    depth = await _outbox_depth(cos)
    return _json(health.healthz(cos.status, cos.holder.current, depth, cos.settings.callback_url))


async def readyz(request: Request) -> Response:
    """Readiness: 200 once a pack is loaded and the outbox is open, else 503."""
    cos = _cos(request)
    storage_ok = cos.outbox is not None and await run_in_threadpool(cos.outbox.ping)
    ok, body = health.ready(cos.holder.current, storage_ok)
    if ok and cos.outbox is not None:
        storage_problem = await run_in_threadpool(cos.outbox.write_problem)
        if storage_problem is not None:  # open, but it cannot write (e.g. the volume is full)
            ok, body = False, {**body, "ready": False, "storage": storage_problem}
    return _json(body, status=200 if ok else 503)


async def metrics(request: Request) -> Response:
    """Prometheus metrics of this COS instance."""
    cos = _cos(request)
    depth = await _outbox_depth(cos)
    if depth is not None:
        cos.metrics.outbox_depth.set(depth)
    return Response(cos.metrics.render(), media_type=CONTENT_TYPE)


async def openapi_json(request: Request) -> Response:
    """This API's OpenAPI document, generated from the route table."""
    return JSONResponse(openapi.document(request.app.routes))


ROUTES = [
    Route("/v1/login", login, methods=["POST"], name="login"),
    Route("/v1/authorize", authorize, methods=["POST"], name="authorize"),
    Route("/v1/attestation", attestation, methods=["GET"], name="attestation"),
    Route("/v1/evidence", submit_evidence, methods=["POST"], name="submit_evidence"),
    Route("/v1/evidence", list_evidence, methods=["GET"], name="list_evidence"),
    Route("/v1/evidence/{evidence_id}", get_evidence, methods=["GET"], name="get_evidence"),
    Route("/v1/callbacks/evidence-receipts", evidence_receipt, methods=["POST"], name="evidence_receipt"),
    Route("/healthz", healthz, methods=["GET"], name="healthz"),
    Route("/readyz", readyz, methods=["GET"], name="readyz"),
    Route("/metrics", metrics, methods=["GET"], name="metrics"),
    Route("/openapi.json", openapi_json, methods=["GET"], name="openapi"),
]


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
    cos.outbox = await run_in_threadpool(Outbox, s.data_dir)
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
            mode=settings.mode, hide_degraded=muts.active(mutations.DEGRADED_NOT_REPORTED)
        ),
        users=UserStore.load(settings.users_path),
        auth=Authenticator(settings.data_dir, settings.token_lifetime_s),
        pin=KeyPin(settings.data_dir, settings.mc_public_key),
        store=PolicyStore(settings.data_dir),
    )
    app = Starlette(routes=ROUTES, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)  # type: ignore[arg-type]
    app.state.cos = cos
    return app
