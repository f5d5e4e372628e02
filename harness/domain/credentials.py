"""Tokens for scenarios: good ones, and each kind of bad one.

A forged COS token is a well-formed EdDSA JWT signed by a key COS never saw;
an expired COS token is a real one requested with the shortest lifetime COS
grants and observed (bounded poll) until COS itself says it has expired.
MC's bad tokens come from MC's admin API, which can mint expired tokens.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from harness.domain.phrases import CosToken, McCall, McToken
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


def cos_token(world: World, kind: CosToken) -> str | None:
    """The bearer of `kind`: none, forged (a key COS never saw) or expired (one COS issued)."""
    match kind:
        case CosToken.NONE:
            return None
        case CosToken.FORGED:
            return forged_cos_token()
        case CosToken.EXPIRED:
            return expired_cos_token(world)
    raise TypeError(f"not a CosToken: {kind!r}")


def request_decision(world: World, kind: CosToken) -> Any:
    """A viewer's decision request to COS carrying a token of `kind`; the answer is `world.last`."""
    bearer = cos_token(world, kind)
    world.last = world.cos.authorize({"user": "qa", "roles": ["viewer"]}, "read", token=bearer or "")
    return world.last


def login_with_wrong_password(world: World, user: str) -> Any:
    """COS's answer to `user` logging in with a password that is not theirs (`world.last`)."""
    world.last = world.cos.login(user, "definitely-not-the-password")
    return world.last


def mc_token(mc: Conductor, kind: McToken, scope: str) -> str:
    """An MC token with exactly `scope`: a valid one from MC's token endpoint, or an expired one
    minted through MC's admin API (a minute past its expiry)."""
    match kind:
        case McToken.VALID:
            return mc.access_token([scope])
        case McToken.EXPIRED:
            return mc.minted_token([scope], lifetime_s=-60)
    raise TypeError(f"not an McToken: {kind!r}")


def hold_mc_token(world: World, scope: str, kind: McToken = McToken.VALID) -> str:
    """Get an MC token of `kind` with exactly `scope`; the scenario's direct MC calls carry it."""
    world.mc_token = mc_token(world.mc(), kind, scope)
    return world.mc_token


def call_mc(world: World, call: McCall) -> Any:
    """Make `call` at MC with the token the scenario holds; the answer is `world.last`."""
    from harness.domain import evidence

    mc = world.mc()
    token = world.mc_token
    assert token is not None, "the scenario holds no MC token (Given a client holds an MC token …)"
    match call:
        case McCall.READ_PACK:
            world.last = mc.get("/v1/policy/packs/policy-pack-v0", token)
        case McCall.WRITE_EVIDENCE:
            body = evidence.canonical(evidence.new_document())
            world.last = mc.post_evidence(body, evidence.new_key(), token, evidence.digest_header(body))
        case _:
            raise TypeError(f"not an McCall: {call!r}")
    return world.last


def request_mc_token_with_wrong_secret(world: World) -> Any:
    """MC's answer to a token request whose client secret is wrong (`world.last`)."""
    world.last = world.mc().token(secret="not-the-secret")
    return world.last


def obtain_mc_token(world: World, scopes: list[str]) -> Any:
    """MC's answer to a token request for exactly `scopes` with the right secret (`world.last`)."""
    world.last = world.mc().token(scopes=scopes)
    return world.last


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
