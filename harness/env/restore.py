"""Leave the services as the run found them, after every scenario, on every backend.

"As found" is what a scenario may rely on when it starts: no fault injected,
every service of the mode running, MC serving the policy the run found it
serving (same files; the revision label may differ), COS enforcing exactly
MC's current pack, and COS reporting itself healthy. The state is captured once
per environment when the run first reaches it (`capture`); `restore` undoes
what a scenario changed and then waits — bounded — until COS is healthy again,
so one scenario's faults or packs never leak into the next (on an external
deployment COS may still be in fetch backoff right after a fault is removed).
A restore that cannot get there fails the scenario that left the mess, saying
what it waited for and what it last saw.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from cosclient import CompanyOSClient
from harness.env.environments import COS, MC, PROXY, Environment
from harness.env.mc import Conductor
from harness.kit.readiness import NotReady, Observed, wait_until
from seam import bundle

PACK = "policy-pack-v0"
HEALTHY_BUDGET_S = 30.0  # > COS's fetch backoff cap (5 × poll interval) + one poll


@dataclass(frozen=True)
class FoundState:
    """What MC served when the run found it (integrated); nothing to keep for standalone."""

    pack_digest: str | None = None
    pack_files: dict[str, str] | None = None


def _mc_pack(mc: Conductor) -> tuple[str, bytes]:
    reply = mc.get(f"/v1/policy/packs/{PACK}", mc.access_token(["policy:read"]))
    if reply.status != 200:
        raise AssertionError(f"MC did not serve {PACK}: {reply.status} {reply.body!r}"[:500])
    return reply.headers["etag"].strip('"').removeprefix("sha256-"), reply.raw


def capture(env: Environment) -> FoundState:
    if not env.integrated:
        return FoundState()
    mc = Conductor(env)
    try:
        digest, raw = _mc_pack(mc)
    finally:
        mc.close()
    return FoundState(pack_digest=digest, pack_files=bundle.parse(raw).files)


def restore(env: Environment, found: FoundState) -> list[str]:
    """Undo a scenario's changes; returns what had to be done (empty: nothing had changed)."""
    done: list[str] = []
    if env.endpoints.toxiproxy_url:
        from faultproxy.client import ToxiproxyClient

        faults = ToxiproxyClient(env.endpoints.toxiproxy_url)
        try:
            faults.reset()
        finally:
            faults.close()
    if env.backend != "external":
        for service in (MC, PROXY, COS):
            if (service == COS or env.integrated) and not env.control.running(service):
                env.control.start(service)
                done.append(f"restarted {service}")
    target = None
    if env.integrated and found.pack_files is not None:
        target, republished = _restore_pack(env, found)
        if republished:
            done.append(f"republished the policy MC served when the run started (now {target[:12]}…)")
    _wait_healthy(env, target)
    return done


def _restore_pack(env: Environment, found: FoundState) -> tuple[str, bool]:
    """MC's current pack digest after putting the found policy files back if they changed."""
    mc = Conductor(env)
    try:
        digest, raw = _mc_pack(mc)
        if digest == found.pack_digest or bundle.parse(raw).files == found.pack_files:
            return digest, False
        published = mc.publish_revision(PACK, f"restore-{uuid.uuid4().hex[:8]}", found.pack_files or {})
        return published["digest"], True
    finally:
        mc.close()


def _wait_healthy(env: Environment, mc_digest: str | None) -> None:
    cos = CompanyOSClient(env.endpoints.cos_url, timeout=5)

    def healthy() -> Observed:
        health = cos.health()
        body = health.body if isinstance(health.body, dict) else {}
        seen = {k: body.get(k) for k in ("status", "mc_reachable", "last_fetch_error", "fetch_backoff_s")}
        if health.status != 200 or body.get("status") != "ok":
            return Observed(False, f"/healthz {health.status} {seen}")
        if mc_digest is None:
            return Observed(True, "healthy")
        attested = cos.attestation()
        digest = attested.body.get("digest", "") if isinstance(attested.body, dict) else ""
        if digest.removeprefix("sha256:") != mc_digest:
            return Observed(
                False, f"healthy, but COS enforces {digest[:19]}… while MC serves {mc_digest[:12]}…"
            )
        return Observed(True, "healthy and enforcing MC's pack")

    try:
        wait_until("COS healthy and enforcing MC's current pack", healthy, HEALTHY_BUDGET_S, interval_s=0.1)
    except NotReady as exc:
        raise AssertionError(f"leaving the services as found failed: {exc}") from None
    finally:
        cos.close()
