"""MC's pack endpoints as the suite checks them: bytes, validators, attestation.

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

from harness.env.mc import Conductor, Reply
from harness.env.world import World
from seam import dsse


def _mc(world: World) -> Conductor:
    return world.mc()


def _token(world: World) -> str:
    if world.mc_token is None:
        world.mc_token = world.mc().access_token(["policy:read"])
    return world.mc_token


def fetch(world: World, pack: str, method: str = "GET") -> Reply:
    return _mc(world).get(f"/v1/policy/packs/{pack}", _token(world), method=method)


def fetch_conditional(world: World, pack: str, header: str) -> Reply:
    """`header` as QA writes it; the word `current` stands for the current ETag."""
    current = fetch(world, pack, method="HEAD").headers["etag"]
    value = header.replace("current", current)
    return _mc(world).get(f"/v1/policy/packs/{pack}", _token(world), headers={"If-None-Match": value})


def fetch_attestation(world: World, pack: str) -> Reply:
    return _mc(world).get(f"/v1/policy/packs/{pack}/attestation", _token(world))


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


def expect_head_matches(get: Reply, head: Reply) -> None:
    assert head.status == 200, f"HEAD answered {head.status}"
    for header in ("etag", "content-digest", "content-type", "content-length"):
        assert head.headers.get(header) == get.headers.get(header), (
            f"HEAD {header} {head.headers.get(header)!r} != GET {get.headers.get(header)!r}"
        )
    assert head.raw == b"", f"HEAD returned {len(head.raw)} body bytes"


def verify_attestation(world: World, reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, f"attestation answered {reply.status}: {reply.body}"
    pem = _mc(world).http.get("/v1/keys/signing.pem").content
    return dsse.verify(reply.body, load_pem_public_key(pem))  # type: ignore[arg-type]


def expect_subject_matches(statement: dict[str, Any], pack_bytes: bytes) -> None:
    digest = hashlib.sha256(pack_bytes).hexdigest()
    subjects = [s["digest"]["sha256"] for s in statement["subject"]]
    assert digest in subjects, f"pack bytes hash to {digest}, attested subjects {subjects}"
