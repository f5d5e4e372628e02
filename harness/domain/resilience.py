"""What the fault scenarios do while a fault is on, and how they judge COS afterwards.

- `SteadyWriter`: a client of COS writing evidence at a steady rate from its own thread and
  its own `CompanyOSClient`, retrying an unanswered request under the *same* idempotency key
  (what a well-behaved client does when COS itself is down), recording every answer.
- The fault episodes (`write_through_outage`, `write_through_resets`, `kill_cos_mid_publish`,
  `observe_slow_polls`, `observe_silent_polls`): one call per When-step, each doing work while
  the fault is on — writing, sampling COS's metrics — never just sleeping.
- Judging: `wait_drained` (time from the fault's removal until none of the scenario's evidence
  is pending in COS's outbox), `reconcile` (MC's ledger against what COS accepted, matched by
  document digest so a resend under a new key would show as a duplicate), `wait_recovered`.

Every wait is bounded and measured; every count a scenario asserts on is also attached to the
report (`world.note`), so a green run still shows how close to its budget it came.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from cosclient import CompanyOSClient
from harness.domain import cos_metrics, faults, policy
from harness.domain.evidence import (
    Reconciliation,
    canonical,
    evidence_ledger,
    expect_exactly_once,
    new_document,
    new_key,
)
from harness.domain.phrases import Outage, ResetMoment
from harness.env.world import World
from harness.kit.readiness import wait_until, wait_within

RETRY_PAUSE_S = 0.1
COS_UNANSWERED_BUDGET_S = 30.0  # how long the writer keeps retrying one document while COS is away


# --- the steady writer ------------------------------------------------------------------------
@dataclass
class Written:
    """One document the writer sent, and every answer it got for it (in order)."""

    key: str
    digest: str
    answers: list[str] = field(default_factory=list)  # "202", "202 replay", "503", "ConnectError", …
    final: int | None = None
    sent_at: float = 0.0
    first_answer_s: float | None = None  # how long the first attempt took to get any answer

    @property
    def accepted(self) -> bool:
        return self.final == 202


class SteadyWriter:
    """Writes evidence to COS at `per_second` from a background thread until stopped (or `limit`)."""

    def __init__(
        self,
        world: World | None,
        per_second: float,
        limit: int | None = None,
        client: CompanyOSClient | None = None,
    ) -> None:
        if client is None:
            assert world is not None and world.cos.token, "the writer needs the QA user logged in to COS"
            client = CompanyOSClient(world.env.endpoints.cos_url, token=world.cos.token, timeout=5.0)
        self.per_second = per_second
        self.limit = limit
        self.written: list[Written] = []
        self._client = client
        self._stop = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="steady-writer", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> SteadyWriter:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            started = time.monotonic()
            n = 0
            while not self._stop.is_set() and (self.limit is None or n < self.limit):
                due = started + n / self.per_second
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    break
                self._write_one()
                n += 1
        except BaseException as exc:  # noqa: BLE001 - surfaced by stop()
            self.error = exc
        finally:
            self._done.set()

    def _write_one(self) -> None:
        doc, key = new_document(), new_key()
        item = Written(key=key, digest=_digest(doc), sent_at=time.monotonic())
        with self._lock:
            self.written.append(item)
        give_up = time.monotonic() + COS_UNANSWERED_BUDGET_S
        while True:
            started = time.monotonic()
            try:
                reply = self._client.submit_evidence(doc, key)
            except httpx.TransportError as exc:
                item.answers.append(type(exc).__name__)
            else:
                if item.first_answer_s is None:
                    item.first_answer_s = time.monotonic() - started
                replayed = reply.headers.get("idempotent-replayed") == "true"
                item.answers.append(f"{reply.status}{' replay' if replayed else ''}")
                if reply.status not in (409, 502, 503, 504):
                    item.final = reply.status
                    return
            if time.monotonic() > give_up:
                return
            time.sleep(RETRY_PAUSE_S)  # pacing between retries of one request, not a wait for state

    def wait_done(self, budget_s: float) -> None:
        """For a writer with a `limit`: wait until it has written them all."""
        assert self._done.wait(budget_s), f"the writer did not finish {self.limit} writes in {budget_s}s"

    def stop(self) -> list[Written]:
        self._stop.set()
        self._thread.join(timeout=COS_UNANSWERED_BUDGET_S + 10)
        if self.error is not None:
            raise AssertionError(f"the evidence writer failed: {self.error!r}")
        return self.snapshot()

    def close(self) -> None:  # world.close() calls this, so a failed step never leaves it running
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=COS_UNANSWERED_BUDGET_S + 10)
        self._client.close()

    def snapshot(self) -> list[Written]:
        with self._lock:
            return list(self.written)

    def accepted(self) -> list[Written]:
        return [w for w in self.snapshot() if w.accepted]


AT_ONCE_S = 1.0  # "at once": COS answers from its own outbox; MC's state must not slow it down


def expect_answered_at_once(world: World, budget_s: float = AT_ONCE_S) -> None:
    """Every document got 202 at the first try, and that first answer came within `budget_s`."""
    written = writer_of(world).snapshot()
    assert written, "no evidence was written"
    not_first = [(w.key, w.answers) for w in written if w.answers != ["202"]]
    slowest = max((w.first_answer_s or 0.0 for w in written), default=0.0)
    world.note(
        "evidence written",
        f"{len(written)} written, {len(written) - len(not_first)} answered 202 at the first try; "
        f"slowest first answer {slowest:.3f}s (budget {budget_s}s)",
    )
    assert not not_first, (
        f"{len(not_first)} of {len(written)} were not answered 202 at the first try: {not_first[:5]}"
    )
    slow = [
        (w.key, round(w.first_answer_s or 0.0, 3)) for w in written if (w.first_answer_s or 0.0) > budget_s
    ]
    assert not slow, f"{len(slow)} of {len(written)} answers took longer than {budget_s}s: {slow[:5]}"


def _digest(doc: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(doc)).hexdigest()


def writer_of(world: World) -> SteadyWriter:
    writer = world.writer
    assert writer is not None, "no evidence was written in this scenario"
    return writer


# --- fault episodes (one per When-step) ----------------------------------------------------------
@dataclass
class Episode:
    """What happened while a fault was on: for the report and for the Then-steps."""

    fault: str
    seconds: float = 0.0
    health: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def peak_outbox_depth(self) -> int:
        return max((h.get("outbox_depth") or 0 for h in self.health), default=0)


OUTAGES = {
    Outage.UNREACHABLE: (faults.mc_down, faults.mc_up),  # the link to MC refuses connections
    Outage.STOPPED: (faults.stop_mc, faults.start_mc),  # MC's process is stopped (@owns-services)
}


def write_through_outage(world: World, outage: Outage, seconds: float, per_second: float) -> Episode:
    """Write evidence at `per_second` while MC is `outage` for `seconds`; MC is back on return.

    What the outage did (peak outbox depth, publish retries) is noted for the report.
    """
    begin, end = OUTAGES[outage]
    before = cos_metrics.scrape(world)
    world.metrics_before = before
    writer = SteadyWriter(world, per_second)
    world.writer = writer
    episode = Episode(fault=f"MC {outage.value}")
    begin(world)
    started = time.monotonic()
    writer.start()
    try:
        while (left := started + seconds - time.monotonic()) > 0:
            episode.health.append(_health_sample(world))
            time.sleep(min(0.5, left))  # sampling pace; the writer works meanwhile
    finally:
        end(world)
        writer.stop()
    episode.seconds = round(time.monotonic() - started, 3)
    episode.notes["retries_during_outage"] = cos_metrics.delta_by_label(
        before, cos_metrics.scrape(world), "evidence_publish_retries_total", "reason"
    )
    world.episode = episode
    world.note(
        "during the outage",
        f"{episode.fault} for {episode.seconds} s; peak outbox depth {episode.peak_outbox_depth()}; "
        f"publish retries {episode.notes['retries_during_outage']}",
    )
    return episode


MOMENTS = {
    ResetMoment.AS_COS_SENDS: "upstream",  # reset before MC reads the request: MC never sees it
    ResetMoment.AS_MC_ANSWERS: "downstream",  # reset after MC stored it: COS never hears back
}


def write_through_resets(world: World, moment: ResetMoment, count: int, per_second: float = 10.0) -> Episode:
    """Every connection to MC resets at `moment` while `count` evidence is written; then it recovers.

    The resets stay on until COS has counted at least one failed send per document (so every
    document really met a reset), bounded; then the link is healthy again.
    """
    before = cos_metrics.scrape(world)
    world.metrics_before = before
    faults.connection_resets(world, MOMENTS[moment])
    started = time.monotonic()
    writer = SteadyWriter(world, per_second, limit=count)
    world.writer = writer
    writer.start()
    try:
        writer.wait_done(count / per_second + 10)
        wait_until(
            f"COS to count a failed publish for each of {count} documents",
            lambda: (
                cos_metrics.delta(before, cos_metrics.scrape(world), "evidence_publish_retries_total")
                >= count
            ),
            budget_s=15,
            interval_s=0.1,
        )
    finally:
        faults.clear_toxics(world)
        writer.stop()
    episode = Episode(fault=f"connection resets {moment.value}", seconds=round(time.monotonic() - started, 3))
    world.episode = episode
    return episode


IN_FLIGHT_LATENCY_MS = 300  # requests sit this long on the link, so publishes are in flight at the kill


def kill_cos_mid_publish(world: World, per_second: float, after_restart: int = 10) -> Episode:
    """SIGKILL COS while publishes are in flight (some stored at MC, some not), restart it on the
    same data dir, and keep writing until `after_restart` more documents are accepted.

    Requests to MC are held `IN_FLIGHT_LATENCY_MS` on the link so that at the moment of the kill
    COS has sends outstanding; the delay is lifted as COS dies, so a request already on the wire
    can reach MC after COS is gone (stored at MC, never confirmed to COS).
    """
    writer = SteadyWriter(world, per_second)
    world.writer = writer
    faults.requests_delayed(world, IN_FLIGHT_LATENCY_MS)
    writer.start()
    episode = Episode(fault="COS killed mid-publish")

    def publishing_in_flight() -> bool:
        accepted = {w.key for w in writer.accepted()}
        pending = accepted & _pending_keys(world)
        confirmed = len(accepted) - len(pending)  # COS marks an entry only once MC confirmed it
        episode.notes.update(accepted_before_kill=len(accepted), pending_at_kill=len(pending))
        return confirmed >= 3 and bool(pending)

    try:
        wait_until("publishes confirmed by MC and others still in flight", publishing_in_flight, 15, 0.05)
        faults.kill_cos(world)
        killed_at = time.monotonic()
        faults.clear_toxics(world)
        episode.notes["cos_restart_s"] = round(faults.start_cos(world), 3)
        # A restarted COS counts from zero, and its publisher starts resending before /readyz
        # answers: its counters since the restart are its absolute values.
        world.metrics_before = cos_metrics.Scrape({})
        episode.notes["cos_down_s"] = round(time.monotonic() - killed_at, 3)
        target = len(writer.accepted()) + after_restart
        wait_until(
            f"{after_restart} more documents accepted after the restart",
            lambda: len(writer.accepted()) >= target,
            budget_s=after_restart / per_second + COS_UNANSWERED_BUDGET_S,
            interval_s=0.05,
        )
    finally:
        writer.stop()
    world.episode = episode
    world.note("the crash", repr(episode.notes))
    return episode


def expect_all_accepted_eventually(world: World) -> None:
    """Every document the writer sent was accepted: at once, or — sent while COS was down — once
    it was back (the writer retries under the same key). Notes how many needed a retry."""
    written = writer_of(world).snapshot()
    assert written, "no evidence was written"
    retried = [w for w in written if len(w.answers) > 1]
    refused = [(w.key, w.answers) for w in written if not w.accepted]
    world.note(
        "evidence written",
        f"{len(written)} written; {len(retried)} retried by the writer while COS was down "
        f"({sum(1 for w in retried if w.answers[-1] == '202 replay')} of them answered as replays)",
    )
    assert not refused, f"{len(refused)} of {len(written)} never accepted: {refused[:5]}"


def expect_failed_publish_each(world: World) -> None:
    """COS counted at least one failed publish (a retry) per document written during the fault."""
    counts = publish_counters(world)
    count = len(writer_of(world).snapshot())
    assert count, "no evidence was written"
    retries = sum(counts["retries"].values())
    assert retries >= count, f"expected ≥ {count} publish retries, COS counted {counts['retries']}"


# --- pack polls under slow and silent links ------------------------------------------------------
FETCH = "policy_fetch_duration_seconds"


def _polls(scrape: cos_metrics.Scrape) -> tuple[float, float, float]:
    """(completed polls, of which slower than 1 s, total seconds) over non-error outcomes."""
    count = scrape.total(f"{FETCH}_count") - scrape.total(f"{FETCH}_count", outcome="error")
    fast = scrape.total(f"{FETCH}_bucket", le="1.0") - scrape.total(
        f"{FETCH}_bucket", le="1.0", outcome="error"
    )
    total = scrape.total(f"{FETCH}_sum") - scrape.total(f"{FETCH}_sum", outcome="error")
    return count, count - fast, total


@dataclass(frozen=True)
class SlowPolls:
    completed: int
    slow: int
    mean_slow_s: float
    failed: int


def observe_slow_polls(world: World, latency_ms: int, polls: int, budget_s: float = 15) -> SlowPolls:
    """Delay MC's answers by `latency_ms` until COS has completed `polls` slow pack polls."""
    before = cos_metrics.scrape(world)
    faults.mc_answers_late(world, latency_ms)
    b_count, b_slow, b_sum = _polls(before)

    def slow_polls_done() -> bool:
        count, slow, _ = _polls(cos_metrics.scrape(world))
        return slow - b_slow >= polls

    wait_until(f"{polls} pack polls through a {latency_ms} ms delay", slow_polls_done, budget_s, 0.1)
    after = cos_metrics.scrape(world)
    count, slow, total = _polls(after)
    slow_n = int(slow - b_slow)
    result = SlowPolls(
        completed=int(count - b_count),
        slow=slow_n,
        mean_slow_s=round((total - b_sum) / slow_n, 3),  # fast polls add only milliseconds to the sum
        failed=int(cos_metrics.delta(before, after, f"{FETCH}_count", outcome="error")),
    )
    world.slow_polls = result
    world.note(
        "pack polls while MC was slow",
        f"delay {latency_ms} ms: {result.completed} polls completed, {result.slow} slower than 1 s, "
        f"mean of the slow ones {result.mean_slow_s} s, {result.failed} failed",
    )
    return result


