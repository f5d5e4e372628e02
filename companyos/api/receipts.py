"""`POST /v1/callbacks/evidence-receipts`: MC's signed receipt marks an outbox entry acknowledged.

The signature is checked over the raw bytes before the body is parsed (companyos/receipts.py),
so a forged or stale receipt changes nothing.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from companyos import mutations
from companyos import receipts as receipt_handling
from companyos.api.context import services
from companyos.api.models import Receipt
from seam.openapi import Op, Param, Resp, problem
from seam.problem import Problem, parse_json_object, read_body, require_json

log = logging.getLogger("companyos.api.receipts")


async def evidence_receipt(request: Request) -> Response:
    """MC's signed receipt for stored evidence: marks the outbox entry acknowledged."""
    cos = services(request)
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


ROUTES = [
    Route("/v1/callbacks/evidence-receipts", evidence_receipt, methods=["POST"], name="evidence_receipt")
]
OPERATIONS = [
    Op(
        "POST",
        "/v1/callbacks/evidence-receipts",
        "evidence_receipt",
        "MC's signed receipt for stored evidence: marks the outbox entry acknowledged",
        request=Receipt,
        params=(
            Param("X-MC-Timestamp", "header", {"type": "string", "pattern": "^[0-9]{1,12}$"}, True),
            Param(
                "X-MC-Signature",
                "header",
                {"type": "string"},
                True,
                "keyid=<kid>,alg=ed25519,sig=<base64> over '<timestamp>.<body>'",
            ),
        ),
        responses={
            204: Resp("acknowledged"),
            401: problem(401, "bad_signature"),
            404: problem(404, "unknown_evidence"),
            422: problem(422, "invalid_receipt"),
        },
        problems=(400, 408, 413, 415, 503),
        tags=("evidence",),
    )
]
