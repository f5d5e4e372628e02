"""Decisions, enforced packs, and publishing revisions at MC.

The reload scenarios need three things: what COS enforces now (its
attestation), a way to make MC publish a changed revision, and a bounded wait
for COS to enforce (or reject) it, reporting how long it took.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from harness.domain import faults
from harness.domain.phrases import Defect, Verdict
from harness.env.world import World
from harness.kit.readiness import Observed, wait_within
from seam import bundle

PACK = "policy-pack-v0"
POLICY_DIR = Path(__file__).resolve().parents[2] / "policy" / PACK


@dataclass(frozen=True)
class Decision:
    allow: bool
    reasons: list[str]
    digest: str


def decide(world: World, roles: list[str], action: str) -> Decision:
    answer = world.cos.authorize({"user": "qa", "roles": roles}, action)
    assert answer.status == 200, f"decision request failed: {answer.status} {answer.body}"
    body = answer.body
    missing = [f for f in ("allow", "reasons", "policy") if not isinstance(body, dict) or f not in body]
    assert not missing, f"COS decision lacks {missing} (the seam promises allow, reasons, policy): {body}"
    return Decision(allow=body["allow"], reasons=body["reasons"], digest=body["policy"]["digest"])


def expect_decisions(world: World, rows: list[tuple[list[str], str, Verdict]]) -> None:
    """Each (roles, action, verdict) of a decision table is what COS decides."""
    for roles, action, verdict in rows:
        expect_decision(world, roles, action, verdict)


def expect_decision(world: World, roles: list[str], action: str, verdict: Verdict) -> None:
    decision = decide(world, roles, action)
    assert decision.allow is (verdict is Verdict.ALLOW), (
        f"{roles} {action}: expected {verdict.value}, got allow={decision.allow} {decision.reasons}"
    )


def enforced(world: World) -> dict:
    answer = world.cos.attestation()
    assert answer.status == 200, f"attestation failed: {answer.status} {answer.body}"
    return answer.body


def expect_enforcing_source(world: World, source: str) -> None:
    """COS's attestation names `source` ("local" or "mc") as where its pack came from."""
    attested = enforced(world)
    assert attested["source"] == source, f"expected source {source!r}, COS attests {attested}"


def expect_enforcing_mc_pack(world: World) -> dict:
    """COS enforces exactly the pack MC serves now; it becomes the scenario's last-known-good."""
    attested = enforced(world)
    served = mc_pack_digest(world)
    assert attested["source"] == "mc" and attested["digest"] == served, (
        f"MC serves {served}, COS attests {attested}"
    )
    world.lkg = attested
    return attested


def expect_still_lkg(world: World) -> None:
    """COS still enforces the last-known-good pack the scenario recorded."""
    lkg = world.lkg
    assert lkg is not None, "the scenario recorded no last-known-good pack"
    attested = enforced(world)
    assert attested["digest"] == lkg["digest"], f"expected LKG {lkg['digest']}, COS attests {attested}"


def mc_pack_digest(world: World) -> str:
    """The SHA-256 of the pack MC serves now (from its strong ETag)."""
    mc = world.mc()
    reply = mc.get(f"/v1/policy/packs/{PACK}", mc.access_token(["policy:read"]), method="HEAD")
    assert reply.status == 200, f"MC HEAD pack failed: {reply.status}"
    return reply.headers["etag"].strip('"').removeprefix("sha256-")


def _enforcing(attested: dict, digest: str) -> Observed:
    """Done when COS attests `digest`; says what it attests instead."""
    now = attested.get("digest", "").removeprefix("sha256:")
    return Observed(
        now == digest,
        f"COS enforces {now[:12]}… ({attested.get('source')}, revision {attested.get('revision')})",
    )


def _rejected(failures: float, before: float) -> Observed:
    """Done when COS counted one more reload failure; says the count it saw."""
    return Observed(failures > before, f"policy_reload_failure_total {failures:g} (was {before:g})")


def wait_enforcing(world: World, digest: str, budget_s: float, since: float | None = None) -> float:
    """Seconds from `since` (default: now) until COS's attestation names `digest`.

    Fails when that takes longer than `budget_s`, or the budget was spent before the check.
    """
    return wait_within(
        f"COS to enforce pack {digest[:12]}…",
        lambda: _enforcing(enforced(world), digest),
        since=time.monotonic() if since is None else since,
        budget_s=budget_s,
    )


def wait_enforcing_mc_pack_after_fault(world: World, budget_s: float) -> float:
    """Seconds from the fault's removal until COS enforces the pack MC serves (timed for the report)."""
    took = wait_enforcing(world, mc_pack_digest(world), budget_s, since=faults.cleared_at(world))
    return world.time("mc_pack_enforced_after_s", took)


def wait_enforcing_published(world: World, budget_s: float) -> float:
    """Seconds from MC's publish until COS enforces the revision the scenario published."""
    published = _published(world)
    took = wait_enforcing(world, published["digest"], budget_s, since=published["published_at"])
    return world.time("publish_to_enforced_s", took)


def _published(world: World) -> dict:
    assert world.published is not None, "MC published no revision in this scenario"
    return world.published


def frozen_revision_files(action: str) -> dict[str, str]:
    """The example pack's sources with `action` added to the frozen list."""
    files = bundle.read_dir(POLICY_DIR)
    data = json.loads(files["data.json"])
    data["frozen_actions"] = sorted(set(data.get("frozen_actions", [])) | {action})
    files["data.json"] = json.dumps(data, indent=2)
    return files


