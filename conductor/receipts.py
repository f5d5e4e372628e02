"""The receipt delivery loop: every stored evidence earns a signed receipt, delivered until 2xx.

Why durable and bounded: the receipt is how COS learns its evidence arrived, so
a pending receipt lives in SQLite (written with the evidence) and a restarted MC
resumes it; a failed attempt backs off exponentially (initial·2^(n−1), capped)
and a receipt has a bounded number of attempts, counted across restarts. A
receipt for a client with no callback URL waits, unattempted, until one is
configured.

Why batches (docs/seam.md, "Batched receipts"): each client has one delivery
lane with at most one callback in flight. Whatever became due while that
callback was out goes in the next one — up to `MAX_BATCH_RECEIPTS` receipts and
`MAX_BATCH_BYTES` — as `{"receipts": [...]}` signed as a whole, so a burst of
writes costs COS a handful of receipt callbacks instead of one each. Nobody
waits for a timer: a lone receipt goes at once, in the original single form.

Outcomes of a batch: 2xx → every receipt delivered; transport error, 5xx, 408
or 429 → a failed attempt for each receipt (each backs off on its own count);
any other 4xx → COS refused the batch form (a COS from before batches) or an
item in it (a batch is all or nothing at COS), so each receipt of it is sent
once more on its own in the single form, where a bad one fails alone.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conductor.companyos_client import ReceiptSender, encode_batch
from conductor.evidence_store import EvidenceStore, PendingReceipt
from conductor.metrics import Metrics
from conductor.settings import Settings

log = logging.getLogger("conductor.receipts")
MAX_CONCURRENT_DELIVERIES = 16  # callbacks in flight across all clients
MAX_BATCH_RECEIPTS = 64
MAX_BATCH_BYTES = 32 * 1024  # COS reads at most 64 KiB (companyos/receipts.py)
RETRYABLE = frozenset({408, 425, 429})


@dataclass
class _Due:
    receipt: PendingReceipt
    attempts: int
    seq: int  # enqueue order: batches keep the order the receipts were stored in
    not_before: float = 0.0  # event-loop time


@dataclass
class _Lane:
    """One client's receipts: queued ones (each due at `not_before`) and the ones in flight."""

    queued: dict[str, _Due] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def due(self, now: float) -> list[_Due]:
        """The queued receipts due at `now`, in the order they were stored."""
        return sorted((d for d in self.queued.values() if d.not_before <= now), key=lambda d: d.seq)


def take_batch(due: list[_Due]) -> list[_Due]:
    """The oldest due receipts that fit one callback (count and bytes); at least one."""
    batch: list[_Due] = []
    size = len(b'{"receipts":[]}')
    for d in due:
        size += len(d.receipt.body) + 1
        if batch and (len(batch) >= MAX_BATCH_RECEIPTS or size > MAX_BATCH_BYTES):
            break
        batch.append(d)
    return batch


