"""Does MC still sign with the key COS pinned? If not, /healthz says so.

Why: after MC's signing key changes, COS rightly keeps its last-known-good
pack and refuses every new pack and every receipt — but it used to report
`ok`, so nobody looked. A refusal alone proves little (anyone can post a
forged receipt; an operator can publish a stranger-signed pack on purpose),
so a refusal only *suspects*: the next poll asks MC for its current key
(`GET /v1/keys/signing.pem`, unauthenticated) and compares key ids. A
mismatch sets `status.trust` (reason `mc_signing_key_changed`, both key
ids); a match clears it. While the problem stands, and every
`RECHECK_S` otherwise, the key is asked again, so a repaired MC clears it.
"""

from __future__ import annotations

import logging
import time

import httpx

from companyos.health import RuntimeStatus
from companyos.mc_client import ConductorClient
from companyos.policy_engine import rfc3339
from companyos.trust import KeyPin
from seam import keys

log = logging.getLogger("companyos.key_watch")

RECHECK_S = 60.0


class KeyWatch:
    def __init__(self, client: ConductorClient, pin: KeyPin, status: RuntimeStatus) -> None:
        self._client = client
        self._pin = pin
        self._status = status
        self._suspected = False
        self._checked_at = 0.0

    def suspect(self) -> None:
        """A pack or receipt failed its signature check: compare keys on the next poll."""
        self._suspected = True

    def due(self, now: float) -> bool:
        return self._suspected or self._status.trust is not None or now - self._checked_at >= RECHECK_S

    async def check_if_due(self) -> None:
        """Compare MC's current key with the pinned one; never raises (a poll must go on)."""
        now = time.time()
        if self._pin.key is None or not self.due(now):
            return
        try:
            result = await self._client.public_key_pem()
        except httpx.TransportError:
            return  # unreachable is reported elsewhere; try again next poll
        if result.status != 200 or not result.pem:
            return
        try:
            mc_key_id = keys.key_id(keys.load_public(result.pem))
        except ValueError:
            return
        self._checked_at = now
        self._suspected = False
        pinned_key_id = self._pin.key_id
        if mc_key_id == pinned_key_id:
            if self._status.trust is not None:
                log.info("MC signs with the pinned key %s again", pinned_key_id)
            self._status.trust = None
            return
        if self._status.trust is None:
            log.warning(
                "MC now signs with key %s, not the pinned %s: keeping the last-known-good pack and refusing"
                " new packs and receipts until the pin is replaced (docs/companyos.md)",
                mc_key_id,
                pinned_key_id,
            )
            self._status.trust = {
                "reason": "mc_signing_key_changed",
                "pinned_key_id": pinned_key_id,
                "mc_key_id": mc_key_id,
                "since": rfc3339(now),
            }