def publish_good_and_wait(world: World, budget_s: float) -> dict:
    """Publish the example pack as a fresh, validly signed revision; wait until COS enforces it.

    Reload scenarios start from here so each has a known last-known-good,
    whatever an earlier scenario left MC serving.
    """
    revision = f"good-{uuid.uuid4().hex[:8]}"
    published = world.mc().publish_revision(PACK, revision, bundle.read_dir(POLICY_DIR), signing="valid")
    wait_enforcing(world, published["digest"], budget_s)
    world.lkg = enforced(world)
    return world.lkg


SIGNING = {  # how MC's admin API signs a revision with each defect
    Defect.UNSIGNED: "unsigned",
    Defect.WRONG_KEY: "wrong-key",
    Defect.TAMPERED: "tampered",
    Defect.BAD_CONTENT_DIGEST: "bad-content-digest",
}


def publish_frozen(world: World, action: str, defect: Defect | None = None) -> dict:
    """Publish a new revision at MC that freezes `action` — validly signed, or with `defect`.

    Before a defective publish COS's reload-failure count is kept (`world.failures_before`).
    The revision {revision, digest, published_at} is `world.published`.
    """
    if defect is not None:
        world.failures_before = reload_failures(world)
    signing = "valid" if defect is None else SIGNING[defect]
    revision = f"freeze-{action}-{uuid.uuid4().hex[:8]}"
    published = world.mc().publish_revision(PACK, revision, frozen_revision_files(action), signing=signing)
    published["published_at"] = time.monotonic()
    world.published = published
    return published


def reload_failures(world: World) -> float:
    """Sum of `policy_reload_failure_total` over all reasons in COS's /metrics."""
    total = 0.0
    for line in world.cos.metrics_text().splitlines():
        if line.startswith("policy_reload_failure_total"):
            total += float(line.rsplit(" ", 1)[1])
    return total


# Each thread pauses this long between its requests. Unpaced, four threads kept both cores of a
# CI machine busy for the whole scenario (COS and behave ~100 s of CPU per faults run) and
# slowed every stage beside it; paced, any 50 ms window still holds a request from every thread
# (cos.reload-blocks-requests leaves a policy gap of at least 50 ms: docs/mutations.md).
PACE_S = 0.02


@dataclass
class BackgroundDecisions:
    """Threads asking COS for decisions until stopped, each every PACE_S; counts failures."""

    world: World
    threads: int = 4
    pace_s: float = PACE_S
    ok: int = 0
    failed: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> BackgroundDecisions:
        from cosclient import CompanyOSClient

        token = self.world.cos.token

        def run() -> None:
            client = CompanyOSClient(self.world.env.endpoints.cos_url, token=token)
            try:
                while not self._stop.is_set():
                    try:
                        answer = client.authorize({"user": "qa", "roles": ["developer"]}, "read")
                        good = (
                            answer.status == 200 and isinstance(answer.body, dict) and "allow" in answer.body
                        )
                        detail = f"{answer.status}"
                    except Exception as exc:  # noqa: BLE001 - a transport failure is a failed request
                        good, detail = False, f"{type(exc).__name__}: {exc}"
                    with self._lock:
                        if good:
                            self.ok += 1
                        else:
                            self.failed.append(detail)
                    self._stop.wait(self.pace_s)
            finally:
                client.close()

        for _ in range(self.threads):
            t = threading.Thread(target=run, daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def close(self) -> None:  # world.close() calls this, so a failed step never leaves it running
        self.stop()

    def stop(self) -> tuple[int, list[str]]:
        self._stop.set()
        for t in self._workers:
            t.join(timeout=10)
        return self.ok, self.failed

    def expect_none_failed(self, during: str) -> None:
        """Stop the traffic, note the counts for the report, and assert nothing failed."""
        ok, failed = self.stop()
        self.world.note(f"decisions during {during}", f"ok: {ok}, failed: {len(failed)} {failed[:10]}")
        assert ok > 0, "the background traffic made no request at all"
        assert not failed, f"{len(failed)} of {ok + len(failed)} decision requests failed: {failed[:5]}"


def start_background_decisions(world: World) -> BackgroundDecisions:
    """Start asking COS for decisions continuously (`world.traffic`; `world.close()` stops it)."""
    world.traffic = BackgroundDecisions(world).start()
    return world.traffic


def expect_no_failed_decisions(world: World, during: str) -> None:
    """Stop the background decisions; none of them failed `during` the reload or fault."""
    assert world.traffic is not None, "no decisions were being requested in the background"
    world.traffic.expect_none_failed(during=during)


def wait_rejected(world: World, budget_s: float) -> float:
    """Seconds from the defective publish until COS counts one more reload failure (timed)."""
    assert world.failures_before is not None, "no defective revision was published in this scenario"
    took = wait_reload_failure(world, world.failures_before, budget_s, _published(world)["published_at"])
    return world.time("publish_to_rejected_s", took)


def wait_reload_failure(world: World, before: float, budget_s: float, since: float) -> float:
    """Seconds from `since` (the publish) until COS counts one more reload failure than `before`."""
    return wait_within(
        "COS to reject the defective pack",
        lambda: _rejected(reload_failures(world), before),
        since=since,
        budget_s=budget_s,
    )


def cold_start_cos(world: World) -> float:
    """Restart COS with an empty data dir (no LKG, no pinned state); seconds to ready (timed)."""
    from harness.env.environments import COS

    world.env.control.stop(COS)
    took = world.env.control.start(COS, fresh_data=True)
    from harness.domain import credentials

    credentials.login(world)
    return world.time("cos_cold_start_s", took)