class ReceiptDispatcher:
    def __init__(
        self,
        store: EvidenceStore,
        signing_key: Ed25519PrivateKey,
        settings: Settings,
        metrics: Metrics,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._store = store
        self._key = signing_key
        self._settings = settings
        self._metrics = metrics
        self._transport = transport
        self._lanes: dict[str, _Lane] = {}
        self._seq = itertools.count()
        self._client: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def running(self) -> bool:
        return self._client is not None

    async def start(self) -> None:
        """Open the HTTP client (one keep-alive pool) and resume every receipt still pending on disk."""
        self._client = httpx.AsyncClient(timeout=self._settings.receipt_timeout_s, transport=self._transport)
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_DELIVERIES)
        self.resume()

    async def stop(self) -> None:
        await self.cancel_all()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def cancel_all(self) -> None:
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        self._lanes.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def resume(self, client_id: str | None = None) -> None:
        if not self.running:
            return
        for receipt in self._store.pending_receipts(client_id):
            self._enqueue(receipt)

    def kick(self, evidence_id: str) -> None:
        """Deliver a freshly stored receipt now (no-op until the loop has started)."""
        if not self.running:
            return
        receipt = self._store.pending_receipt(evidence_id)
        if receipt is not None:
            self._enqueue(receipt)

    def _enqueue(self, receipt: PendingReceipt) -> None:
        lane = self._lanes.get(receipt.client_id)
        if lane is None or lane.task is None or lane.task.done():
            lane = self._lanes[receipt.client_id] = _Lane()
            lane.task = asyncio.get_running_loop().create_task(self._run_lane(receipt.client_id, lane))
        if receipt.evidence_id not in lane.queued and receipt.evidence_id not in lane.in_flight:
            lane.queued[receipt.evidence_id] = _Due(receipt, receipt.attempts, next(self._seq))
        lane.wake.set()  # even when already queued: a lane that found no callback URL looks again

    def callback_for(self, client_id: str) -> tuple[str | None, str | None]:
        """(callback URL, COS base URL): stored via the admin API, else `--callback-url` for the dev client.

        The base URL defaults to the callback URL's origin.
        """
        url, base_url = self._store.callback(client_id)
        if url is None and client_id == self._settings.client_id:
            url = self._settings.callback_url
        if base_url is None and url:
            parts = urlsplit(url)
            base_url = f"{parts.scheme}://{parts.netloc}"
        return url, base_url

    # -- one client's lane ---------------------------------------------------------------------
    async def _run_lane(self, client_id: str, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        while True:
            lane.wake.clear()  # before looking: an _enqueue after this wakes the wait below
            now = loop.time()
            if not lane.due(now):
                waits = [d.not_before - now for d in lane.queued.values()]
                try:
                    await asyncio.wait_for(lane.wake.wait(), timeout=min(waits) if waits else None)
                except TimeoutError:
                    pass
                continue
            url, _ = await asyncio.to_thread(self.callback_for, client_id)
            if not url:
                if lane.wake.is_set():
                    continue  # enqueued while we asked (perhaps by a callback PUT): ask again
                # they stay pending on disk; resume(client_id) after a callback PUT brings them back
                log.debug("%d receipt(s) for %s wait for a callback URL", len(lane.queued), client_id)
                lane.queued.clear()
                continue
            batch = take_batch(lane.due(loop.time()))  # with what was enqueued while we asked
            for d in batch:
                del lane.queued[d.receipt.evidence_id]
                lane.in_flight.add(d.receipt.evidence_id)
            try:
                await self._deliver(url, lane, batch)
            except Exception as exc:  # a storage error must not end this client's deliveries
                log.error("receipt delivery for %s failed: %s", client_id, type(exc).__name__)
                await asyncio.sleep(1.0)
            finally:
                lane.in_flight.difference_update(d.receipt.evidence_id for d in batch)

    async def _deliver(self, url: str, lane: _Lane, batch: list[_Due]) -> None:
        spent = [d for d in batch if d.attempts >= self._settings.receipt_max_attempts]
        if spent:
            await asyncio.gather(*(self._give_up(d) for d in spent))
            batch = [d for d in batch if d not in spent]
        if len(batch) == 1:
            await self._deliver_single(url, lane, batch[0])
            return
        if not batch:
            return
        sender = self._sender(url)
        status, error = await self._post(sender, encode_batch([d.receipt.body for d in batch]), "batch")
        if status is not None and 200 <= status < 300:
            await self._delivered(batch)
        elif status is not None and 400 <= status < 500 and status not in RETRYABLE:
            log.info(
                "COS refused a batch of %d receipts (HTTP %d): sending them one by one", len(batch), status
            )
            await asyncio.gather(*(self._deliver_single(url, lane, d) for d in batch))
        else:
            failed_at = asyncio.get_running_loop().time()  # one clock: equal counts retry together
            await asyncio.gather(*(self._failed(lane, d, error, failed_at) for d in batch))

    async def _deliver_single(self, url: str, lane: _Lane, d: _Due) -> None:
        status, error = await self._post(self._sender(url), d.receipt.body, "single")
        if status is not None and 200 <= status < 300:
            await self._delivered([d])
        else:
            await self._failed(lane, d, error, asyncio.get_running_loop().time())

    def _sender(self, url: str) -> ReceiptSender:
        return ReceiptSender(url, self._key, timeout=self._settings.receipt_timeout_s, client=self._client)

    async def _post(self, sender: ReceiptSender, body: bytes, form: str) -> tuple[int | None, str]:
        """One signed callback: (status, error text); status None when the transport failed."""
        assert self._slots is not None
        async with self._slots:
            self._metrics.receipt_callbacks.labels(form).inc()
            try:
                response = await sender.send_async(body)
            except httpx.HTTPError as exc:
                return None, type(exc).__name__
        return response.status_code, f"HTTP {response.status_code}"

    async def _delivered(self, batch: list[_Due]) -> None:
        # concurrent writes: the store's group commit puts them in one transaction
        await asyncio.gather(
            *(asyncio.to_thread(self._store.receipt_delivered, d.receipt.evidence_id) for d in batch)
        )
        self._metrics.receipts_delivered.inc(len(batch))

    async def _failed(self, lane: _Lane, d: _Due, error: str, failed_at: float) -> None:
        s = self._settings
        d.attempts = await asyncio.to_thread(self._store.receipt_failed_attempt, d.receipt.evidence_id, error)
        self._metrics.receipts_failed.inc()
        if d.attempts >= s.receipt_max_attempts:
            await self._give_up(d)
            return
        delay = min(s.receipt_backoff_max_s, s.receipt_backoff_initial_s * 2 ** (d.attempts - 1))
        d.not_before = failed_at + max(delay, s.receipt_backoff_initial_s)
        lane.queued[d.receipt.evidence_id] = d
        lane.wake.set()

    async def _give_up(self, d: _Due) -> None:
        await asyncio.to_thread(self._store.receipt_given_up, d.receipt.evidence_id)
        self._metrics.receipts_given_up.inc()
        log.warning("gave up delivering the receipt for %s", d.receipt.evidence_id)
