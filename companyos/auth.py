"""Login tokens: COS signs short-lived EdDSA JWTs with its own key and checks them.

The key lives in the data dir (created on first start), so tokens survive a
restart of the same instance and nothing else can mint them. Verification
results are cached by exact token string until the token expires: the read
path is load-tested at hundreds of requests per second and an Ed25519
verification per request would dominate its cost; expiry is still checked on
every use, with PyJWT's rule (valid while `exp` > now, no leeway).

What the cache cannot outlive: a token is only ever cached after a full
signature check, under the exact string that was checked (a token with any
other byte is a different key and is verified afresh). COS has no revocation
list — its tokens are short-lived (≤ 15 min) and no endpoint revokes one — and
its signing key is read once at start, so a changed key means a new
`Authenticator` with an empty cache (tests/companyos/test_cos_read_caches.py).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from pathlib import Path

from starlette.requests import Request

from seam import keys, tokens
from seam.problem import Problem

ISSUER = "companyos"
AUDIENCE = "companyos"
USER_SCOPES = ["cos:authorize", "evidence:write", "evidence:read"]
KEY_FILE = "cos-signing.pem"
REALM = 'Bearer realm="companyos"'


def challenge(reason: str) -> dict[str, str]:
    return {"WWW-Authenticate": f'{REALM}, error="invalid_token"'} if reason else {"WWW-Authenticate": REALM}


class Authenticator:
    def __init__(self, data_dir: Path, lifetime_s: int, cache_size: int = 4096) -> None:
        key = keys.load_or_create(data_dir / KEY_FILE)
        self.issuer = tokens.TokenIssuer(key, ISSUER, AUDIENCE, lifetime_s=lifetime_s)
        self._cache: OrderedDict[str, tokens.Claims] = OrderedDict()
        self._cache_size = cache_size

    def issue(self, username: str, roles: tuple[str, ...], ttl_s: int | None = None) -> tuple[str, int]:
        """A token for `username`; `ttl_s` may shorten (never extend) the configured lifetime."""
        del roles  # decisions take roles from the request subject; the token says who called
        lifetime = self.issuer.lifetime_s if ttl_s is None else max(1, min(ttl_s, self.issuer.lifetime_s))
        return self.issuer.issue(username, USER_SCOPES, lifetime_s=lifetime)

    def verify(self, token: str | None) -> tokens.Claims:
        """Return the claims or raise a 401 Problem (missing, expired, forged, malformed)."""
        if token:
            cached = self._cache.get(token)
            if cached is not None:
                if cached.expires_at > time.time():
                    self._cache.move_to_end(token)  # least recently used goes first
                    return cached
                self._cache.pop(token, None)
        try:
            claims = self.issuer.verify(token)
        except tokens.TokenError as exc:
            raise Problem(401, exc.reason, str(exc), headers=challenge(exc.reason)) from None
        self._cache[token or ""] = claims
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return claims

    def require(self, request: Request) -> tokens.Claims:
        return self.verify(tokens.bearer(request.headers.get("authorization")))
