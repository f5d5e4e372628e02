"""Policy packs: the store of revisions, their attestations, and the routes serving them.

Why the signing modes: the E2E suite must show COS rejecting a bad pack, so
the admin API can publish a revision that is deliberately unsigned, signed by
a throwaway key, attested over other bytes than served (`tampered`), or served
with a Content-Digest that does not match (`bad-content-digest`). Everything
else (bytes, digests, envelopes) comes from `seam.bundle`/`seam.dsse`/`seam.digest`.

Revisions published through the admin API are persisted (files + signing mode)
and rebuilt deterministically at start, so a restarted MC serves the same bytes
and, with the same key, the same envelope.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conductor import mutations as mut
from conductor.auth import Authenticator
from conductor.db import Database, utc_now
from conductor.metrics import Metrics
from conductor.mutations import Mutations
from seam import bundle, digest, dsse, keys
from seam.problem import Problem

SIGNING_MODES = ("valid", "unsigned", "wrong-key", "tampered", "bad-content-digest")
PACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.rego|data\.json")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_OTHER_BYTES = b"\0not-the-served-pack"

SCHEMA = """
CREATE TABLE IF NOT EXISTS pack_revisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    pack TEXT NOT NULL,
    revision TEXT NOT NULL,
    files TEXT NOT NULL,
    signing TEXT NOT NULL,
    published_at TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class PackRevision:
    pack: str
    revision: str
    data: bytes
    digest: str  # SHA-256 hex of `data`: the pack's identity on the seam
    content_digest: str  # the header value as served (wrong on purpose for bad-content-digest)
    envelope: dict[str, Any]
    envelope_bytes: bytes
    signing: str
    published_at: str

    @property
    def etag(self) -> str:
        return digest.etag_for(self.data)


def build_revision(
    pack: str,
    revision: str,
    files: dict[str, str],
    signing: str,
    key: Ed25519PrivateKey,
    published_at: str,
) -> PackRevision:
    """Build the deterministic tar.gz and its attestation as `signing` dictates."""
    if signing not in SIGNING_MODES:
        raise ValueError(f"unknown signing mode {signing!r}")
    data = bundle.build(pack, revision, files)
    sha = digest.sha256_hex(data)
    attested = digest.sha256_hex(data + _OTHER_BYTES) if signing == "tampered" else sha
    signer: Ed25519PrivateKey | None = key
    if signing == "unsigned":
        signer = None
    elif signing == "wrong-key":
        signer = keys.generate()  # a throwaway key nobody pins
    envelope = dsse.sign(dsse.pack_statement(pack, revision, attested), signer)
    header_source = data + _OTHER_BYTES if signing == "bad-content-digest" else data
    return PackRevision(
        pack=pack,
        revision=revision,
        data=data,
        digest=sha,
        content_digest=digest.content_digest(header_source),
        envelope=envelope,
        envelope_bytes=json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode("utf-8"),
        signing=signing,
        published_at=published_at,
    )


def validate_files(files: object) -> dict[str, str]:
    """Admin input check: a {name: text} map with at least one .rego and a JSON data.json."""
    if not isinstance(files, dict) or not files:
        raise Problem(422, "invalid_pack", "files must be a non-empty object", field="files")
    for name, text in files.items():
        if not isinstance(name, str) or not FILE_NAME.fullmatch(name):
            raise Problem(422, "invalid_pack", f"file name {name!r} is not allowed", field=f"files.{name}")
        if not isinstance(text, str):
            raise Problem(422, "invalid_pack", "file contents must be text", field=f"files.{name}")
    if not any(n.endswith(".rego") for n in files):
        raise Problem(422, "invalid_pack", "a pack needs at least one .rego file", field="files")
    if "data.json" in files:
        try:
            if not isinstance(json.loads(files["data.json"]), dict):
                raise ValueError("not an object")
        except ValueError as exc:
            raise Problem(
                422, "invalid_pack", "data.json must be a JSON object", field="files.data.json"
            ) from exc
    return dict(files)


