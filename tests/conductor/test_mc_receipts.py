"""Signed receipt callbacks: delivery, signature, retries, no duplicates, restart, admin proxy."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from mc_helpers import (
    ADMIN,
    BASE,
    AppFactory,
    Receiver,
    canonical_sha256,
    evidence_doc,
    get_token,
    post_evidence,
)
from starlette.testclient import TestClient

from conductor.companyos_client import AttestationReader, ReceiptSender
from seam import keys

FAST = {"receipt_backoff_initial_s": 0.01, "receipt_backoff_max_s": 0.05}
CALLBACK_PATH = "/v1/callbacks/evidence-receipts"


def verify_receipt(headers: dict[str, str], body: bytes, key: Ed25519PublicKey, kid: str) -> None:
    """Independent check of the receipt scheme: Ed25519 over b"<timestamp>.<body>"."""
    lower = {k.lower(): v for k, v in headers.items()}
    ts = lower["x-mc-timestamp"]
    assert abs(time.time() - int(ts)) <= 300
    params = dict(part.split("=", 1) for part in lower["x-mc-signature"].split(","))
    assert params["keyid"] == kid and params["alg"] == "ed25519"
    key.verify(base64.b64decode(params["sig"]), ts.encode() + b"." + body)


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def mc_public(client: TestClient) -> tuple[Ed25519PublicKey, str]:
    key = load_pem_public_key(client.get("/v1/keys/signing.pem").content)
    assert isinstance(key, Ed25519PublicKey)
    return key, client.get("/v1/keys").json()["keys"][0]["kid"]


def receipt_state(client: TestClient, evidence_id: str) -> str | None:
    items = client.get("/admin/evidence", headers=ADMIN).json()["items"]
    return next(i["receipt"]["state"] for i in items if i["evidence_id"] == evidence_id)


def test_receipt_is_delivered_signed_once(make_app: AppFactory, receiver: Receiver) -> None:
    app = make_app(callback_url=receiver.url + CALLBACK_PATH, **FAST)
    with TestClient(app, base_url=BASE) as c:
        tok = get_token(c)
        created = post_evidence(c, tok, "rk-1", evidence_doc()).json()
        got = receiver.next()
        assert got.method == "POST" and got.path == CALLBACK_PATH
        assert got.headers["Content-Type"] == "application/json"
        key, kid = mc_public(c)
        verify_receipt(got.headers, got.body, key, kid)
        receipt = json.loads(got.body)
        assert receipt == {
            "evidence_id": created["evidence_id"],
            "idempotency_key": "rk-1",
            "digest": canonical_sha256(evidence_doc()),
            "stored_at": created["received_at"],
            "client_id": "companyos",
        }
        wait_for(lambda: receipt_state(c, created["evidence_id"]) == "delivered")
        # A replay must not earn a second receipt; a new evidence does earn one.
        assert post_evidence(c, tok, "rk-1", evidence_doc()).headers["idempotent-replayed"] == "true"
        post_evidence(c, tok, "rk-2", evidence_doc(release="r2"))
        second = receiver.next()
        assert json.loads(second.body)["idempotency_key"] == "rk-2"
        wait_for(lambda: "mc_receipts_delivered_total 2.0" in c.get("/metrics").text)
        assert receiver.requests.empty()


def test_receipt_retries_until_2xx(make_app: AppFactory, receiver: Receiver) -> None:
    receiver.statuses.extend([500, 503])
    app = make_app(callback_url=receiver.url + CALLBACK_PATH, **FAST)
    with TestClient(app, base_url=BASE) as c:
        created = post_evidence(c, get_token(c), "rk-retry", evidence_doc()).json()
        bodies = [receiver.next().body for _ in range(3)]
        assert len(set(bodies)) == 1  # the same receipt each time, freshly signed
        wait_for(lambda: receipt_state(c, created["evidence_id"]) == "delivered")
        item = c.get("/admin/evidence", headers=ADMIN).json()["items"][0]
        assert item["receipt"]["attempts"] == 3
        assert "mc_receipts_failed_total 2.0" in c.get("/metrics").text


def test_receipt_gives_up_after_bounded_attempts(make_app: AppFactory, receiver: Receiver) -> None:
    receiver.statuses.extend([500] * 10)
    app = make_app(callback_url=receiver.url + CALLBACK_PATH, receipt_max_attempts=3, **FAST)
    with TestClient(app, base_url=BASE) as c:
        created = post_evidence(c, get_token(c), "rk-fail", evidence_doc()).json()
        for _ in range(3):
            receiver.next()
        wait_for(lambda: receipt_state(c, created["evidence_id"]) == "failed")
        assert receiver.requests.empty()
        assert "mc_receipts_given_up_total 1.0" in c.get("/metrics").text


def test_pending_receipt_waits_for_callback_then_survives_restart(
    make_app: AppFactory, receiver: Receiver
) -> None:
    with TestClient(make_app(**FAST), base_url=BASE) as c:
        created = post_evidence(c, get_token(c), "rk-later", evidence_doc()).json()
        assert receipt_state(c, created["evidence_id"]) == "pending"
        assert "mc_receipts_pending 1.0" in c.get("/metrics").text
    # Restart on the same data dir with a callback configured: delivery resumes.
    with TestClient(make_app(callback_url=receiver.url + CALLBACK_PATH, **FAST), base_url=BASE) as c:
        got = receiver.next()
        assert json.loads(got.body)["evidence_id"] == created["evidence_id"]
        wait_for(lambda: receipt_state(c, created["evidence_id"]) == "delivered")


def test_admin_callback_put_triggers_delivery(make_app: AppFactory, receiver: Receiver) -> None:
    with TestClient(make_app(**FAST), base_url=BASE) as c:
        created = post_evidence(c, get_token(c), "rk-put", evidence_doc()).json()
        url = receiver.url + CALLBACK_PATH
        r = c.put("/admin/clients/companyos/callback", json={"url": url}, headers=ADMIN)
        assert r.status_code == 200
        assert r.json() == {"client_id": "companyos", "url": url, "base_url": receiver.url}
        assert json.loads(receiver.next().body)["evidence_id"] == created["evidence_id"]
        bad = c.put("/admin/clients/companyos/callback", json={"url": "ftp://x"}, headers=ADMIN)
        assert bad.status_code == 422 and bad.json()["field"] == "url"
        unknown = c.put("/admin/clients/nobody/callback", json={"url": url}, headers=ADMIN)
        assert unknown.status_code == 404 and unknown.json()["reason"] == "unknown_client"


def test_admin_proxies_the_clients_attestation(make_app: AppFactory, receiver: Receiver) -> None:
    receiver.attestation = {"pack": "policy-pack-v0", "revision": "v0", "digest": "ab" * 32, "source": "mc"}
    with TestClient(make_app(), base_url=BASE) as c:
        none = c.get("/admin/clients/companyos/attestation", headers=ADMIN)
        assert none.status_code == 409 and none.json()["reason"] == "no_client_url"
        c.put("/admin/clients/companyos/callback", json={"url": receiver.url + CALLBACK_PATH}, headers=ADMIN)
        r = c.get("/admin/clients/companyos/attestation", headers=ADMIN)
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == 200
        assert body["attestation"] == receiver.attestation
        assert body["etag"] == f'"sha256-{"ab" * 32}"'
        assert receiver.next().path == "/v1/attestation"
        cached = c.get(
            "/admin/clients/companyos/attestation", headers={**ADMIN, "If-None-Match": body["etag"]}
        )
        assert cached.json()["status"] == 304 and cached.json()["attestation"] is None
        assert c.get("/admin/clients/nobody/attestation", headers=ADMIN).status_code == 404
        c.put(
            "/admin/clients/companyos/callback",
            json={"url": "http://127.0.0.1:9/cb", "base_url": "http://127.0.0.1:9"},
            headers=ADMIN,
        )
        down = c.get("/admin/clients/companyos/attestation", headers=ADMIN)
        assert down.status_code == 502 and down.json()["reason"] == "client_unreachable"


def test_companyos_client_classes_standalone(receiver: Receiver) -> None:
    key = keys.generate()
    sender = ReceiptSender.for_base_url(receiver.url, key)
    assert sender.url == receiver.url + CALLBACK_PATH
    response = sender.send({"evidence_id": "ev_1", "idempotency_key": "k"})
    assert response.status_code == 204
    got = receiver.next()
    assert got.body == b'{"evidence_id":"ev_1","idempotency_key":"k"}'
    verify_receipt(got.headers, got.body, key.public_key(), keys.key_id(key.public_key()))
    receiver.attestation = {"digest": "cd" * 32}
    reply = AttestationReader(receiver.url).get()
    assert reply.status == 200 and reply.attestation == {"digest": "cd" * 32}
    assert AttestationReader(receiver.url).get(if_none_match=reply.etag).status == 304
    offline = httpx.MockTransport(lambda request: httpx.Response(503))
    assert AttestationReader("http://127.0.0.1:1", transport=offline).get().status == 503


# -- batched receipts (docs/seam.md, "Batched receipts") -------------------------------------------
def store_pending(make_app: AppFactory, n: int, prefix: str) -> list[dict]:
    """n evidences stored by an MC with no callback URL (their receipts wait, unattempted); the
    next MC on the same data dir resumes them all at start, before its first callback."""
    with TestClient(make_app(**FAST), base_url=BASE) as c:
        tok = get_token(c)
        return [
            post_evidence(c, tok, f"{prefix}-{i}", evidence_doc(release=f"{prefix}.{i}")).json()
            for i in range(n)
        ]


def metric(c: TestClient, line_start: str) -> float:
    text = c.get("/metrics").text
    return float(next(line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(line_start)))


def test_pending_receipts_go_in_one_signed_batch(make_app: AppFactory, receiver: Receiver) -> None:
    created = store_pending(make_app, 5, "rb")
    with TestClient(make_app(callback_url=receiver.url + CALLBACK_PATH, **FAST), base_url=BASE) as c:
        got = receiver.next()
        key, kid = mc_public(c)
        verify_receipt(got.headers, got.body, key, kid)  # one signature over the whole batch
        batch = json.loads(got.body)
        assert list(batch) == ["receipts"]
        assert [r["evidence_id"] for r in batch["receipts"]] == [e["evidence_id"] for e in created]
        assert batch["receipts"][0] == {
            "evidence_id": created[0]["evidence_id"],
            "idempotency_key": "rb-0",
            "digest": canonical_sha256(evidence_doc(release="rb.0")),
            "stored_at": created[0]["received_at"],
            "client_id": "companyos",
        }
        for e in created:
            wait_for(lambda e=e: receipt_state(c, e["evidence_id"]) == "delivered")
        assert receiver.requests.empty()
        assert metric(c, 'mc_receipt_callbacks_total{form="batch"}') == 1.0
        assert metric(c, 'mc_receipt_callbacks_total{form="single"}') == 0.0
        assert metric(c, "mc_receipts_delivered_total") == 5.0


def test_batches_are_bounded(make_app: AppFactory, receiver: Receiver) -> None:
    created = store_pending(make_app, 70, "rbig")
    with TestClient(make_app(callback_url=receiver.url + CALLBACK_PATH, **FAST), base_url=BASE) as c:
        sizes = [len(json.loads(receiver.next().body)["receipts"]) for _ in range(2)]
        assert sizes == [64, 6]
        wait_for(lambda: metric(c, "mc_receipts_delivered_total") == 70.0)
        assert all(receipt_state(c, e["evidence_id"]) == "delivered" for e in created)


def test_a_refused_batch_falls_back_to_single_receipts(make_app: AppFactory, receiver: Receiver) -> None:
    receiver.statuses.extend([422, 204, 404])  # a COS without batches; then one unknown key
    created = store_pending(make_app, 3, "rfb")
    url = receiver.url + CALLBACK_PATH
    with TestClient(make_app(callback_url=url, receipt_max_attempts=2, **FAST), base_url=BASE) as c:
        assert "receipts" in json.loads(receiver.next().body)
        singles = [json.loads(receiver.next().body) for _ in range(3)]
        assert sorted(s["idempotency_key"] for s in singles) == ["rfb-0", "rfb-1", "rfb-2"]
        # the one COS refused (404) is retried alone, in the single form, within its own budget
        retried = json.loads(receiver.next().body)
        assert retried in singles
        wait_for(lambda: all(receipt_state(c, e["evidence_id"]) == "delivered" for e in created))
        assert metric(c, 'mc_receipt_callbacks_total{form="batch"}') == 1.0
        assert metric(c, 'mc_receipt_callbacks_total{form="single"}') == 4.0
        assert metric(c, "mc_receipts_failed_total") == 1.0
        items = c.get("/admin/evidence", headers=ADMIN).json()["items"]
        assert sorted(i["receipt"]["attempts"] for i in items) == [1, 1, 2]  # the batch was no attempt


def test_a_failed_batch_is_retried_as_a_batch_counting_each_receipt(
    make_app: AppFactory, receiver: Receiver
) -> None:
    receiver.statuses.extend([503])
    created = store_pending(make_app, 3, "r5xx")
    with TestClient(make_app(callback_url=receiver.url + CALLBACK_PATH, **FAST), base_url=BASE) as c:
        first, second = receiver.next(), receiver.next()
        assert json.loads(first.body) == json.loads(second.body)
        wait_for(lambda: all(receipt_state(c, e["evidence_id"]) == "delivered" for e in created))
        items = c.get("/admin/evidence", headers=ADMIN).json()["items"]
        assert [i["receipt"]["attempts"] for i in items] == [2, 2, 2]
        assert metric(c, "mc_receipts_failed_total") == 3.0
