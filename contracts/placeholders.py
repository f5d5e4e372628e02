"""The only credential-like values a pact may contain (the scrub gate allows exactly these).

Pacts are reviewed, committed fixtures, so they never hold a real token, secret or password.
Where a request needs one, the pact carries a placeholder *and* a provider-state expression
(`${accessToken}`, `${clientSecret}`, `${password}`); at verification the provider-state
handler returns the real value from the provider under test and Pact substitutes it into the
request (docs/contracts.md, "Credentials at verification").
"""

from __future__ import annotations

PREFIX = "contract-placeholder-"

TOKEN = PREFIX + "token"
# Where the pact pins a token's JWT *form* (header.claims.signature): three dot-separated parts,
# but not a JWT (no `eyJ` header), so it cannot be mistaken for a real one.
JWT_TOKEN = PREFIX + "jwt.header-claims.signature"
CLIENT_SECRET = PREFIX + "client-secret"
WRONG_CLIENT_SECRET = PREFIX + "wrong-client-secret"
PASSWORD = PREFIX + "password"
WRONG_PASSWORD = PREFIX + "wrong-password"

ALL: frozenset[str] = frozenset(
    {TOKEN, JWT_TOKEN, CLIENT_SECRET, WRONG_CLIENT_SECRET, PASSWORD, WRONG_PASSWORD}
)
BEARER_VALUES: frozenset[str] = frozenset({f"Bearer {TOKEN}"})


def is_placeholder(value: str) -> bool:
    return value in ALL
