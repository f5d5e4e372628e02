"""DSSE envelopes over in-toto Statement v1, signed with Ed25519.

MC signs one statement per pack revision; COS verifies it against the pinned MC
public key before it lets a fetched pack decide anything. The signature covers
DSSE's pre-authentication encoding (PAE), so payload type and body are bound.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from seam import keys

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PACK_PREDICATE = "https://cos-pact-e2e.dev/attestation/policy-pack/v1"


class AttestationError(ValueError):
    """The envelope is malformed, unsigned, signed by another key, or about other bytes."""


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def pack_statement(pack: str, revision: str, digest_hex: str) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": pack, "digest": {"sha256": digest_hex}}],
        "predicateType": PACK_PREDICATE,
        "predicate": {"pack": pack, "revision": revision},
    }


def sign(statement: dict[str, Any], key: Ed25519PrivateKey | None) -> dict[str, Any]:
    """Wrap `statement` in an envelope; `key=None` yields an unsigned envelope."""
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode("utf-8")
    signatures = []
    if key is not None:
        sig = key.sign(pae(PAYLOAD_TYPE, payload))
        signatures.append(
            {"keyid": keys.key_id(key.public_key()), "sig": base64.b64encode(sig).decode("ascii")}
        )
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": signatures,
    }


def verify(envelope: dict[str, Any], public_key: Ed25519PublicKey) -> dict[str, Any]:
    """Return the statement if some signature verifies under `public_key`."""
    try:
        payload_type = envelope["payloadType"]
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = envelope.get("signatures") or []
    except (KeyError, TypeError, ValueError) as exc:
        raise AttestationError(f"malformed DSSE envelope: {exc}") from exc
    if payload_type != PAYLOAD_TYPE:
        raise AttestationError(f"unexpected payloadType {payload_type!r}")
    if not signatures:
        raise AttestationError("envelope is unsigned")
    message = pae(payload_type, payload)
    for entry in signatures:
        try:
            public_key.verify(base64.b64decode(entry["sig"], validate=True), message)
        except (InvalidSignature, KeyError, TypeError, ValueError):
            continue
        break
    else:
        raise AttestationError("no signature verifies under the pinned MC key")
    try:
        return json.loads(payload)
    except ValueError as exc:
        raise AttestationError("signed payload is not JSON") from exc


def verify_pack(
    envelope: dict[str, Any], public_key: Ed25519PublicKey, pack: str, digest_hex: str
) -> dict[str, Any]:
    """Verify the envelope *and* that it attests exactly this pack's bytes."""
    statement = verify(envelope, public_key)
    if statement.get("_type") != STATEMENT_TYPE:
        raise AttestationError("payload is not an in-toto Statement v1")
    for subject in statement.get("subject") or []:
        if subject.get("name") == pack and subject.get("digest", {}).get("sha256") == digest_hex:
            return statement
    raise AttestationError("attested subject digest does not match the pack bytes")
