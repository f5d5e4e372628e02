"""The fuzz stage fails, naming the operation, when a service breaks its own OpenAPI document.

A real COS app (standalone) is served by uvicorn on a loopback port with two seeded defects:
`/healthz` answers `uptime_s` as a string (the document says number) and `GET /v1/evidence`
crashes (500) for `state=published`, a value the document allows. The same `fuzz_service` the
stage uses runs schemathesis against it; both operations must be reported as failing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from companyos.api import evidence, ops
from companyos.app import create_app
from companyos.settings import Settings
from companyos.users import DEV_PASSWORD, DEV_USER
from harness.gates import fuzz
from harness.kit.ports import free_port
from harness.kit.readiness import http_ready, wait_until


async def healthz_uptime_as_text(request: Request) -> Response:
    body = json.loads((await ops.healthz(request)).body)
    body["uptime_s"] = str(body["uptime_s"])
    return JSONResponse(body)


async def list_evidence_crashes_on_published(request: Request) -> Response:
    if request.query_params.get("state") == "published":
        raise RuntimeError("seeded defect")
    return await evidence.list_evidence(request)


def _doctored(tmp: Path):
    app = create_app(Settings(data_dir=tmp / "cos"))
    doctored = {
        ("/healthz", "GET"): healthz_uptime_as_text,
        ("/v1/evidence", "GET"): list_evidence_crashes_on_published,
    }
    routes = app.router.routes
    for i, route in enumerate(routes):
        if isinstance(route, Route):
            for (path, method), endpoint in doctored.items():
                if route.path == path and method in (route.methods or ()):
                    routes[i] = Route(path, endpoint, methods=[method], name=route.name)
    return app


@pytest.fixture
def doctored_cos(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(_doctored(tmp_path), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until("doctored COS", http_ready(f"{url}/readyz"), 15.0, alive=thread.is_alive)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.slow
def test_fuzz_names_the_operations_that_break_the_document(doctored_cos: str, tmp_path: Path) -> None:
    login = httpx.post(f"{doctored_cos}/v1/login", json={"username": DEV_USER, "password": DEV_PASSWORD})
    target = fuzz.Target("companyos", doctored_cos, {"bearer": login.json()["access_token"]})
    # The coverage phase (each operation's boundary and enum values, the allowed `state=published`
    # among them) is deterministic and ends when its cases are done; the random phases run until
    # the budget, so on a loaded machine (the gate's lanes) they reached the defect or not (12 s cap).
    result = fuzz.fuzz_service(target, tmp_path / "report", budget_s=60, phases=("coverage",))
    assert not result.ok
    assert "GET /healthz" in result.failed, result.operations
    assert "GET /v1/evidence" in result.failed, result.operations
    assert any("response_schema_conformance" in f for f in result.operations["GET /healthz"]["failures"])
    assert any("not_a_server_error" in f for f in result.operations["GET /v1/evidence"]["failures"])
    assert "GET /v1/attestation" not in result.failed  # the untouched operations still pass


def test_the_hook_sends_the_bytes_its_content_digest_names() -> None:
    from seam.digest import verify_content_digest

    class Case:
        media_type = "application/json"
        headers = {"Content-Digest": "sha-256=:AAAA:"}
        body = {"release": "r", "payload": {"n": 1}}

    kwargs: dict = {}
    fuzz._sign_body(Case, kwargs)
    verify_content_digest(Case.headers["Content-Digest"], kwargs["data"])  # raises on a mismatch
    assert json.loads(kwargs["data"]) == Case.body

    Case.headers = {}  # a case generated without the header keeps it missing
    kwargs = {}
    fuzz._sign_body(Case, kwargs)
    assert kwargs == {} and "Content-Digest" not in Case.headers


def test_the_hook_signs_receipts_as_mc_does(tmp_path: Path) -> None:
    from seam import keys, receipts

    key_file = tmp_path / "mc.pem"
    key = keys.load_or_create(key_file)

    class Case:
        media_type = "application/json"
        headers = {receipts.TIMESTAMP_HEADER: "0", receipts.SIGNATURE_HEADER: "x"}
        body = {"idempotency_key": "k-1", "evidence_id": "ev_1"}

    kwargs: dict = {}
    fuzz._sign_receipt(Case, kwargs, str(key_file))
    receipts.verify(Case.headers, kwargs["data"], key.public_key())  # raises unless MC's signature
