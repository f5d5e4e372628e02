"""Both services serve a full OpenAPI 3.1 document that openapi-spec-validator accepts.

The documents are generated from the typed models and the route table (seam/openapi.py), so
these tests also prove the generator refuses a route table the operations do not describe.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient

from companyos.app import openapi_document as cos_document
from conductor import openapi as mc_openapi
from conductor.app import create_app as create_mc
from conductor.settings import Settings as McSettings
from seam import openapi

HEADERS = {"ETag", "Content-Digest", "Idempotent-Replayed", "Location", "WWW-Authenticate"}


@pytest.fixture(scope="module")
def mc_docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """What MC's two listeners serve at /openapi.json: the public API and the admin API."""
    app = create_mc(McSettings(data_dir=Path(tmp_path_factory.mktemp("mc"))))
    docs = {}
    for name, listener in (("mc", app), ("mc-admin", app.state.admin_app)):
        with TestClient(listener) as client:
            served = client.get("/openapi.json")
            assert served.status_code == 200
            docs[name] = served.json()
    return docs


@pytest.fixture(scope="module")
def mc_doc(mc_docs: dict[str, dict]) -> dict:
    return mc_docs["mc"]


def _operations(doc: dict) -> list[tuple[str, str, dict]]:
    return [(m, p, op) for p, item in doc["paths"].items() for m, op in item.items()]


def _response_headers(doc: dict) -> set[str]:
    return {
        h for _, _, op in _operations(doc) for r in op["responses"].values() for h in r.get("headers", {})
    }


@pytest.mark.parametrize("which", ["cos", "mc", "mc-admin"])
def test_document_is_valid_openapi_3_1(which: str, mc_docs: dict) -> None:
    doc = cos_document() if which == "cos" else mc_docs[which]
    validate(doc)
    assert doc["openapi"] == "3.1.0"


@pytest.mark.parametrize("which", ["cos", "mc", "mc-admin"])
def test_every_operation_has_typed_answers_and_security(which: str, mc_docs: dict) -> None:
    doc = cos_document() if which == "cos" else mc_docs[which]
    for method, path, op in _operations(doc):
        assert "security" in op, (method, path)
        for status, answer in op["responses"].items():
            if int(status) >= 400 and path != "/readyz":  # COS's 503 readiness is its JSON body
                assert "application/problem+json" in answer["content"], (method, path, status)
            elif status not in ("204", "304") and method != "head":
                assert answer.get("content"), (method, path, status)
        for name in (p["name"] for p in op.get("parameters", []) if p["in"] == "path"):
            assert "{" + name + "}" in path
        if op["security"]:
            assert "401" in op["responses"] and "WWW-Authenticate" in op["responses"]["401"]["headers"]


def test_cos_documents_headers_bodies_and_path_parameters() -> None:
    doc = cos_document()
    assert {"ETag", "Content-Digest", "Idempotent-Replayed", "Location"} <= _response_headers(doc)
    submit = doc["paths"]["/v1/evidence"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Evidence"
    }
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in submit["parameters"])
    one = doc["paths"]["/v1/evidence/{evidence_id}"]["get"]
    assert one["parameters"][0] == {
        "name": "evidence_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "COS evidence id or the idempotency key",
    }
    evidence = doc["components"]["schemas"]["Evidence"]
    assert evidence["additionalProperties"] is False and evidence["examples"]


def test_mc_documents_every_seam_header_and_2xx_bodies(mc_doc: dict) -> None:
    assert HEADERS <= _response_headers(mc_doc)
    stored = mc_doc["paths"]["/v1/evidence"]["post"]["responses"]["201"]
    assert stored["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/EvidenceStored"}
    assert mc_doc["paths"]["/v1/tokens"]["post"]["security"] == []



def test_mc_admin_operations_are_only_in_the_admin_listeners_document(mc_docs: dict) -> None:
    public, admin = mc_docs["mc"], mc_docs["mc-admin"]
    assert not [p for p in public["paths"] if p.startswith("/admin")]
    assert "admin" not in public["components"]["securitySchemes"]
    assert admin["paths"]["/admin/reset"]["post"]["security"] == [{"admin": []}]
    assert {p for p in admin["paths"] if not p.startswith("/admin")} == {"/healthz", "/openapi.json"}


def test_a_route_without_an_operation_refuses_to_build() -> None:
    async def extra(request):  # pragma: no cover - never served
        raise AssertionError

    with pytest.raises(RuntimeError, match=r"undocumented \[\('GET', '/v1/extra'\)\]"):
        openapi.check_routes([Route("/v1/extra", extra, methods=["GET"])], [])
    with pytest.raises(RuntimeError, match="no route for"):
        mc_openapi.document(routes=[])
