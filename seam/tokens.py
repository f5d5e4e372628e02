"""Short-lived EdDSA JWTs with space-separated scopes (RFC 8693 `scope` claim).

Both services issue and check tokens the same way: MC for client credentials,
COS for its local users. Verification errors are typed so the HTTP layer can
map them to 401 (missing/expired/invalid) or 403 (scope) without string checks.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAX_LIFETIME_S = 15 * 60


class TokenError(Exception):
    """Base: the request is not authenticated (→ 401)."""

    reason = "invalid_token"


class TokenMissing(TokenError):
    reason = "missing_token"


class TokenExpired(TokenError):
    reason = "expired_token"


class ScopeMissing(Exception):
    """Authenticated but not allowed (→ 403)."""

    def __init__(self, required: str) -> None:
        super().__init__(f"token lacks scope {required!r}")
        self.required = required


@dataclass(frozen=True)
class Claims:
    subject: str
    scopes: frozenset[str]
    expires_at: int
    raw: dict[str, Any]


class TokenIssuer:
    """Signs tokens for one issuer/audience pair and verifies them again."""

    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        issuer: str,
        audience: str,
        lifetime_s: int = 600,
    ) -> None:
        if not 0 < lifetime_s <= MAX_LIFETIME_S:
            raise ValueError(f"token lifetime must be in (0, {MAX_LIFETIME_S}] seconds")
        self._key = private_key
        self.public_key: Ed25519PublicKey = private_key.public_key()
        self.issuer = issuer
        self.audience = audience
        self.lifetime_s = lifetime_s

    def issue(self, subject: str, scopes: list[str], lifetime_s: int | None = None) -> tuple[str, int]:
        """Return (token, lifetime seconds). A lifetime ≤ 0 mints an already expired token."""
        now = int(time.time())
        life = self.lifetime_s if lifetime_s is None else min(lifetime_s, MAX_LIFETIME_S)
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now - 1 if life > 0 else now + life - 1,
            "exp": now + life,
            "jti": uuid.uuid4().hex,
            "scope": " ".join(scopes),
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA"), life

    def verify(self, token: str | None, required_scope: str | None = None) -> Claims:
        if not token:
            raise TokenMissing("bearer token required")
        try:
            raw = jwt.decode(
                token,
                self.public_key,
                algorithms=["EdDSA"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired("token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"token rejected: {type(exc).__name__}") from exc
        scopes = frozenset(str(raw.get("scope", "")).split())
        if required_scope and required_scope not in scopes:
            raise ScopeMissing(required_scope)
        return Claims(subject=raw["sub"], scopes=scopes, expires_at=int(raw["exp"]), raw=raw)


def bearer(authorization: str | None) -> str | None:
    """Extract the token from an `Authorization: Bearer …` header."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
