"""Poison input at COS (issue 13): a clear 4xx problem with a reason, never a 500.

Runs against a real COS (uvicorn on a loopback port), because some of the
bad input — a raw 0xA0 byte in a header — only exists on the wire.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import httpx
import pytest
from cos_helpers import RECEIPT_PATH, bearer, evidence_doc, new_key

from seam import keys, receipts

DEEP = b"[" * 1000 + b"]" * 1000
JSON = {"Content-Type": "application/json"}
DECISION = {"subject": {"user": "qa", "roles": ["developer"]}, "action": "read"}


def _evidence_with(raw_value: str) -> bytes:
    template = json.dumps({**evidence_doc(), "payload": {"x": "PLACEHOLDER"}})
    return template.replace('"PLACEHOLDER"', raw_value).encode()


@pytest.mark.parametrize(
    ("literal", "reason"),
    [
        ("NaN", "non_finite_number"),
        ("Infinity", "non_finite_number"),
        ("1e999", "non_finite_number"),
        ('"\\ud800"', "invalid_unicode"),
    ],
)
def test_evidence_with_poison_is_refused_and_nothing_is_accepted(standalone, token, literal, reason) -> None:
    key = new_key()
    r = httpx.post(
        f"{standalone.url}/v1/evidence",
        content=_evidence_with(literal),
        headers={**bearer(token), **JSON, "Idempotency-Key": key},
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["reason"] == reason
    assert httpx.get(f"{standalone.url}/v1/evidence/{key}", headers=bearer(token)).status_code == 404


def test_an_outbox_row_stored_before_the_fix_reads_as_strict_json(standalone, token) -> None:
    """A row accepted by the lenient parser (NaN, a lone surrogate) must still read, as JSON."""
    key = new_key()
    raw = _evidence_with('{"n": NaN, "s": "\\ud800"}')
    outbox = standalone.cos.require_outbox()
    outbox.begin(key, "0" * 64)
    accepted = outbox.accept(key, raw, "0" * 64, 202)
    r = httpx.get(f"{standalone.url}/v1/evidence/{accepted['evidence_id']}", headers=bearer(token))
    assert r.status_code == 200, r.text
    document = json.loads(r.content, parse_constant=pytest.fail)  # no NaN token on the wire
    assert document["document"]["payload"]["x"] == {"n": None, "s": "\ufffd"}


@pytest.mark.parametrize("path", ["/v1/login", "/v1/authorize", "/v1/evidence", RECEIPT_PATH])
def test_deep_nesting_is_a_clear_4xx_on_every_json_endpoint(standalone, token, path) -> None:
    headers = {**bearer(token), **JSON, "Idempotency-Key": new_key()}
    r = httpx.post(f"{standalone.url}{path}", content=DEEP, headers=headers)
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/v1/login", "/v1/authorize", "/v1/evidence"])
def test_deep_nesting_names_the_reason(standalone, token, path) -> None:
    headers = {**bearer(token), **JSON, "Idempotency-Key": new_key()}
    r = httpx.post(f"{standalone.url}{path}", content=DEEP, headers=headers)
    assert r.status_code == 400 and r.json()["reason"] == "nesting_too_deep", r.text


@pytest.mark.parametrize(
    "resource",
    [
        b"[" * 900 + b"]" * 900,
        b"[" * 60 + b"]" * 60,
        b"NaN",
        b'"\\udc00"',
        b"123456789012345678901234567890",
    ],
    ids=["900-deep", "60-deep", "NaN", "surrogate", "huge-int"],
)
def test_authorize_with_a_poisoned_resource_is_a_4xx_or_a_decision(standalone, token, resource) -> None:
    body = json.dumps(DECISION)[:-1].encode() + b', "resource": ' + resource + b"}"
    r = httpx.post(f"{standalone.url}/v1/authorize", content=body, headers={**bearer(token), **JSON})
    assert r.status_code in (200, 400, 422), r.text
    if r.status_code != 200:
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["reason"]


@pytest.mark.parametrize(
    "query",
    ["offset=99999999999999999999", "offset=-1", "limit=-1", "limit=abc", "limit=99999999999999999999"],
)
def test_evidence_listing_with_out_of_range_paging_is_a_400(standalone, token, query) -> None:
    r = httpx.get(f"{standalone.url}/v1/evidence?{query}", headers=bearer(token))
    assert r.status_code == 400, r.text
    assert r.json()["reason"] == "invalid_request"
    assert r.json()["field"] in ("limit", "offset")


def test_evidence_listing_caps_a_large_limit(standalone, token) -> None:
    r = httpx.get(f"{standalone.url}/v1/evidence?limit=20000", headers=bearer(token))
    assert r.status_code == 200, r.text


@pytest.fixture
def pinned_cos(start_cos, tmp_path):
    mc_key = keys.generate()
    pem = tmp_path / "mc.pem"
    pem.write_text(keys.public_pem(mc_key.public_key()))
    return start_cos(mc_public_key=pem), mc_key


@pytest.mark.parametrize("prefix", [b"\xa0", b"\xd9\xa1"], ids=["no-break-space", "arabic-indic-digit"])
def test_receipt_timestamp_with_non_ascii_bytes_is_a_401(pinned_cos, prefix) -> None:
    cos, mc_key = pinned_cos
    body = json.dumps({"evidence_id": "ev_1", "idempotency_key": "k-1"}).encode()
    signed = receipts.sign(body, mc_key)
    url = urlsplit(cos.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.putrequest("POST", RECEIPT_PATH)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        conn.putheader(receipts.TIMESTAMP_HEADER, prefix + signed[receipts.TIMESTAMP_HEADER].encode())
        conn.putheader(receipts.SIGNATURE_HEADER, signed[receipts.SIGNATURE_HEADER])
        conn.endheaders(body)
        response = conn.getresponse()
        answer = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 401, answer
    assert answer["reason"] == "bad_signature"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/login", json.dumps({"username": "qa", "password": "qa-dev-password"}).encode()),
        ("/v1/authorize", json.dumps(DECISION).encode()),
        ("/v1/evidence", json.dumps(evidence_doc()).encode()),
        (RECEIPT_PATH, b"{}"),
    ],
    ids=["login", "authorize", "evidence", "receipt"],
)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_a_415_with_a_reason(standalone, token, path, body, content_type) -> None:
    key = new_key()
    headers = {**bearer(token), "Idempotency-Key": key}
    if content_type:
        headers["Content-Type"] = content_type
    r = httpx.post(f"{standalone.url}{path}", content=body, headers=headers)
    assert r.status_code == 415, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["reason"] == "unsupported_media_type"
    assert httpx.get(f"{standalone.url}/v1/evidence/{key}", headers=bearer(token)).status_code == 404
