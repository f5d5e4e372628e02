"""The scrub gate passes the committed pacts and catches a planted secret of every kind."""

from __future__ import annotations

import copy

import pytest

from contracts import PACT_DIR, pactfile, placeholders, scrub
from seam import keys

SAMPLE_JWT = (
    "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjb21wYW55b3MiLCJzY29wZSI6InBvbGljeTpyZWFkIn0."
    "3-9ZFYQRVvI9k5lRKV3o9-R_zS1CjclGDtO35AtGnj1G0XSKZbonzlwULqGyr8FBsBSXB421cU7tMG5QEvVHCA"
)


def _pact(name: str = "companyos-maestro-conductor.json") -> dict:
    return pactfile.load(PACT_DIR / name)


def _interaction(doc: dict, description: str) -> dict:
    return next(i for i in doc["interactions"] if i["description"] == description)


def test_committed_pacts_hold_only_placeholders() -> None:
    findings = scrub.scan()
    assert not findings, scrub.report(findings, 3)


def test_a_planted_jwt_in_a_response_is_caught() -> None:
    doc = copy.deepcopy(_pact())
    body = _interaction(doc, "a token request with the client's credentials")["response"]["body"]
    body["content"]["access_token"] = SAMPLE_JWT
    findings = scrub.scan_document(doc, "planted.json")
    assert any("JSON Web Token" in f.rule for f in findings), findings
    assert all(SAMPLE_JWT not in str(f) for f in findings), "a finding must not print the secret"


def test_a_real_bearer_token_in_a_request_header_is_caught() -> None:
    doc = copy.deepcopy(_pact())
    request = _interaction(doc, "a request for the policy pack")["request"]
    request["headers"]["Authorization"] = ["Bearer s3cr3t-opaque-token-value"]
    rules = {f.rule for f in scrub.scan_document(doc, "planted.json")}
    assert "bearer credential other than the documented placeholder" in rules, rules


def test_a_client_secret_in_a_form_body_is_caught() -> None:
    doc = copy.deepcopy(_pact())
    body = _interaction(doc, "a token request with a wrong client secret")["request"]["body"]
    body["content"] = body["content"].replace(placeholders.WRONG_CLIENT_SECRET, "companyos-dev-secret")
    rules = {f.rule for f in scrub.scan_document(doc, "planted.json")}
    assert "contains a development credential of this repository" in rules, rules
    assert any("client_secret" in r for r in rules), rules


def test_a_password_in_a_login_body_is_caught() -> None:
    doc = copy.deepcopy(_pact("companyos-client-companyos.json"))
    body = _interaction(doc, "a login with a wrong password")["request"]["body"]
    body["content"]["password"] = "hunter2-but-longer"
    rules = {f.rule for f in scrub.scan_document(doc, "planted.json")}
    assert "secret-like field 'password' holds a non-placeholder value" in rules, rules


def test_a_private_key_anywhere_is_caught() -> None:
    doc = copy.deepcopy(_pact("maestro-conductor-companyos.json"))
    pem = keys.private_pem(keys.generate()).decode()
    doc["interactions"][0]["providerStates"][0].setdefault("params", {})["note"] = pem
    rules = {f.rule for f in scrub.scan_document(doc, "planted.json")}
    assert "contains a private key" in rules, rules


@pytest.mark.parametrize("value", ["Bearer ${accessToken}", f"Bearer {placeholders.TOKEN}"])
def test_placeholders_and_state_expressions_are_allowed(value: str) -> None:
    assert scrub.check_value("$.h", "Authorization", value) == []


def test_the_cli_exits_non_zero_on_a_planted_secret(tmp_path) -> None:
    from contracts.__main__ import main

    doc = copy.deepcopy(_pact())
    _interaction(doc, "a request for the policy pack")["request"]["headers"]["Authorization"] = [
        f"Bearer {SAMPLE_JWT}"
    ]
    planted = tmp_path / "planted.json"
    planted.write_text(pactfile.dumps(doc))
    assert main(["scrub", str(planted)]) == 1
    assert main(["scrub"]) == 0
