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
