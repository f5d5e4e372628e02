"""The pinned MC public key: given by flag, or trusted on first use and kept.

Why pin: a pack or receipt is only as trustworthy as the key that verifies
it. With `--mc-public-key` the operator decides the key. Without it COS
fetches MC's key once (`GET /v1/keys/signing.pem`), stores it in the data
dir and uses that copy from then on (TOFU, logged as a warning): a later
key change at MC makes verification fail rather than silently re-trusting.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from companyos.policy_store import atomic_write
from seam import keys

log = logging.getLogger("companyos.trust")

PIN_FILE = "mc-signing.pem"


class KeyPin:
    def __init__(self, data_dir: Path, configured: Path | None) -> None:
        self.path = configured or data_dir / PIN_FILE
        self.configured = configured is not None
        self.key: Ed25519PublicKey | None = None
        if configured is not None:
            self.key = keys.load_public(configured.read_bytes())  # a bad flag must fail the start
        elif self.path.exists():
            self.key = keys.load_public(self.path.read_bytes())

    @property
    def pinned(self) -> bool:
        return self.key is not None

    @property
    def key_id(self) -> str | None:
        return keys.key_id(self.key) if self.key is not None else None

    def trust_on_first_use(self, pem: bytes | str) -> Ed25519PublicKey:
        """Pin `pem` (fetched from MC) unless a key is already pinned; returns the pinned key."""
        if self.key is not None:
            return self.key
        key = keys.load_public(pem)
        atomic_write(self.path, keys.public_pem(key).encode("ascii"))
        self.key = key
        log.warning(
            "trusting MC signing key %s on first use and pinning it at %s "
            "(pass --mc-public-key to pin a known key instead)",
            keys.key_id(key),
            self.path,
        )
        return key
