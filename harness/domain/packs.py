"""MC's pack endpoints as a client of MC sees them: bytes, validators, attestation.

Digests are recomputed here from the received bytes with hashlib/base64 so the
check is independent of the service's own digest code.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from harness.domain import answers
from harness.domain.phrases import IfNoneMatch
from harness.env.mc import Conductor, Reply
from harness.env.world import World
from seam import dsse


def _mc(world: World) -> Conductor:
    return world.mc()


def _token(world: World) -> str:
    if world.mc_token is None:
        world.mc_token = world.mc().access_token(["policy:read"])
    return world.mc_token


def fetch(world: World, pack: str, method: str = "GET", if_none_match: str | None = None) -> Reply:
    headers = {"If-None-Match": if_none_match} if if_none_match is not None else None
    return _mc(world).get(f"/v1/policy/packs/{pack}", _token(world), method=method, headers=headers)


def fetch_pack(world: World, pack: str) -> Reply:
    """A client fetches `pack` from MC with the token it holds; the reply is `world.last` and the
    pack the scenario compares against (`world.pack`)."""
    world.last = world.pack = fetch(world, pack)
    return world.last


def fetch_attestation(world: World, pack: str) -> Reply:
    """The attestation of `pack`, fetched with the token the scenario holds (`world.last`)."""
    world.last = _mc(world).get(f"/v1/policy/packs/{pack}/attestation", _token(world))
    return world.last


def expect_served(reply: Reply, content_type: str) -> None:
    """200 with `content_type` (parameters such as charset aside)."""
    assert reply.status == 200, f"expected 200, got {answers.describe(reply)}"
    got = reply.headers.get("content-type", "")
    assert got.split(";")[0] == content_type, f"expected content type {content_type!r}, got {got!r}"


def expect_conditional(world: World, pack: str, rows: list[tuple[IfNoneMatch, int]]) -> None:
    """Fetch `pack` again once per (If-None-Match, status) row, relative to the scenario's first
    fetch of it (`world.pack`).

    304 must repeat the pack's ETag with no body; 200 must send the whole pack again, its ETag
    the strong tag of the bytes sent (and the same bytes as the first fetch).
    """
    first: Reply | None = world.pack
    assert first is not None and first.status == 200, f"the scenario fetched no pack to poll: {first}"
    etag = first.headers["etag"]
    for condition, status in rows:
        reply = fetch(world, pack, if_none_match=answers.if_none_match(condition, etag))
        label = f"If-None-Match: {condition.value}"
        assert reply.status == status, f"{label}: expected {status}, got {answers.describe(reply)}"
        if status == 304:
            answers.expect_not_modified(reply, etag)
        else:
            expect_etag_of_bytes(reply)
            assert reply.raw == first.raw, f"{label}: the pack sent again differs from the first fetch"


def expect_etag_of_bytes(reply: Reply) -> None:
    etag = reply.headers.get("etag", "")
    assert not etag.startswith("W/"), f"ETag must be strong, got {etag!r}"
    expected = f'"sha256-{hashlib.sha256(reply.raw).hexdigest()}"'
    assert etag == expected, f"ETag {etag!r}, bytes give {expected!r}"


def expect_content_digest_of_bytes(reply: Reply) -> None:
    expected = "sha-256=:" + base64.b64encode(hashlib.sha256(reply.raw).digest()).decode() + ":"
    got = reply.headers.get("content-digest")
    assert got == expected, f"Content-Digest {got!r}, bytes give {expected!r}"


def expect_bundle_layout(raw: bytes) -> None:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw)), mode="r:") as tar:
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile(".manifest").read())  # type: ignore[union-attr]
    assert manifest.get("revision"), f".manifest has no revision: {manifest}"
    assert any(n.endswith(".rego") for n in names), f"no Rego in {names}"
    assert "data.json" in names, f"no data.json in {names}"


def verify_attestation(world: World) -> dict[str, Any]:
    """The attestation the scenario fetched verifies with MC's published key (`world.statement`)."""
    reply = world.last
    assert reply.status == 200, f"attestation answered {reply.status}: {reply.body}"
    pem = _mc(world).http.get("/v1/keys/signing.pem").content
    world.statement = dsse.verify(reply.body, load_pem_public_key(pem))  # type: ignore[arg-type]
    return world.statement


def expect_subject_matches(world: World) -> None:
    """The verified statement's subject digest is the SHA-256 of the pack bytes the scenario got."""
    statement, pack = world.statement, world.pack
    assert statement is not None and pack is not None, "the scenario verified no attestation of a pack"
    digest = hashlib.sha256(pack.raw).hexdigest()
    subjects = [s["digest"]["sha256"] for s in statement["subject"]]
    assert digest in subjects, f"pack bytes hash to {digest}, attested subjects {subjects}"
