"""Example documents the consumer tests send and the provider states set up.

Deterministic, so regenerating the pacts reproduces them byte for byte (the drift gate).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from seam import digest

PACK = "policy-pack-v0"
PACK_REVISION = "contract-r1"
UNKNOWN_PACK = "no-such-pack"

# A tiny but well-formed pack, only ever served by the *mock* MC. At verification the provider
# state publishes a real revision; the body is checked by content type and the validators
# against the digest MC reported when the state published it. Frozen as bytes (it is
# `seam.bundle.build(PACK, PACK_REVISION, {"authz.rego": "package companyos.authz\n\ndefault
# allow := false\n", "data.json": "{}\n"})`) so that a different zlib cannot change the pact.
EXAMPLE_PACK_BYTES = base64.b64decode(
    "H4sIAAAAAAAC/+3VsW7DIBQFUGa+AjHXFmltR4rUL6k6PBGcurXBApwqifLvhaTKkM51qvSeBcEDvPjyyoFs15oQ2e9RSVNV"
    "pzG5HtWiudS+15d1XTOh2AymEMmnT7L/6cCFkIOJtKZIciXyPK1YGkyaydH1nd4VI+mPYqtkKh4f8glvtl3onM17tLPRk46F"
    "X8hz0bkYUuXlfJd2w0h250I+/sqPnMGfQVN825febNzt8q8adZ3/Zf2I/M8hJ5s2RlxCWp7+CM7XpqWpj4L63n2K1bNoqQ8G"
    "2b0z+dkv34OzN+z/Sj396P8V8j9P/0c7BgAAAAAAAAAAAAAAAAC4C195bKpHACgAAA=="
)
EXAMPLE_PACK_ETAG = digest.etag_for(EXAMPLE_PACK_BYTES)
EXAMPLE_PACK_CONTENT_DIGEST = digest.content_digest(EXAMPLE_PACK_BYTES)

# MC's signing key *as the consumer test's mock uses it*: derived from a fixed seed so the
# example envelope (and so the pact) is reproducible. At verification MC runs with a key made
# for that run and the provider state signs with it; this key signs nothing real.
EXAMPLE_SIGNING_KEY = Ed25519PrivateKey.from_private_bytes(
    hashlib.sha256(b"cos-pact-e2e contract example MC signing key").digest()
)

USERNAME = "contract-user"
ROLES = ["developer"]


def evidence(n: int, kind: str = "test-report", release: str | None = None) -> dict[str, Any]:
    """Evidence document number `n` (distinct bodies for distinct idempotency keys)."""
    artifact = hashlib.sha256(f"contract-artifact-{n}".encode()).hexdigest()
    return {
        "release": release or f"2026.1.{n}",
        "kind": kind,
        "subject": {"name": "companyos-api", "digest": {"sha256": artifact}},
        "produced_at": "2026-01-15T10:00:00Z",
        "payload": {"suite": "contract", "passed": 42, "failed": 0},
    }


def example_hex(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def example_signature(label: str) -> str:
    return base64.b64encode(hashlib.sha512(label.encode()).digest()).decode("ascii")
