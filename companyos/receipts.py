"""MC's signed evidence receipts: verify, then mark the outbox entry acknowledged.

The signature (seam/receipts.py: Ed25519 over "<timestamp>.<body>", skew ≤
300 s) is checked against the pinned MC key *before* the body is even
parsed, so a forged or stale receipt changes nothing and gets 401
`bad_signature`. Receipts are matched by idempotency key — the one
identifier COS and MC share from the first send.
"""

from __future__ import annotations

import logging
from typing import Any

from companyos.api.models import Receipt
from companyos.outbox import Entry, Outbox
from companyos.trust import KeyPin
from seam import receipts
from seam.models.validation import parse
from seam.problem import Problem

log = logging.getLogger("companyos.receipts")

MAX_RECEIPT_BYTES = 16 * 1024


def verify_signature(headers: Any, body: bytes, pin: KeyPin, unchecked: bool = False) -> None:
    if unchecked:
        return  # test-only mutation cos.receipt-signature-unchecked
    if pin.key is None:
        raise Problem(401, "bad_signature", "no MC key is pinned yet, so no receipt can be verified")
    try:
        receipts.verify(headers, body, pin.key)
    except receipts.ReceiptSignatureError as exc:
        raise Problem(401, "bad_signature", str(exc)) from None


def apply(receipt: dict[str, Any], outbox: Outbox) -> Entry:
    parsed = parse(Receipt, receipt, reason="invalid_receipt")
    entry = outbox.acknowledge(parsed.idempotency_key, parsed.evidence_id)
    if entry is None:
        raise Problem(404, "unknown_evidence", "no outbox entry has this idempotency key")
    return entry
