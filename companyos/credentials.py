"""The scoped MC token COS holds, renewed before it expires.

Shared by the policy fetcher and the evidence publisher so COS asks MC for
one `policy:read evidence:write` token at a time, not one per call. Renewal
happens when less than a fifth of the lifetime is left (at least 5 s), so a
call never goes out with a token about to expire; a 401 from MC drops the
token so the next call gets a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import time

from companyos.mc_client import ConductorClient

log = logging.getLogger("companyos.credentials")

SCOPES = ["policy:read", "evidence:write"]


class CredentialError(Exception):
    """MC refused to issue a token (bad client credentials, unknown scope, unexpected answer)."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(f"MC token request failed: {status} {reason}")
        self.reason = reason
        self.status = status


class TokenCache:
    def __init__(self, client: ConductorClient, scopes: list[str] | None = None) -> None:
        self._client = client
        self._scopes = scopes or SCOPES
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.expires_at = 0.0
        self.renewals = 0

    async def token(self) -> str:
        """A token valid for a while yet; obtains or renews one if needed (one caller at a time)."""
        if self._token and time.time() < self._renew_at:
            return self._token
        async with self._lock:
            if self._token and time.time() < self._renew_at:
                return self._token
            result = await self._client.get_token(self._scopes)
            if result.status != 200 or not result.access_token:
                raise CredentialError(result.reason or f"http_{result.status}", result.status)
            lifetime = float(result.expires_in or 60)
            now = time.time()
            self._token = result.access_token
            self.expires_at = now + lifetime
            self._renew_at = now + lifetime - max(5.0, 0.2 * lifetime)
            self.renewals += 1
            log.info("obtained MC token (scopes %s, lifetime %ss)", " ".join(self._scopes), int(lifetime))
            return self._token

    def invalidate(self) -> None:
        self._token = None
        self._renew_at = 0.0
