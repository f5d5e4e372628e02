"""Packs on disk: the repo's local pack and the last-known-good (LKG) pack from MC.

Why files and not memory: a restarted COS must enforce the last pack it
verified, even when MC is down at that moment. Each write is temp → fsync →
rename (→ fsync of the directory), so a kill -9 leaves either the old or the
new LKG, never a torn file. `lkg.json` is the commit point: it names the
pack file by digest, and the pack file is written before it.
On load the bytes are re-hashed and the stored DSSE envelope re-verified
against the pinned MC key; an LKG that fails is ignored, not trusted.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from seam import bundle, digest, dsse

log = logging.getLogger("companyos.policy_store")

LOCAL_REVISION = "local"


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def build_local_pack(pack_dir: Path, name: str) -> bytes:
    """The local pack: the repo's sources bundled deterministically, revision `local`."""
    return bundle.build(name=name, revision=LOCAL_REVISION, files=bundle.read_dir(pack_dir))


@dataclass(frozen=True)
class LastKnownGood:
    pack_bytes: bytes
    envelope: dict[str, Any]
    meta: dict[str, Any]


class PolicyStore:
    def __init__(self, data_dir: Path) -> None:
        self.dir = data_dir / "policy"
        self.packs = self.dir / "packs"
        self.pointer = self.dir / "lkg.json"

    def save_lkg(self, pack_bytes: bytes, envelope: dict[str, Any], meta: dict[str, Any]) -> None:
        hex_digest = digest.sha256_hex(pack_bytes)
        atomic_write(self.packs / f"{hex_digest}.tar.gz", pack_bytes)
        atomic_write(
            self.packs / f"{hex_digest}.dsse.json", json.dumps(envelope, sort_keys=True).encode("utf-8")
        )
        atomic_write(self.pointer, json.dumps({**meta, "digest": hex_digest}, sort_keys=True).encode())
        self._prune(keep={hex_digest})

    def load_lkg(self, public_key: Ed25519PublicKey | None) -> LastKnownGood | None:
        """The LKG if present and still verifiable; None (with a warning) otherwise."""
        if not self.pointer.exists():
            return None
        try:
            meta = json.loads(self.pointer.read_bytes())
            hex_digest = meta["digest"]
            pack_bytes = (self.packs / f"{hex_digest}.tar.gz").read_bytes()
            envelope = json.loads((self.packs / f"{hex_digest}.dsse.json").read_bytes())
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring unreadable last-known-good pack: %s", exc)
            return None
        if digest.sha256_hex(pack_bytes) != hex_digest:
            log.warning("ignoring last-known-good pack: bytes do not match digest %s", hex_digest)
            return None
        if public_key is None:
            log.warning("ignoring last-known-good pack: no pinned MC key to re-verify it with")
            return None
        try:
            dsse.verify_pack(envelope, public_key, meta.get("pack", ""), hex_digest)
        except dsse.AttestationError as exc:
            log.warning("ignoring last-known-good pack: attestation no longer verifies (%s)", exc)
            return None
        return LastKnownGood(pack_bytes=pack_bytes, envelope=envelope, meta=meta)

    def _prune(self, keep: set[str]) -> None:
        for path in self.packs.glob("*"):
            if path.name.split(".", 1)[0] not in keep:
                try:
                    path.unlink()
                except OSError:
                    pass