@dataclass(frozen=True)
class FailedPoll:
    failures: int  # policy_fetch_errors_total increase at this point
    backoff_s: float  # policy_fetch_backoff_seconds COS set after it
    at_s: float  # seconds since MC went silent


def observe_silent_polls(world: World, failures: int, budget_s: float = 25) -> list[FailedPoll]:
    """Make MC silent (answers never arrive) until COS has given up on `failures` pack polls.

    Samples COS's metrics meanwhile: after each failed poll COS sets the backoff it will wait
    before the next one; the samples are the data the backoff assertion judges.
    """
    before = cos_metrics.scrape(world)
    faults.mc_silent(world)
    started = time.monotonic()
    seen: list[FailedPoll] = []

    def sample() -> bool:
        now = cos_metrics.scrape(world)
        n = int(cos_metrics.delta(before, now, "policy_fetch_errors_total"))
        if n and (not seen or n > seen[-1].failures):
            seen.append(
                FailedPoll(n, now.total("policy_fetch_backoff_seconds"), round(time.monotonic() - started, 3))
            )
        return n >= failures

    wait_until(f"COS to give up on {failures} pack polls to a silent MC", sample, budget_s, 0.05)
    world.failed_polls = seen
    world.note(
        "pack polls while MC was silent",
        "\n".join(
            f"after {p.failures} failed poll(s) at {p.at_s}s: backoff {p.backoff_s:.3f}s" for p in seen
        ),
    )
    return seen


