"""The receipt delivery loop: every stored evidence earns one signed callback, until 2xx.

Why durable and bounded: the receipt is how COS learns its evidence arrived, so
a pending receipt lives in SQLite (written with the evidence) and a restarted MC
resumes it; retries back off exponentially (tenacity) with a cap between
attempts and a bounded number of attempts, counted across restarts. A receipt
for a client with no callback URL waits, unattempted, until one is configured.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from conductor.companyos_client import ReceiptSender
from conductor.evidence_store import EvidenceStore, PendingReceipt
from conductor.metrics import Metrics
from conductor.settings import Settings

log = logging.getLogger("conductor.receipts")
MAX_CONCURRENT_DELIVERIES = 16


class DeliveryFailed(Exception):
    """One attempt did not get a 2xx; tenacity retries these."""


class NoCallback(Exception):
    """The client has no callback URL yet; the receipt stays pending without spending attempts."""


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
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def running(self) -> bool:
        return self._client is not None

    async def start(self) -> None:
        """Open the HTTP client and resume every receipt still pending on disk."""
        self._client = httpx.AsyncClient(timeout=self._settings.receipt_timeout_s, transport=self._transport)
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_DELIVERIES)
        self.resume()

    async def stop(self) -> None:
        await self.cancel_all()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def cancel_all(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def resume(self, client_id: str | None = None) -> None:
        if not self.running:
            return
        for receipt in self._store.pending_receipts(client_id):
            self._spawn(receipt)

    def kick(self, evidence_id: str) -> None:
        """Deliver a freshly stored receipt now (no-op until the loop has started)."""
        if not self.running:
            return
        receipt = self._store.pending_receipt(evidence_id)
        if receipt is not None:
            self._spawn(receipt)

    def _spawn(self, receipt: PendingReceipt) -> None:
        if receipt.evidence_id in self._tasks:
            return
        task = asyncio.get_running_loop().create_task(self._deliver(receipt))
        self._tasks[receipt.evidence_id] = task
        task.add_done_callback(lambda _t, eid=receipt.evidence_id: self._tasks.pop(eid, None))

    async def _deliver(self, receipt: PendingReceipt) -> None:
        s = self._settings
        remaining = s.receipt_max_attempts - receipt.attempts
        try:
            if remaining <= 0:
                raise DeliveryFailed("no attempts left")
            retrying = AsyncRetrying(
                stop=stop_after_attempt(remaining),
                wait=wait_exponential(
                    multiplier=s.receipt_backoff_initial_s,
                    min=s.receipt_backoff_initial_s,
                    max=s.receipt_backoff_max_s,
                ),
                retry=retry_if_exception_type(DeliveryFailed),
                reraise=True,
            )
            async for attempt in retrying:
                with attempt:
                    await self._attempt(receipt)
        except NoCallback:
            log.debug("receipt for %s waits for a callback URL", receipt.evidence_id)
        except DeliveryFailed:
            await asyncio.to_thread(self._store.receipt_given_up, receipt.evidence_id)
            self._metrics.receipts_given_up.inc()
            log.warning("gave up delivering the receipt for %s", receipt.evidence_id)

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

    async def _attempt(self, receipt: PendingReceipt) -> None:
        url, _ = await asyncio.to_thread(self.callback_for, receipt.client_id)
        if not url:
            raise NoCallback(receipt.client_id)
        assert self._client is not None and self._slots is not None
        sender = ReceiptSender(url, self._key, timeout=self._settings.receipt_timeout_s, client=self._client)
        error: str
        async with self._slots:
            try:
                response = await sender.send_async(receipt.body)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}"
            else:
                if 200 <= response.status_code < 300:
                    await asyncio.to_thread(self._store.receipt_delivered, receipt.evidence_id)
                    self._metrics.receipts_delivered.inc()
                    return
                error = f"HTTP {response.status_code}"
        await asyncio.to_thread(self._store.receipt_failed_attempt, receipt.evidence_id, error)
        self._metrics.receipts_failed.inc()
        raise DeliveryFailed(error)
