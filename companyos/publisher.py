"""Drains the outbox to MC: at-least-once sends, exactly-once records via idempotency keys.

Why this is safe to retry blindly: every send of an entry carries the same
`Idempotency-Key` and the same bytes (as accepted), so MC stores it once and
answers later sends as a replay (`Idempotent-Replayed: true`), which counts
as published (`evidence_publish_dedupe_total`). A kill -9 between MC's 201
and COS's bookkeeping therefore costs one replayed send, never a duplicate.

Outcomes of one send:
- 2xx → published (with MC's evidence id); a replay additionally counts as dedupe;
- 409 in flight, 401 (token dropped and renewed), 403, 429, 5xx, transport
  errors → retried later (`evidence_publish_retries_total{reason}`);
- other 4xx (MC says the evidence itself is unacceptable) → parked at the
  maximum backoff with `last_error` (`evidence_publish_rejected_total`); it
  stays pending and visible rather than being dropped.
Retry delays come from tenacity's exponential-with-jitter wait, bounded by
the backoff cap, and are stored per entry so they survive a restart; the
first success after a failure makes every backed-off entry due at once.

Why a rolling window: up to `concurrency` publishes (default 8) are in flight
at once on the client's one keep-alive connection pool, and a slot is refilled
from the outbox as soon as its send ends — one slow or timing-out send holds
one slot, never the rest of the queue. An entry is never in flight twice. MC
does not promise an order (docs/seam.md) and the idempotency key makes every
send of an entry the same one, so nothing depends on which finishes first.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import tenacity
from starlette.concurrency import run_in_threadpool

from companyos import mutations as mut
from companyos.credentials import CredentialError, TokenCache
from companyos.health import RuntimeStatus
from companyos.mc_client import ConductorClient, PublishResult
from companyos.metrics import Metrics
from companyos.mutations import Mutations
from companyos.outbox import Entry, Outbox

log = logging.getLogger("companyos.publisher")

IDLE_WAKE_S = 1.0


def retry_wait(cap_s: float) -> tenacity.wait.wait_base:
    return tenacity.wait_exponential_jitter(multiplier=0.2, max=cap_s, jitter=0.3)


def delay_for(wait: tenacity.wait.wait_base, attempt: int) -> float:
    """Evaluate a tenacity wait strategy for the n-th attempt, outside a Retrying loop."""
    state = tenacity.RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = max(1, attempt)
    return float(wait(state))


class EvidencePublisher:
    def __init__(
        self,
        client: ConductorClient,
        tokens: TokenCache,
        outbox: Outbox,
        metrics: Metrics,
        status: RuntimeStatus,
        *,
        backoff_cap_s: float,
        concurrency: int = 8,
        mutations: Mutations | None = None,
    ) -> None:
        self._client = client
        self._tokens = tokens
        self._outbox = outbox
        self._metrics = metrics
        self._status = status
        self._cap = backoff_cap_s
        self._wait = retry_wait(backoff_cap_s)
        self._concurrency = max(1, concurrency)
        self._wake = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task[None]] = {}  # evidence id → its publish, one at a time
        self._failing = False
        self._mutations = mutations or Mutations()

    def notify(self) -> None:
        """Called after a 202: publish now instead of at the next idle wake-up."""
        self._wake.set()

    async def run(self) -> None:
        """Keep up to `concurrency` publishes in flight, refilling a slot as soon as one ends."""
        try:
            while True:
                try:
                    self._wake.clear()  # before the query: a notify() or a finished send wakes the wait
                    if await self._fill_slots():
                        continue
                    if self._in_flight:
                        await self._wait_for_wake(IDLE_WAKE_S)  # a finished send or a notify wakes us
                    else:
                        await self._sleep_until_due()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug or a storage error must not end publishing
                    log.error("publisher loop error: %s", type(exc).__name__)
                    await asyncio.sleep(1.0)
        finally:
            tasks = list(self._in_flight.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _fill_slots(self) -> bool:
        """Start publishes for due entries not already in flight; True if any was started."""
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return False
        due = await run_in_threadpool(self._outbox.due, time.time(), free + len(self._in_flight))
        fresh = [e for e in due if e.evidence_id not in self._in_flight][:free]
        for entry in fresh:
            task = asyncio.get_running_loop().create_task(self._publish_in_slot(entry))
            self._in_flight[entry.evidence_id] = task
        return bool(fresh)

    async def _publish_in_slot(self, entry: Entry) -> None:
        try:
            await self.publish_one(entry)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the entry stays pending: the next due query picks it up again
            log.error("publish of %s failed: %s", entry.evidence_id, type(exc).__name__)
            await asyncio.sleep(1.0)
        finally:
            self._in_flight.pop(entry.evidence_id, None)
            self._wake.set()  # a slot is free

    async def _wait_for_wake(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=max(timeout, 0.01))
        except TimeoutError:
            pass

    async def _sleep_until_due(self) -> None:
        next_at = await run_in_threadpool(self._outbox.next_due_at)
        timeout = IDLE_WAKE_S if next_at is None else min(IDLE_WAKE_S, max(0.0, next_at - time.time()))
        await self._wait_for_wake(timeout)

    async def publish_one(self, entry: Entry) -> str:
        """Send one entry once; record the outcome. Returns published|replayed|retry|rejected."""
        try:
            token = await self._tokens.token()
            result = await self._client.publish_evidence(entry.body, self._key_for(entry), token=token)
        except CredentialError as exc:
            self._status.mc_ok()
            return await self._retry(entry, "token", f"token refused: {exc.reason}")
        except httpx.TimeoutException as exc:
            self._status.mc_down()
            return await self._retry(entry, "timeout", type(exc).__name__)
        except httpx.TransportError as exc:
            self._status.mc_down()
            return await self._retry(entry, "unreachable", type(exc).__name__)
        return await self._handle(entry, result)

    def _key_for(self, entry: Entry) -> str:
        """The entry's own key on every send (test-only mutation: a fresh one per retry)."""
        if entry.attempts and self._mutations.active(mut.PUBLISHER_NEW_KEY_ON_RETRY):
            return f"{entry.idempotency_key}.retry-{entry.attempts}"
        return entry.idempotency_key

    async def _handle(self, entry: Entry, result: PublishResult) -> str:
        if result.status in (502, 503, 504):
            self._status.mc_down()
        else:
            self._status.mc_ok()
        if result.ok:
            await run_in_threadpool(
                self._outbox.mark_published, entry.evidence_id, result.evidence_id, result.replayed
            )
            self._metrics.evidence_published.inc()
            if result.replayed:
                self._metrics.evidence_publish_dedupe.inc()
            if self._failing:
                self._failing = False
                self._status.publisher_backoff = False
                n = await run_in_threadpool(self._outbox.expedite)
                if n:
                    log.info("MC accepts evidence again; %d backed-off entries made due", n)
                    self._wake.set()
            return "replayed" if result.replayed else "published"
        if result.status == 401:
            self._tokens.invalidate()
            return await self._retry(entry, "unauthorized", "MC rejected the token")
        if result.status == 409:
            return await self._retry(entry, "in_flight", "MC is still handling this key")
        if result.status == 403:
            return await self._retry(entry, "forbidden", "token lacks evidence:write")
        if result.status in (408, 425, 429) or result.status >= 500:
            return await self._retry(entry, "server_error", f"HTTP {result.status}")
        reason = result.reason or f"http_{result.status}"
        self._metrics.evidence_publish_rejected.labels(reason).inc()
        log.error(
            "MC refused evidence %s (key %s): %s %s; parked, will retry at the backoff cap",
            entry.evidence_id,
            entry.idempotency_key,
            result.status,
            reason,
        )
        await run_in_threadpool(
            self._outbox.schedule_retry, entry.evidence_id, time.time() + self._cap, f"rejected:{reason}"
        )
        return "rejected"

    async def _retry(self, entry: Entry, reason: str, detail: str) -> str:
        self._failing = True
        self._status.publisher_backoff = True
        self._metrics.evidence_publish_retries.labels(reason).inc()
        if self._mutations.active(mut.PUBLISHER_DROPS_FAILED):  # test-only: a failed send counts as sent
            await run_in_threadpool(self._outbox.mark_published, entry.evidence_id, None, False)
            return "dropped"
        delay = delay_for(self._wait, entry.attempts + 1)
        log.info("publish of %s will be retried in %.2fs (%s: %s)", entry.evidence_id, delay, reason, detail)
        error = f"{reason}: {detail}"
        await run_in_threadpool(self._outbox.schedule_retry, entry.evidence_id, time.time() + delay, error)
        return "retry"