def expect_slow_polls_succeeded(world: World, min_s: float) -> None:
    """No pack poll failed while MC was only slow, and the slow ones took at least `min_s`."""
    polls: SlowPolls | None = world.slow_polls
    assert polls is not None, "no slow pack polls were observed in this scenario"
    assert polls.failed == 0, f"{polls.failed} pack polls failed while MC was only slow: {polls}"
    assert polls.mean_slow_s >= min_s, f"the slow polls took {polls.mean_slow_s}s on average, not ≥ {min_s}s"


def expect_backed_off(world: World) -> None:
    """COS waited longer after each failed poll it made while MC was silent."""
    expect_backoff_grew(world.failed_polls or [])


def expect_backoff_grew(polls: list[FailedPoll]) -> None:
    backoffs = [p.backoff_s for p in polls]
    assert len(backoffs) >= 2, f"need at least two failed polls to see a backoff, saw {polls}"
    assert all(b > 0 for b in backoffs), f"COS retried without waiting: backoffs {backoffs}"
    assert all(b2 >= b1 for b1, b2 in zip(backoffs, backoffs[1:], strict=False)), (
        f"COS's backoff shrank between failed polls: {backoffs}"
    )
    assert backoffs[-1] > backoffs[0], f"COS did not back off further after repeated failures: {backoffs}"