class PackStore:
    """Every revision of every pack; the newest one of a pack is the one served."""

    def __init__(
        self,
        db: Database,
        signing_key: Ed25519PrivateKey,
        seed_pack: str,
        seed_revision: str,
        seed_files: dict[str, str],
    ) -> None:
        self._db = db
        self._key = signing_key
        self._seed = build_revision(seed_pack, seed_revision, seed_files, "valid", signing_key, utc_now())
        db.execute(SCHEMA)
        self._revisions: dict[str, list[PackRevision]] = {}
        self._load()

    def _load(self) -> None:
        revisions: dict[str, list[PackRevision]] = {self._seed.pack: [self._seed]}
        rows = self._db.execute(
            "SELECT pack, revision, files, signing, published_at FROM pack_revisions ORDER BY seq"
        )
        for pack, revision, files, signing, published_at in rows:
            rev = build_revision(pack, revision, json.loads(files), signing, self._key, published_at)
            revisions.setdefault(pack, []).append(rev)
        self._revisions = revisions

    def names(self) -> list[str]:
        return sorted(self._revisions)

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        return self._key

    def current(self, pack: str) -> PackRevision | None:
        revs = self._revisions.get(pack)
        return revs[-1] if revs else None

    def find(self, pack: str, digest_hex: str) -> PackRevision | None:
        for rev in reversed(self._revisions.get(pack, [])):
            if rev.digest == digest_hex:
                return rev
        return None

    def publish(self, pack: str, revision: str, files: dict[str, str], signing: str) -> PackRevision:
        rev = build_revision(pack, revision, files, signing, self._key, utc_now())
        if len(rev.data) > bundle.MAX_PACK_BYTES:
            raise Problem(413, "body_too_large", "the built pack exceeds the pack size limit")
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO pack_revisions(pack, revision, files, signing, published_at) VALUES (?,?,?,?,?)",
                (pack, revision, json.dumps(files, sort_keys=True), signing, rev.published_at),
            )
        self._revisions = {**self._revisions, pack: [*self._revisions.get(pack, []), rev]}
        return rev

    def reset(self) -> None:
        """Back to the seed pack only (admin reset)."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM pack_revisions")
        self._revisions = {self._seed.pack: [self._seed]}


def _not_modified(request: Request, etag: str) -> bool:
    return digest.if_none_match_hits(request.headers.get("if-none-match"), etag)


def routes(store: PackStore, auth: Authenticator, metrics: Metrics, mutations: Mutations) -> list[Route]:
    def lookup(request: Request) -> PackRevision:
        auth.require(request, "policy:read")
        name = request.path_params["pack"]
        rev = store.current(name) if PACK_NAME.fullmatch(name) else None
        if rev is None:
            raise Problem(404, "unknown_pack", f"no policy pack named {name!r}")
        return rev

    async def get_pack(request: Request) -> Response:
        rev = lookup(request)
        headers = {"Cache-Control": "no-cache", "X-Pack-Revision": rev.revision}
        if mutations.on(mut.PACK_REVISION_HEADER_DROPPED):
            del headers["X-Pack-Revision"]
        media_type = "application/octet-stream" if mutations.on(mut.PACK_MEDIA_TYPE) else "application/gzip"
        if not mutations.on(mut.ETAG_DROPPED):
            headers["ETag"] = "W/" + rev.etag if mutations.on(mut.ETAG_WEAK) else rev.etag
        if _not_modified(request, rev.etag) and not mutations.on(mut.NO_304):
            metrics.packs_not_modified.labels(pack=rev.pack).inc()
            return Response(status_code=304, headers=headers)
        content_digest = rev.content_digest
        if mutations.on(mut.CONTENT_DIGEST_WRONG_VALUE):
            content_digest = digest.content_digest(rev.data + _OTHER_BYTES)
        if mutations.on(mut.CONTENT_DIGEST_WRONG_ALG):
            content_digest = content_digest.replace("sha-256=", "sha-512=", 1)
        headers["Content-Digest"] = content_digest
        metrics.packs_served.labels(pack=rev.pack).inc()
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(rev.data))
            return Response(b"", media_type=media_type, headers=headers)
        return Response(rev.data, media_type=media_type, headers=headers)

    async def get_attestation(request: Request) -> Response:
        rev = lookup(request)
        wanted = request.query_params.get("digest")
        if wanted is not None:
            wanted = wanted.lower().removeprefix("sha256:")
            if not _HEX64.fullmatch(wanted):
                raise Problem(400, "invalid_digest", "digest must be 64 hex characters", field="digest")
            found = store.find(rev.pack, wanted)
            if found is None:
                raise Problem(404, "unknown_digest", f"pack {rev.pack!r} has no revision with that digest")
            rev = found
        body = rev.envelope_bytes
        if mutations:
            broken = mut.broken_envelope(mutations, rev.pack, rev.revision, rev.digest, store.signing_key)
            body = broken or body
        etag = digest.etag_for(body + b"other" if mutations.on(mut.ATTESTATION_ETAG_OTHER_BYTES) else body)
        headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Pack-Revision": rev.revision}
        if _not_modified(request, etag):
            return Response(status_code=304, headers=headers)
        wrong_digest = mutations.on(mut.ATTESTATION_CONTENT_DIGEST_WRONG)
        headers["Content-Digest"] = digest.content_digest(body + b"other" if wrong_digest else body)
        media_type = "text/plain" if mutations.on(mut.ATTESTATION_MEDIA_TYPE) else "application/json"
        return Response(body, media_type=media_type, headers=headers)

    return [
        Route("/v1/policy/packs/{pack}", get_pack, methods=["GET", "HEAD"]),
        Route("/v1/policy/packs/{pack}/attestation", get_attestation, methods=["GET"]),
    ]
