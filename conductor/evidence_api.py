"""Evidence intake: the publish rules shared by REST and GraphQL, and the REST routes.

Why one `EvidenceService`: REST and GraphQL must apply the same idempotency
rules to the same ledger, so a REST and a GraphQL publish of the same evidence
under one key are a replay. The body identity used for that is the SHA-256 of
the canonical JSON of the evidence document (REST field names, sorted keys,
no whitespace) — not of the raw request bytes, which differ between the APIs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conductor import mutations as mut
from conductor.auth import Authenticator
from conductor.db import utc_now
from conductor.evidence_store import EvidenceRecord, EvidenceStore
from conductor.metrics import Metrics
from conductor.mutations import Mutations
from conductor.receipts import ReceiptDispatcher
from seam import digest, evidence, problem
from seam.idempotency import Fresh, InFlight, Mismatch, Replay
from seam.problem import Problem

SCOPE = "evidence:write"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def canonical_digest(doc: dict[str, Any]) -> str:
    """SHA-256 hex of `json.dumps(doc, sort_keys=True, separators=(",", ":"))`."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_key(key: str | None) -> str:
    if key is None or key == "":
        raise Problem(400, "missing_idempotency_key", "the Idempotency-Key header is required")
    if not _KEY.fullmatch(key):
        raise Problem(
            400, "invalid_idempotency_key", "Idempotency-Key must be 1-255 visible ASCII characters"
        )
    return key


@dataclass(frozen=True)
class PublishResult:
    outcome: Literal["created", "replayed", "mismatch", "in_flight"]
    status: int
    body: dict[str, Any]


class EvidenceService:
    def __init__(
        self,
        store: EvidenceStore,
        dispatcher: ReceiptDispatcher,
        metrics: Metrics,
        mutations: Mutations,
        delay_ms: int = 0,
    ) -> None:
        self.store = store
        self._dispatcher = dispatcher
        self._metrics = metrics
        self._mutations = mutations
        self._delay_s = delay_ms / 1000
        store.observe_commits(metrics.evidence_commits)

    async def publish(self, doc: dict[str, Any], key: str, client_id: str, api: str) -> PublishResult:
        """Apply the seam's idempotency rules to an already validated evidence document."""
        body_digest = canonical_digest(doc)
        # No commit and no await before the write: the key is claimed in memory (atomically on the
        # event loop) and a completed key is read from the ledger (conductor/evidence_store.py).
        outcome = self.store.begin(client_id, key, body_digest)
        if isinstance(outcome, Replay):
            await asyncio.to_thread(self.store.note_replay, client_id, key)
            self._metrics.evidence_replayed.labels(api=api).inc()
            body = dict(outcome.body)
            if self._mutations.on(mut.REPLAY_NEW_ID):
                body["evidence_id"] = new_id()
            return PublishResult("replayed", outcome.status, body)
        if isinstance(outcome, Mismatch):
            return PublishResult("mismatch", 422, {})
        if isinstance(outcome, InFlight):
            return PublishResult("in_flight", 409, {})
        assert isinstance(outcome, Fresh)
        try:
            if self._delay_s:
                await asyncio.sleep(self._delay_s)  # test-only: hold the key in flight
            record = EvidenceRecord(
                evidence_id=new_id(),
                idempotency_key=key,
                client_id=client_id,
                digest=body_digest,
                received_at=utc_now(),
                api=api,
                document=doc,
            )
            response = {
                "evidence_id": record.evidence_id,
                "idempotency_key": key,
                "status": "stored",
                "received_at": record.received_at,
                "digest": body_digest,
            }
            receipt = {
                "evidence_id": record.evidence_id,
                "idempotency_key": key,
                "digest": body_digest,
                "stored_at": record.received_at,
                "client_id": client_id,
            }
            receipt_body = json.dumps(receipt, sort_keys=True, separators=(",", ":")).encode("utf-8")
        except BaseException:
            self.store.abandon(client_id, key)
            raise
        # The one group commit of this publish (record + ledger entry + receipt); it releases the
        # claim once settled, so a cancelled request cannot free the key while its write may commit.
        await self.store.store_async(record, 201, response, receipt_body)
        self._metrics.evidence_stored.labels(api=api).inc()
        self._dispatcher.kick(record.evidence_id)
        return PublishResult("created", 201, response)


def new_id() -> str:
    return f"ev_{uuid.uuid4().hex}"


def routes(service: EvidenceService, auth: Authenticator, mutations: Mutations) -> list[Route]:
    def rest_body(body: dict[str, Any]) -> dict[str, Any]:
        if mutations.on(mut.EVIDENCE_FIELD_RENAMED) and "evidence_id" in body:
            body = {("evidenceId" if k == "evidence_id" else k): v for k, v in body.items()}
        return body

    async def post_evidence(request: Request) -> Response:
        claims = auth.require(request, SCOPE)
        problem.require_json(request)
        key = check_key(request.headers.get("idempotency-key"))
        raw = await problem.read_body(request, evidence.MAX_BODY_BYTES)
        header = request.headers.get("content-digest")
        if not header:
            raise Problem(400, "missing_content_digest", "the Content-Digest header is required")
        if not mutations.on(mut.DIGEST_MISMATCH_ACCEPTED):
            try:
                digest.verify_content_digest(header, raw)
            except digest.DigestError as exc:
                raise Problem(400, "content_digest_mismatch", str(exc)) from exc
        doc = evidence.validate(problem.parse_json_object(raw))
        result = await service.publish(doc, key, claims.subject, "rest")
        if result.outcome == "mismatch":
            status = 409 if mutations.on(mut.MISMATCH_409) else 422
            raise Problem(
                status,
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different body",
            )
        if result.outcome == "in_flight":
            raise Problem(
                409, "idempotency_key_in_flight", "a request with this Idempotency-Key is still in flight"
            )
        evidence_id = result.body.get("evidence_id", "")
        headers = {"Location": f"/v1/evidence/{evidence_id}"}
        status = result.status
        if result.outcome == "replayed":
            if not mutations.on(mut.REPLAY_HEADER_DROPPED):
                headers["Idempotent-Replayed"] = "true"
        elif mutations.on(mut.EVIDENCE_202):
            status = 202
        return JSONResponse(rest_body(result.body), status_code=status, headers=headers)

    async def get_evidence(request: Request) -> Response:
        claims = auth.require(request, SCOPE)
        evidence_id = request.path_params["evidence_id"]
        record = await asyncio.to_thread(service.store.get, evidence_id)
        if record is None or record.client_id != claims.subject:
            raise Problem(404, "unknown_evidence", f"no evidence {evidence_id!r}")
        return JSONResponse(rest_body(record.to_json()))

    return [
        Route("/v1/evidence", post_evidence, methods=["POST"]),
        Route("/v1/evidence/{evidence_id}", get_evidence, methods=["GET"]),
    ]
