"""MC on a full data volume (issue 13): 507 with a reason, not ready, key released, recovers alone.

The data dir is a tiny tmpfs mounted for the test (we run as root in CI and
here); the volume is filled with a file, so SQLite's own writes hit ENOSPC.
"""

from __future__ import annotations

import json
from pathlib import Path

from mc_helpers import ADMIN, BASE, BothListeners, evidence_doc, get_token, post_evidence
from starlette.testclient import TestClient

from conductor.app import create_app
from conductor.settings import Settings
from tests.disk_full import fill, tiny_volume_fixture  # noqa: F401 - the tiny_volume fixture


def big_doc(release: str) -> dict:
    return evidence_doc(release, payload={"blob": "x" * 60_000})


def test_a_full_volume_answers_507_is_not_ready_releases_the_key_and_recovers(tiny_volume: Path) -> None:
    app = BothListeners(create_app(Settings(data_dir=tiny_volume / "mc")))
    with TestClient(app, base_url=BASE) as client:
        token = get_token(client)
        assert post_evidence(client, token, "before", evidence_doc("small")).status_code == 201
        assert client.get("/readyz").status_code == 200

        filler = fill(tiny_volume, leave_bytes=24 * 1024)  # room for the in-flight marker only
        refused = post_evidence(client, token, "full-1", big_doc("big"))
        assert refused.status_code == 507, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["reason"] == "insufficient_storage"
        assert int(refused.headers["retry-after"]) > 0

        ready = client.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.json()["storage"] == "insufficient_storage"

        again = post_evidence(client, token, "full-1", big_doc("big"))
        assert again.status_code == 507, again.text  # the key was released: not 409 "in flight"

        filler.unlink()  # space returns; nothing restarts
        assert client.get("/readyz").status_code == 200
        stored = post_evidence(client, token, "full-1", big_doc("big"))
        assert stored.status_code == 201, stored.text
        replay = post_evidence(client, token, "full-1", big_doc("big"))
        assert replay.headers["idempotent-replayed"] == "true"
        ledger = json.loads(client.get("/admin/evidence", headers=ADMIN).text)
        assert ledger["by_key"] == {"before": 1, "full-1": 1}


def test_graphql_publish_on_a_full_volume_is_507_too(tiny_volume: Path) -> None:
    app = BothListeners(create_app(Settings(data_dir=tiny_volume / "mc")))
    with TestClient(app, base_url=BASE) as client:
        token = get_token(client)
        fill(tiny_volume, leave_bytes=24 * 1024)
        doc = big_doc("gql")
        gql_input = {k: v for k, v in doc.items() if k != "produced_at"} | {"producedAt": doc["produced_at"]}
        query = (
            'mutation($i: EvidenceInput!) { publishEvidence(input: $i, idempotencyKey: "g-full")'
            " { evidenceOk } }"
        )
        r = client.post(
            "/graphql",
            json={"query": query, "variables": {"i": gql_input}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 507, r.text
        assert r.json()["reason"] == "insufficient_storage"
