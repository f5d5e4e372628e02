"""MC's signed evidence receipts: verify, then mark outbox entries acknowledged.

The signature (seam/receipts.py: Ed25519 over "<timestamp>.<body>", skew ≤
300 s) is checked against the pinned MC key *before* the body is even
parsed, so a forged or stale receipt changes nothing and gets 401
`bad_signature`. Receipts are matched by idempotency key — the one
identifier COS and MC share from the first send.

Two forms share the endpoint (docs/seam.md, "Batched receipts"): one receipt
(the original form), or `{"receipts": [...]}` signed as a whole. A batch is
all or nothing: every item is validated and every key looked up before any is
applied, and the first bad item is named in the problem (`field:
receipts[i]…`). Why not per-item results: the signature already makes the
batch one unit, MC falls back to single receipts when a batch is refused, so
the good items still arrive and the bad one keeps its own retry budget
(docs/decisions.md).
"""

from __future__ import annotations

import logging
from typing import Any

from companyos.api.models import MAX_RECEIPTS_PER_BATCH, Receipt
from companyos.outbox import Entry, Outbox
from companyos.trust import KeyPin
from seam import receipts
from seam.models.validation import parse
from seam.problem import Problem

log = logging.getLogger("companyos.receipts")

MAX_RECEIPT_BYTES = 64 * 1024  # a full batch; MC keeps its batches well below (conductor/receipts.py)
BATCH_MEMBER = "receipts"


def verify_signature(headers: Any, body: bytes, pin: KeyPin, unchecked: bool = False) -> None:
    if unchecked:
        return  # test-only mutation cos.receipt-signature-unchecked
    if pin.key is None:
        raise Problem(401, "bad_signature", "no MC key is pinned yet, so no receipt can be verified")
    try:
        receipts.verify(headers, body, pin.key)
    except receipts.ReceiptSignatureError as exc:
        raise Problem(401, "bad_signature", str(exc)) from None


def is_batch(doc: dict[str, Any]) -> bool:
    """A body with a `receipts` member is the batch form; anything else is one receipt."""
    return BATCH_MEMBER in doc


def apply(receipt: dict[str, Any], outbox: Outbox) -> Entry:
    parsed = parse(Receipt, receipt, reason="invalid_receipt")
    entry = outbox.acknowledge(parsed.idempotency_key, parsed.evidence_id)
    if entry is None:
        raise Problem(404, "unknown_evidence", "no outbox entry has this idempotency key")
    return entry


def parse_batch(doc: dict[str, Any]) -> list[Receipt]:
    """Every item of a batch as a Receipt, or a 422 naming the first bad one."""
    unknown = sorted(set(doc) - {BATCH_MEMBER})
    if unknown:
        raise Problem(422, "invalid_receipt", f"{unknown[0]}: unknown field", field=unknown[0])
    items = doc[BATCH_MEMBER]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_RECEIPTS_PER_BATCH:
        raise Problem(
            422,
            "invalid_receipt",
            f"receipts: a list of 1 to {MAX_RECEIPTS_PER_BATCH} receipts",
            field=BATCH_MEMBER,
        )
    parsed: list[Receipt] = []
    for i, item in enumerate(items):
        try:
            parsed.append(parse(Receipt, item, reason="invalid_receipt"))
        except Problem as exc:
            inner = exc.extra.get("field", "body")
            field = f"receipts[{i}]" if inner == "body" else f"receipts[{i}].{inner}"
            raise Problem(422, "invalid_receipt", f"receipts[{i}]: {exc.detail}", field=field) from None
    return parsed


def apply_batch(doc: dict[str, Any], outbox: Outbox) -> list[Entry]:
    """Acknowledge every receipt of a (verified) batch in one write, or none of them."""
    parsed = parse_batch(doc)
    try:
        return outbox.acknowledge_many([(r.idempotency_key, r.evidence_id) for r in parsed])
    except KeyError as exc:
        key = exc.args[0]
        index = next(i for i, r in enumerate(parsed) if r.idempotency_key == key)
        raise Problem(
            404,
            "unknown_evidence",
            f"receipts[{index}]: no outbox entry has the idempotency key {key!r}; nothing was acknowledged",
            field=f"receipts[{index}].idempotency_key",
        ) from None