def wait_poll_succeeds(world: World, budget_s: float) -> float:
    """Seconds from the fault's removal until COS completes a pack poll again."""
    before, _, _ = _polls(cos_metrics.scrape(world))
    return wait_recovered(
        world, "a successful pack poll", lambda: _polls(cos_metrics.scrape(world))[0] > before, budget_s
    )


# --- recovery and reconciliation ---------------------------------------------------------------
def wait_recovered(world: World, what: str, probe, budget_s: float) -> float:
    """Wait until `probe` holds, within `budget_s` of the fault's removal; returns the time to recover.

    A budget already spent when the check starts fails (readiness.wait_within): recovery cannot
    be shown to have happened in time.
    """
    took = round(
        wait_within(f"{what} after the fault's removal", probe, faults.cleared_at(world), budget_s), 3
    )
    world.time("time_to_recover_s", took)
    world.note("time to recover", f"{what}: {took} s after the fault was removed (budget {budget_s} s)")
    return took


def _pending_keys(world: World) -> set[str]:
    reply = world.cos.request("GET", "/v1/evidence", params={"state": "pending", "limit": 10000})
    assert reply.status == 200, f"listing COS's pending evidence failed: {reply.status} {reply.body}"
    return {item["idempotency_key"] for item in reply.body["items"]}


