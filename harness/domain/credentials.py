"""Tokens for scenarios: good ones, and each kind of bad one.

A forged COS token is a well-formed EdDSA JWT signed by a key COS never saw;
an expired COS token is a real one requested with the shortest lifetime COS
grants and observed (bounded poll) until COS itself says it has expired.
MC's bad tokens come from MC's admin API, which can mint expired tokens.
"""

from __future__ import annotations

import time

import jwt

from harness.env.mc import Conductor
from harness.env.world import World
from harness.kit.readiness import wait_until
from seam import keys


def login(world: World) -> None:
    c = world.env.credentials
    answer = world.cos.login(c.cos_user, c.cos_password)
    assert answer.status == 200, f"QA user could not log in to COS: {answer.status} {answer.body}"


def forged_cos_token() -> str:
    now = int(time.time())
    claims = {
        "iss": "companyos",
        "aud": "companyos",
        "sub": "qa",
        "iat": now,
        "exp": now + 300,
        "scope": "decisions:read evidence:write",
    }
    return jwt.encode(claims, keys.generate(), algorithm="EdDSA")


def expired_cos_token(world: World) -> str:
    """A token COS issued and now rejects as expired (waits ≤ 5 s, polling)."""
    c = world.env.credentials
    answer = world.cos.login(c.cos_user, c.cos_password, ttl_s=1)
    assert answer.status == 200, f"COS refused a short-lived login: {answer.status} {answer.body}"
    token = answer.body["access_token"]

    def rejected_as_expired() -> bool:
        reply = world.cos.authorize({"user": "qa", "roles": ["viewer"]}, "read", token=token)
        return reply.status == 401

    wait_until("COS to reject the short-lived token", rejected_as_expired, budget_s=5, interval_s=0.2)
    return token


def cos_token(world: World, kind: str) -> str | None:
    """`kind` as QA writes it: 'no token', 'a forged token', 'an expired token'."""
    if kind == "no token":
        return None
    if kind == "a forged token":
        return forged_cos_token()
    if kind == "an expired token":
        return expired_cos_token(world)
    raise ValueError(f"unknown token kind {kind!r}")


def mc_token(mc: Conductor, kind: str) -> str | None:
    """'no token', 'an expired token with "S"', 'a token with only "S"'."""
    if kind == "no token":
        return None
    scope = kind.split('"')[1] if '"' in kind else ""
    if kind.startswith("an expired token"):
        return mc.minted_token([scope], lifetime_s=-60)
    if kind.startswith("a token with only"):
        return mc.access_token([scope])
    raise ValueError(f"unknown token kind {kind!r}")


def hold_mc_token(world: World, scope: str) -> str:
    """Get an MC token with exactly `scope` and keep it for the scenario's direct MC calls."""
    world.mc_token = world.mc().access_token([scope])
    return world.mc_token


def call_mc(world: World, call: str, token_kind: str):
    """`call` is 'GET pack' or 'POST evidence'; the token as QA describes it."""
    from harness.domain import evidence

    mc = world.mc()
    token = mc_token(mc, token_kind)
    if call == "GET pack":
        return mc.get("/v1/policy/packs/policy-pack-v0", token)
    if call == "POST evidence":
        body = evidence.canonical(evidence.new_document())
        return mc.post_evidence(body, evidence.new_key(), token or "", evidence.digest_header(body))
    raise ValueError(f"unknown MC call {call!r}")


def request_mc_token(world: World, request: str):
    """'a wrong client secret' or 'the scope "S"'."""
    mc = world.mc()
    if request == "a wrong client secret":
        return mc.token(secret="not-the-secret")
    if request.startswith("the scope"):
        return mc.token(scopes=request.split('"')[1].split())
    raise ValueError(f"unknown token request {request!r}")


def _issued(reply) -> tuple[dict, dict]:
    """The token answer and the token's claims (read, not verified: MC's own checks verify it)."""
    assert reply.status == 200, f"MC refused the token request: {reply.status} {reply.body}"
    body = reply.body
    assert isinstance(body, dict) and isinstance(body.get("access_token"), str), f"no access_token: {body}"
    return body, jwt.decode(body["access_token"], options={"verify_signature": False})


def expect_short_lived(reply, max_s: int) -> None:
    """The seed's ephemeral-credential promise: `expires_in` and `exp - iat` both ≤ `max_s`."""
    body, claims = _issued(reply)
    expires_in = body.get("expires_in")
    assert isinstance(expires_in, int) and 0 < expires_in <= max_s, (
        f"expires_in {expires_in!r} is not a lifetime of at most {max_s}s"
    )
    lifetime = claims.get("exp", 0) - claims.get("iat", 0)
    assert 0 < lifetime <= max_s, f"token lives exp - iat = {lifetime}s, more than {max_s}s: {claims}"
    assert claims["exp"] <= time.time() + max_s + 5, f"token expires more than {max_s}s from now: {claims}"


def expect_exact_scopes(reply, requested: list[str]) -> None:
    """Exactly the requested scopes — never more — in the answer's `scope` and the `scope` claim."""
    body, claims = _issued(reply)
    answered = set(str(body.get("scope", "")).split())
    claimed = set(str(claims.get("scope", "")).split())
    assert answered == set(requested), f"MC answered scope {sorted(answered)}, asked for {sorted(requested)}"
    assert claimed == set(requested), (
        f"the token claims scope {sorted(claimed)}, asked for {sorted(requested)}"
    )
