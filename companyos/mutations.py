"""Test-only seam mutations for COS (docs/mutations.md).

A mutation deliberately breaks one promise of the seam so the contract gate
can prove it notices. Only `cos.*` names apply here; others (MC's) are
ignored so one SEAM_MUTATIONS value can be handed to both services. Any
active mutation is logged loudly at start: production never sets one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("companyos.mutations")

ATTESTATION_ETAG_WEAK = "cos.attestation-etag-weak"
ATTESTATION_NO_304 = "cos.attestation-no-304"
RECEIPT_SIGNATURE_UNCHECKED = "cos.receipt-signature-unchecked"
EVIDENCE_201 = "cos.evidence-201"
LOGIN_NO_WWW_AUTHENTICATE = "cos.login-no-www-authenticate"
AUTHORIZE_FIELD_RENAMED = "cos.authorize-field-renamed"
ATTESTATION_STALE_DIGEST = "cos.attestation-stale-digest"
ATTESTATION_WRONG_SOURCE = "cos.attestation-wrong-source"
ATTESTATION_SIGNATURE_FLAG_WRONG = "cos.attestation-signature-flag-wrong"
ATTESTATION_CONTENT_DIGEST_WRONG = "cos.attestation-content-digest-wrong"
DECISION_POLICY_DIGEST_WRONG = "cos.decision-policy-digest-wrong"
DECISION_REASONS_DROPPED = "cos.decision-reasons-dropped"
RECEIPT_BATCH_REFUSED = "cos.receipt-batch-refused"  # a batch of receipts read as one: 422
# Contract mutations of the /v1/attestation body (Mutations.attestation_body).
ATTESTATION_BODY = frozenset(
    {ATTESTATION_STALE_DIGEST, ATTESTATION_WRONG_SOURCE, ATTESTATION_SIGNATURE_FLAG_WRONG}
)

# Behavioural mutations (docs/mutations.md "Behavioural mutations"): invisible to a pact,
# caught by the E2E / faults features named in that table (python -m harness.gates.mutation_proof).
OUTBOX_ACK_BEFORE_DURABLE = "cos.outbox-ack-before-durable"
PUBLISHER_NEW_KEY_ON_RETRY = "cos.publisher-new-key-on-retry"
PUBLISHER_DROPS_FAILED = "cos.publisher-drops-failed"
REJECTED_PACK_ENFORCED = "cos.rejected-pack-enforced"
PACK_SIGNATURE_UNCHECKED = "cos.pack-signature-unchecked"
DEGRADED_NOT_REPORTED = "cos.degraded-not-reported"
RECEIPT_IGNORED = "cos.receipt-ignored"
RECEIPT_APPLIED_BEFORE_VERIFY = "cos.receipt-applied-before-verify"
RELOAD_BLOCKS_REQUESTS = "cos.reload-blocks-requests"
PARKED_MIN_S = 0.05  # the shortest policy gap cos.reload-blocks-requests leaves (policy_fetcher)
FETCH_NO_BACKOFF = "cos.fetch-no-backoff"
BEHAVIOURAL = frozenset(
    {
        OUTBOX_ACK_BEFORE_DURABLE,
        PUBLISHER_NEW_KEY_ON_RETRY,
        PUBLISHER_DROPS_FAILED,
        REJECTED_PACK_ENFORCED,
        PACK_SIGNATURE_UNCHECKED,
        DEGRADED_NOT_REPORTED,
        RECEIPT_IGNORED,
        RECEIPT_APPLIED_BEFORE_VERIFY,
        RELOAD_BLOCKS_REQUESTS,
        FETCH_NO_BACKOFF,
    }
)

KNOWN = (
    frozenset(
        {
            ATTESTATION_ETAG_WEAK,
            ATTESTATION_NO_304,
            RECEIPT_SIGNATURE_UNCHECKED,
            EVIDENCE_201,
            LOGIN_NO_WWW_AUTHENTICATE,
            AUTHORIZE_FIELD_RENAMED,
            *ATTESTATION_BODY,
            ATTESTATION_CONTENT_DIGEST_WRONG,
            DECISION_POLICY_DIGEST_WRONG,
            DECISION_REASONS_DROPPED,
            RECEIPT_BATCH_REFUSED,
        }
    )
    | BEHAVIOURAL
)


class Mutations:
    """The set of active `cos.*` mutations; `m.active(NAME)` is the only question asked."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        requested = {n.strip() for n in names if n.strip()}
        cos = {n for n in requested if n.startswith("cos.")}
        unknown = sorted(cos - KNOWN)
        if unknown:
            raise ValueError(f"unknown COS seam mutation(s): {', '.join(unknown)}")
        self.names = frozenset(cos)
        self._first_digest: str | None = None

    def active(self, name: str) -> bool:
        return name in self.names

    def attestation_body(self, described: dict[str, Any]) -> bytes | None:
        """The /v1/attestation body under an attestation-body mutation (None: the real one).

        `cos.attestation-stale-digest` keeps reporting the digest of the first pack this COS
        reported, whatever it reloaded since; `…-wrong-source` always says "local";
        `…-signature-flag-wrong` inverts `signature_verified`.
        """
        if self._first_digest is None:
            self._first_digest = described["digest"]
        if not self.names & ATTESTATION_BODY:
            return None
        doc = dict(described)
        if self.active(ATTESTATION_STALE_DIGEST):
            doc["digest"] = self._first_digest
        if self.active(ATTESTATION_WRONG_SOURCE):
            doc["source"] = "local"
        if self.active(ATTESTATION_SIGNATURE_FLAG_WRONG):
            doc["signature_verified"] = not doc["signature_verified"]
        return json.dumps(doc, separators=(",", ":")).encode("utf-8")

    def decision(self, body: dict[str, Any]) -> dict[str, Any]:
        """A decision response under `cos.decision-*` mutations (unchanged otherwise)."""
        if self.active(DECISION_REASONS_DROPPED):
            body = {k: v for k, v in body.items() if k != "reasons"}
        if self.active(DECISION_POLICY_DIGEST_WRONG):
            wrong = hashlib.sha256(body["policy"]["digest"].encode("ascii")).hexdigest()
            body = {**body, "policy": {**body["policy"], "digest": wrong}}
        return body

    def warn_if_any(self) -> None:
        if self.names:
            log.warning(
                "SEAM MUTATIONS ACTIVE (test-only, this COS deliberately breaks the seam): %s",
                ", ".join(sorted(self.names)),
            )
