"""Signed evidence receipts: how MC proves to COS that it stored evidence.

Scheme (documented in docs/seam.md): MC POSTs a JSON body and signs the bytes
`"<X-MC-Timestamp>.<body>"` with its Ed25519 key. Headers:
`X-MC-Timestamp: <unix seconds>` and
`X-MC-Signature: keyid=<kid>,alg=ed25519,sig=<base64>`.
COS verifies with the pinned MC public key and rejects stale timestamps, so a
captured receipt cannot be replayed later against a different outbox state.
"""

from __future__ import annotations

import base64
import re
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from seam import keys

TIMESTAMP_HEADER = "X-MC-Timestamp"
SIGNATURE_HEADER = "X-MC-Signature"
MAX_SKEW_S = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)


class ReceiptSignatureError(ValueError):
    """The receipt's signature is missing, malformed, stale or wrong."""


def _message(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode("ascii") + b"." + body


def sign(body: bytes, key: Ed25519PrivateKey, now: float | None = None) -> dict[str, str]:
    ts = str(int(now if now is not None else time.time()))
    sig = base64.b64encode(key.sign(_message(ts, body))).decode("ascii")
    kid = keys.key_id(key.public_key())
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: f"keyid={kid},alg=ed25519,sig={sig}"}


def verify(
    headers: dict[str, str] | object,
    body: bytes,
    public_key: Ed25519PublicKey,
    now: float | None = None,
) -> None:
    get = headers.get  # type: ignore[attr-defined]
    ts = get(TIMESTAMP_HEADER) or get(TIMESTAMP_HEADER.lower())
    header = get(SIGNATURE_HEADER) or get(SIGNATURE_HEADER.lower())
    if not ts or not header:
        raise ReceiptSignatureError("receipt signature headers are missing")
    try:
        params = dict(part.strip().split("=", 1) for part in header.split(","))
        sig = base64.b64decode(params["sig"], validate=True)
    except (KeyError, ValueError) as exc:
        raise ReceiptSignatureError("receipt signature header is malformed") from exc
    # ASCII digits only: int() would also take "\xa0123" or Arabic-Indic digits, which then
    # cannot be encoded into the signed message.
    if not _TIMESTAMP.fullmatch(ts):
        raise ReceiptSignatureError("receipt timestamp must be ASCII decimal digits")
    ts_int = int(ts)
    if params.get("alg") != "ed25519":
        raise ReceiptSignatureError("receipt signature algorithm must be ed25519")
    current = now if now is not None else time.time()
    if abs(current - ts_int) > MAX_SKEW_S:
        raise ReceiptSignatureError("receipt timestamp is outside the allowed skew")
    try:
        public_key.verify(sig, _message(ts, body))
    except InvalidSignature as exc:
        raise ReceiptSignatureError("receipt signature does not verify") from exc
