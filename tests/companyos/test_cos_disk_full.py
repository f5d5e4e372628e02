"""COS on a full data volume (issue 13): 507 with a reason, not ready, key released, recovers alone.

The data dir is a tiny tmpfs mounted for the test; a filler file takes the
space, so SQLite's own writes hit ENOSPC while COS keeps running.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
from cos_helpers import bearer, evidence_doc

from tests.disk_full import fill, tiny_volume_fixture  # noqa: F401 - the tiny_volume fixture

BIG = json.dumps(evidence_doc(release="big", payload={"blob": "x" * 60_000})).encode()


def submit(url: str, token: str, key: str, body: bytes = BIG) -> httpx.Response:
    headers = {**bearer(token), "Content-Type": "application/json", "Idempotency-Key": key}
    return httpx.post(f"{url}/v1/evidence", content=body, headers=headers, timeout=10)


def test_a_full_volume_answers_507_is_not_ready_releases_the_key_and_recovers(
    start_cos, users_file: Path, tiny_volume: Path
) -> None:
    data_dir = tiny_volume / "cos"
    data_dir.mkdir()
    shutil.copy(users_file, data_dir / "users.json")
    cos = start_cos(data_dir=data_dir)
    token = cos.token()

    filler = fill(tiny_volume, leave_bytes=24 * 1024)  # room for the in-flight marker only
    refused = submit(cos.url, token, "full-1")
    assert refused.status_code == 507, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["reason"] == "insufficient_storage"
    assert int(refused.headers["retry-after"]) > 0

    ready = httpx.get(f"{cos.url}/readyz")
    assert ready.status_code == 503, ready.text
    assert ready.json()["storage"] == "insufficient_storage"

    again = submit(cos.url, token, "full-1")
    assert again.status_code == 507, again.text  # the key was released: not 409 "in flight"

    filler.unlink()  # space returns; nothing restarts
    assert httpx.get(f"{cos.url}/readyz").status_code == 200
    accepted = submit(cos.url, token, "full-1")
    assert accepted.status_code == 202, accepted.text
    replay = submit(cos.url, token, "full-1")
    assert replay.headers["idempotent-replayed"] == "true"
