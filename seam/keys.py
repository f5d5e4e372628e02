"""Ed25519 signing keys: generated once into a data dir, pinned by the peer.

Why Ed25519: small keys, deterministic signatures, one algorithm for JWTs
(EdDSA), DSSE envelopes and receipts, all from the `cryptography` package.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def generate() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def load_or_create(path: Path) -> Ed25519PrivateKey:
    """Load a PEM private key, creating it (mode 0600, atomically) if absent."""
    if path.exists():
        return load_private(path.read_bytes())
    key = generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem(key))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return key


def load_private(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("expected an Ed25519 private key")
    return key


def load_public(pem: bytes | str) -> Ed25519PublicKey:
    if isinstance(pem, str):
        pem = pem.encode("ascii")
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("expected an Ed25519 public key")
    return key


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(key: Ed25519PublicKey) -> str:
    """A stable key id: base64url SHA-256 of the raw public key, 16 chars."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).decode("ascii")[:16]
