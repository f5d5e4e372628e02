"""MC's signed receipts: only a receipt signed by the pinned key acknowledges evidence."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from cos_helpers import RECEIPT_PATH, bearer, evidence_doc, new_key

from seam import keys, receipts


@pytest.fixture
def mc_key():
    return keys.generate()


@pytest.fixture
def cos(start_cos, tmp_path, mc_key):
    pem = tmp_path / "mc.pem"
    pem.write_text(keys.public_pem(mc_key.public_key()))
    return start_cos(mc_public_key=pem)


def accept(cos) -> tuple[str, str, str]:
    token = cos.token()
    key = new_key()
    r = httpx.post(
        f"{cos.url}/v1/evidence", json=evidence_doc(), headers={**bearer(token), "Idempotency-Key": key}
    )
    assert r.status_code == 202
    return token, key, r.json()["evidence_id"]


def receipt_body(key: str, evidence_id: str = "ev_123") -> bytes:
    doc = {
        "evidence_id": evidence_id,
        "idempotency_key": key,
        "digest": "0" * 64,
        "stored_at": "2026-11-26T06:00:00.000Z",
        "client_id": "companyos",
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def send(cos, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{cos.url}{RECEIPT_PATH}", content=body, headers={"Content-Type": "application/json", **headers}
    )


def state(cos, token: str, evidence_id: str) -> dict:
    return httpx.get(f"{cos.url}/v1/evidence/{evidence_id}", headers=bearer(token)).json()


def test_signed_receipt_acknowledges_the_entry(cos, mc_key) -> None:
    token, key, evidence_id = accept(cos)
    body = receipt_body(key, "ev_mc_1")
    r = send(cos, body, receipts.sign(body, mc_key))
    assert r.status_code == 204, r.text
    entry = state(cos, token, evidence_id)
    assert entry["state"] == "acknowledged" and entry["mc_evidence_id"] == "ev_mc_1"
    assert entry["acknowledged_at"] is not None
    # a second delivery of the same receipt is harmless
    assert send(cos, body, receipts.sign(body, mc_key)).status_code == 204


@pytest.mark.parametrize("defect", ["other-key", "no-headers", "stale", "tampered-body", "garbled"])
def test_bad_receipts_are_401_and_change_nothing(cos, mc_key, defect) -> None:
    token, key, evidence_id = accept(cos)
    body = receipt_body(key)
    signer = keys.generate() if defect == "other-key" else mc_key
    headers = receipts.sign(body, signer, now=time.time() - 3600 if defect == "stale" else None)
    if defect == "no-headers":
        headers = {}
    if defect == "tampered-body":
        body = receipt_body(key, "ev_other")
    if defect == "garbled":
        headers[receipts.SIGNATURE_HEADER] = "keyid=x,alg=ed25519,sig=!!!"
    before = state(cos, token, evidence_id)
    r = send(cos, body, headers)
    assert r.status_code == 401 and r.json()["reason"] == "bad_signature"
    assert state(cos, token, evidence_id) == before
    metrics = httpx.get(f"{cos.url}/metrics").text
    assert 'evidence_receipts_total{outcome="bad_signature"} 1.0' in metrics


def test_receipt_for_an_unknown_key_is_404(cos, mc_key) -> None:
    body = receipt_body("never-seen")
    r = send(cos, body, receipts.sign(body, mc_key))
    assert r.status_code == 404 and r.json()["reason"] == "unknown_evidence"


def test_without_a_pinned_key_no_receipt_verifies(standalone) -> None:
    body = receipt_body("x")
    r = send(standalone, body, receipts.sign(body, keys.generate()))
    assert r.status_code == 401


def test_receipt_signature_unchecked_mutation(start_cos, tmp_path) -> None:
    cos = start_cos(seam_mutations=frozenset({"cos.receipt-signature-unchecked"}))
    token, key, evidence_id = accept(cos)
    body = receipt_body(key)
    assert send(cos, body, receipts.sign(body, keys.generate())).status_code == 204
    assert state(cos, token, evidence_id)["state"] == "acknowledged"


# -- batched receipts (docs/seam.md, "Batched receipts") -------------------------------------------
def receipt_doc(key: str, evidence_id: str) -> dict:
    return json.loads(receipt_body(key, evidence_id))


def batch_body(*docs: dict) -> bytes:
    return json.dumps({"receipts": list(docs)}, sort_keys=True, separators=(",", ":")).encode()


def metric(cos, line_start: str) -> float:
    text = httpx.get(f"{cos.url}/metrics").text
    return float(next(line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(line_start)))


def test_signed_batch_acknowledges_every_entry_in_one_callback(cos, mc_key) -> None:
    accepted = [accept(cos) for _ in range(3)]
    body = batch_body(*(receipt_doc(key, f"ev_mc_{i}") for i, (_, key, _) in enumerate(accepted)))
    r = send(cos, body, receipts.sign(body, mc_key))
    assert r.status_code == 204, r.text
    for i, (token, _, evidence_id) in enumerate(accepted):
        entry = state(cos, token, evidence_id)
        assert entry["state"] == "acknowledged" and entry["mc_evidence_id"] == f"ev_mc_{i}"
    assert metric(cos, 'evidence_receipt_callbacks_total{form="batch"}') == 1.0
    assert metric(cos, 'evidence_receipts_total{outcome="acknowledged"}') == 3.0
    # the same batch again (MC retrying after a lost 204) is harmless
    assert send(cos, body, receipts.sign(body, mc_key)).status_code == 204


def test_old_single_receipt_form_still_accepted_beside_batches(cos, mc_key) -> None:
    token, key, evidence_id = accept(cos)
    body = receipt_body(key, "ev_single")
    assert send(cos, body, receipts.sign(body, mc_key)).status_code == 204
    assert state(cos, token, evidence_id)["state"] == "acknowledged"
    assert metric(cos, 'evidence_receipt_callbacks_total{form="single"}') == 1.0
    assert metric(cos, 'evidence_receipt_callbacks_total{form="batch"}') == 0.0


def test_batch_signed_as_a_whole_one_tampered_item_is_401(cos, mc_key) -> None:
    accepted = [accept(cos) for _ in range(2)]
    docs = [receipt_doc(key, "ev_x") for _, key, _ in accepted]
    headers = receipts.sign(batch_body(*docs), mc_key)
    docs[1]["evidence_id"] = "ev_forged"
    r = send(cos, batch_body(*docs), headers)
    assert r.status_code == 401 and r.json()["reason"] == "bad_signature"
    assert all(state(cos, t, e)["state"] == "pending" for t, _, e in accepted)


def test_batch_with_an_unknown_key_is_refused_whole_naming_the_item(cos, mc_key) -> None:
    accepted = [accept(cos) for _ in range(2)]
    docs = [
        receipt_doc(accepted[0][1], "ev_a"),
        receipt_doc("never-seen", "ev_b"),
        receipt_doc(accepted[1][1], "ev_c"),
    ]
    body = batch_body(*docs)
    r = send(cos, body, receipts.sign(body, mc_key))
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["reason"] == "unknown_evidence" and problem["field"] == "receipts[1].idempotency_key"
    assert "never-seen" in problem["detail"]
    assert all(state(cos, t, e)["state"] == "pending" for t, _, e in accepted)  # nothing applied


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"receipts": []}, "receipts"),
        ({"receipts": "x"}, "receipts"),
        ({"receipts": [{"evidence_id": "ev_1"}]}, "receipts[0].idempotency_key"),
        ({"receipts": [{"idempotency_key": "k", "evidence_id": 5}]}, "receipts[0].evidence_id"),
        ({"receipts": [{"idempotency_key": "k"}, 7]}, "receipts[1]"),
        ({"receipts": [{"idempotency_key": "k"}], "extra": 1}, "extra"),
    ],
)
def test_malformed_batch_is_422_naming_the_item_and_changes_nothing(cos, mc_key, doc, field) -> None:
    token, _, evidence_id = accept(cos)
    body = json.dumps(doc).encode()
    r = send(cos, body, receipts.sign(body, mc_key))
    assert r.status_code == 422, r.text
    assert r.json()["reason"] == "invalid_receipt" and r.json()["field"] == field
    assert state(cos, token, evidence_id)["state"] == "pending"


def test_receipt_batch_refused_mutation_answers_a_batch_as_a_single(start_cos, tmp_path, mc_key) -> None:
    pem = tmp_path / "mc-mut.pem"
    pem.write_text(keys.public_pem(mc_key.public_key()))
    cos = start_cos(mc_public_key=pem, seam_mutations=frozenset({"cos.receipt-batch-refused"}))
    token, key, evidence_id = accept(cos)
    body = batch_body(receipt_doc(key, "ev_1"))
    r = send(cos, body, receipts.sign(body, mc_key))
    assert r.status_code == 422 and r.json()["reason"] == "invalid_receipt"
    single = receipt_body(key, "ev_1")
    assert send(cos, single, receipts.sign(single, mc_key)).status_code == 204