def wait_drained(world: World, budget_s: float) -> float:
    """Seconds from the fault's removal until none of the evidence COS accepted is pending."""
    keys = {w.key for w in writer_of(world).accepted()}
    assert keys, "COS accepted no evidence in this scenario"
    return wait_recovered(
        world,
        f"COS's outbox drained of {len(keys)} evidence",
        lambda: not (keys & _pending_keys(world)),
        budget_s,
    )


def reconcile(world: World, budget_s: float = 10, note: bool = True) -> Reconciliation:
    """MC's ledger for the scenario's documents; waits (bounded) until none is missing."""
    written = writer_of(world).snapshot()
    accepted = {w.key: w.digest for w in written if w.accepted}

    def snapshot() -> Reconciliation:
        return evidence_ledger(world, accepted, written=len(written))

    try:
        wait_until("MC to hold every accepted document", lambda: not snapshot().lost, budget_s, 0.2)
    except Exception:  # noqa: BLE001 - the assertion below says what is missing
        pass
    result = snapshot()
    if not note:
        return result
    world.note("evidence ledger", result.summary())
    counts = world.timings
    counts.update(
        evidence_accepted=len(result.accepted),
        evidence_stored_at_mc=len(result.accepted) - len(result.lost),
        duplicates=len(result.duplicated),
    )
    return result


expect_exact = expect_exactly_once


def expect_ledger_exact(world: World) -> None:
    """MC holds exactly the evidence COS accepted: none lost, none twice (by document digest)."""
    expect_exact(reconcile(world))


def wait_enforcing_mc_pack(world: World, budget_s: float) -> float:
    """Seconds from the fault's removal until COS enforces the pack MC serves (within `budget_s`)."""
    served = policy.mc_pack_digest(world)
    return wait_recovered(
        world, "COS enforcing MC's pack", lambda: policy.enforced(world).get("digest") == served, budget_s
    )


def expect_replays_counted(world: World) -> None:
    """Every resend MC answered as a replay of evidence it already held, COS counted as a dedupe.

    Only meaningful where no answer from MC was lost after the fault (e.g. after a COS crash):
    then MC's replay count for the scenario's documents and COS's dedupe count must agree.
    """
    counts = publish_counters(world)
    replays = reconcile(world, note=False).replays
    assert counts["dedupe"] == replays, (
        f"MC answered {replays} resends as replays, COS counted {counts['dedupe']} dedupes"
    )


def publish_counters(world: World) -> dict[str, Any]:
    """COS's retry and replay counters since the scenario's first snapshot (for notes and checks)."""
    before = world.metrics_before
    after = cos_metrics.scrape(world)
    counts = {
        "retries": cos_metrics.delta_by_label(before, after, "evidence_publish_retries_total", "reason"),
        "dedupe": cos_metrics.delta(before, after, "evidence_publish_dedupe_total"),
        "published": cos_metrics.delta(before, after, "evidence_published_total"),
    }
    world.note("COS publish counters", repr(counts))
    return counts


def _health_sample(world: World) -> dict[str, Any]:
    reply = world.cos.health()
    return reply.body if reply.status == 200 and isinstance(reply.body, dict) else {}
