"""MC's client for the calls it makes to a COS deployment (MC is the consumer here).

Two small classes, each with the target URL injected, so the Pact consumer tests
can point them at a mock provider and MC's delivery loop / admin proxy can point
them at a real COS:

- `ReceiptSender` POSTs a signed evidence receipt (seam.receipts) to a callback URL — one receipt,
  or a batch `{"receipts": [...]}` (`encode_batch`) signed as a whole, the same way.
- `AttestationReader` reads COS `GET /v1/attestation`, optionally conditional.

Both offer a sync method (for tests and scripts) and an async twin (for MC's loop).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from seam import receipts

RECEIPT_PATH = "/v1/callbacks/evidence-receipts"
ATTESTATION_PATH = "/v1/attestation"
USER_AGENT = "maestro-conductor"


def encode_receipt(receipt: dict[str, Any] | bytes) -> bytes:
    """Receipt bodies are compact, key-sorted JSON; bytes pass through untouched."""
    if isinstance(receipt, bytes):
        return receipt
    return json.dumps(receipt, sort_keys=True, separators=(",", ":")).encode("utf-8")


def encode_batch(receipts: list[dict[str, Any] | bytes]) -> bytes:
    """A batch body `{"receipts":[…]}`: each receipt's exact bytes, compact (docs/seam.md,
    "Batched receipts"); signed as a whole like a single receipt."""
    return b'{"receipts":[' + b",".join(encode_receipt(r) for r in receipts) + b"]}"


class ReceiptSender:
    """Signs and POSTs receipts to one callback URL (the full URL, path included)."""

    def __init__(
        self,
        url: str,
        signing_key: Ed25519PrivateKey,
        *,
        timeout: float = 5.0,
        client: httpx.AsyncClient | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self._key = signing_key
        self._timeout = timeout
        self._client = client
        self._transport = transport

    @classmethod
    def for_base_url(cls, base_url: str, signing_key: Ed25519PrivateKey, **kwargs: Any) -> ReceiptSender:
        """A sender for COS's standard receipt path under `base_url`."""
        return cls(base_url.rstrip("/") + RECEIPT_PATH, signing_key, **kwargs)

    def prepare(
        self, receipt: dict[str, Any] | bytes, now: float | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The exact body and headers sent; signed afresh so the timestamp is current."""
        body = encode_receipt(receipt)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **receipts.sign(body, self._key, now=now),
        }
        return body, headers

    def send(self, receipt: dict[str, Any] | bytes) -> httpx.Response:
        body, headers = self.prepare(receipt)
        with httpx.Client(timeout=self._timeout, transport=self._transport) as client:
            return client.post(self.url, content=body, headers=headers)

    async def send_async(self, receipt: dict[str, Any] | bytes) -> httpx.Response:
        body, headers = self.prepare(receipt)
        if self._client is not None:
            return await self._client.post(self.url, content=body, headers=headers, timeout=self._timeout)
        async with httpx.AsyncClient(timeout=self._timeout) as client:
            return await client.post(self.url, content=body, headers=headers)


@dataclass(frozen=True)
class AttestationReply:
    """What COS answered: status, validators, and the attestation document on 200."""

    status: int
    etag: str | None
    content_digest: str | None
    attestation: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "etag": self.etag,
            "content_digest": self.content_digest,
            "attestation": self.attestation,
        }


def _reply(response: httpx.Response) -> AttestationReply:
    document = None
    if response.status_code == 200:
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        document = parsed if isinstance(parsed, dict) else None
    return AttestationReply(
        status=response.status_code,
        etag=response.headers.get("etag"),
        content_digest=response.headers.get("content-digest"),
        attestation=document,
    )


class AttestationReader:
    """Reads which pack a COS enforces, from `GET {base_url}/v1/attestation`."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + ATTESTATION_PATH
        self._timeout = timeout
        self._transport = transport
        self._async_transport = async_transport

    @staticmethod
    def _headers(if_none_match: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if if_none_match:
            headers["If-None-Match"] = if_none_match
        return headers

    def get(self, if_none_match: str | None = None) -> AttestationReply:
        with httpx.Client(timeout=self._timeout, transport=self._transport) as client:
            return _reply(client.get(self.url, headers=self._headers(if_none_match)))

    async def get_async(self, if_none_match: str | None = None) -> AttestationReply:
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._async_transport) as client:
            return _reply(await client.get(self.url, headers=self._headers(if_none_match)))
