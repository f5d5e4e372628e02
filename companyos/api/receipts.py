"""`POST /v1/callbacks/evidence-receipts`: MC's signed receipt(s) mark outbox entries acknowledged.

The signature is checked over the raw bytes before the body is parsed (companyos/receipts.py),
so a forged or stale receipt changes nothing. The body is one receipt or a batch
`{"receipts": [...]}` signed as a whole (docs/seam.md, "Batched receipts").
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from companyos import mutations
from companyos import receipts as receipt_handling
from companyos.api.context import Services, services
from companyos.api.models import ReceiptCallback
from companyos.outbox import Entry
from seam.openapi import Op, Param, Resp, problem
from seam.problem import Problem, parse_json_object, read_body, require_json

log = logging.getLogger("companyos.api.receipts")


async def evidence_receipt(request: Request) -> Response:
    """MC's signed receipt(s) for stored evidence: marks the outbox entries acknowledged."""
    cos = services(request)
    require_json(request)
    body = await read_body(request, receipt_handling.MAX_RECEIPT_BYTES)
    unchecked = cos.mutations.active(mutations.RECEIPT_SIGNATURE_UNCHECKED)
    if cos.mutations.active(mutations.RECEIPT_APPLIED_BEFORE_VERIFY):  # test-only: the order matters
        await run_in_threadpool(_apply, parse_json_object(body), cos)
    try:
        receipt_handling.verify_signature(request.headers, body, cos.pin, unchecked=unchecked)
    except Problem:
        cos.metrics.evidence_receipts.labels("bad_signature").inc()
        if cos.key_watch is not None:
            cos.key_watch.suspect()  # a forgery, or MC changed its key: the next poll asks MC
        raise
    doc = parse_json_object(body)
    if cos.mutations.active(mutations.RECEIPT_IGNORED):  # test-only: 204, but nothing recorded
        return Response(status_code=204)
    entries = await run_in_threadpool(_apply, doc, cos)
    cos.metrics.evidence_receipts.labels("acknowledged").inc(len(entries))
    cos.metrics.receipt_callbacks.labels("batch" if len(entries) > 1 else "single").inc()
    log.debug("receipts acknowledged: %d", len(entries))
    return Response(status_code=204)


def _apply(doc: dict, cos: Services) -> list[Entry]:
    """One receipt or a batch, as the body says; a batch is refused as a whole (test-only
    mutation `cos.receipt-batch-refused`: as a COS before batches, 422 for any batch)."""
    outbox = cos.require_outbox()
    if not receipt_handling.is_batch(doc):
        return [receipt_handling.apply(doc, outbox)]
    if cos.mutations.active(mutations.RECEIPT_BATCH_REFUSED):
        return [receipt_handling.apply(doc, outbox)]
    return receipt_handling.apply_batch(doc, outbox)


ROUTES = [
    Route("/v1/callbacks/evidence-receipts", evidence_receipt, methods=["POST"], name="evidence_receipt")
]
OPERATIONS = [
    Op(
        "POST",
        "/v1/callbacks/evidence-receipts",
        "evidence_receipt",
        "MC's signed receipt for stored evidence, or a batch of them signed as a whole: marks the"
        " outbox entries acknowledged (a batch all or nothing)",
        request=ReceiptCallback,
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
            404: problem(404, "unknown_evidence (a batch: `field` names the item; nothing applied)"),
            422: problem(422, "invalid_receipt (a batch: `field` names the item; nothing applied)"),
        },
        problems=(400, 408, 413, 415, 503),
        tags=("evidence",),
    )
]
