"""Test-only seam mutations for COS (docs/mutations.md).

A mutation deliberately breaks one promise of the seam so the contract gate
can prove it notices. Only `cos.*` names apply here; others (MC's) are
ignored so one SEAM_MUTATIONS value can be handed to both services. Any
active mutation is logged loudly at start: production never sets one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger("companyos.mutations")

ATTESTATION_ETAG_WEAK = "cos.attestation-etag-weak"
ATTESTATION_NO_304 = "cos.attestation-no-304"
RECEIPT_SIGNATURE_UNCHECKED = "cos.receipt-signature-unchecked"
EVIDENCE_201 = "cos.evidence-201"
LOGIN_NO_WWW_AUTHENTICATE = "cos.login-no-www-authenticate"
AUTHORIZE_FIELD_RENAMED = "cos.authorize-field-renamed"

KNOWN = frozenset(
    {
        ATTESTATION_ETAG_WEAK,
        ATTESTATION_NO_304,
        RECEIPT_SIGNATURE_UNCHECKED,
        EVIDENCE_201,
        LOGIN_NO_WWW_AUTHENTICATE,
        AUTHORIZE_FIELD_RENAMED,
    }
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

    def active(self, name: str) -> bool:
        return name in self.names

    def warn_if_any(self) -> None:
        if self.names:
            log.warning(
                "SEAM MUTATIONS ACTIVE (test-only, this COS deliberately breaks the seam): %s",
                ", ".join(sorted(self.names)),
            )
