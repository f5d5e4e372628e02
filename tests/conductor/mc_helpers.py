"""Helpers for the MC tests: digests recomputed independently, tokens, evidence, a receiver record.

Digests and signatures are recomputed here with hashlib/base64/cryptography
rather than the seam helpers, so a bug in `seam` cannot hide a bug in MC.
"""

from __future__ import annotations

import base64
import hashlib
import json
import queue
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.testclient import TestClient

BASE = "http://127.0.0.1"
AppFactory = Callable[..., Starlette]  # the `make_app` fixture: Settings overrides → app
ADMIN = {"Authorization": "Bearer mc-admin-dev"}
PACK = "policy-pack-v0"
CREDENTIALS = {
    "grant_type": "client_credentials",
    "client_id": "companyos",
    "client_secret": "companyos-dev-secret",
}


class BothListeners:
    """MC's two listeners as one in-process ASGI app, for TestClient: `/admin/*` goes to the admin
    app, everything else (and the lifespan) to the public one — what two real ports do. The public
    app alone serves no /admin route (tests/conductor/test_mc_admin_listener.py)."""

    def __init__(self, public: Starlette) -> None:
        self.public = public
        self.admin = public.state.admin_app
        self.state = public.state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        admin = scope["type"] == "http" and scope["path"].startswith("/admin/")
        await (self.admin if admin else self.public)(scope, receive, send)


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def content_digest(data: bytes) -> str:
    return f"sha-256=:{b64_sha256(data)}:"


def canonical_sha256(doc: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def evidence_doc(release: str = "2026.11.3", **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "release": release,
        "kind": "test-report",
        "subject": {"name": "api", "digest": {"sha256": "a" * 64}},
        "produced_at": "2026-11-26T06:00:00Z",
        "payload": {"passed": 42, "failed": 0},
    }
    doc.update(overrides)
    return doc


def get_token(client: TestClient, scope: str | None = None) -> str:
    form = dict(CREDENTIALS)
    if scope is not None:
        form["scope"] = scope
    response = client.post("/v1/tokens", data=form)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post_evidence(
    client: TestClient,
    token: str,
    key: str,
    doc: dict[str, Any] | None = None,
    *,
    body: bytes | None = None,
    digest: str | None = None,
) -> Any:
    raw = body if body is not None else json.dumps(doc if doc is not None else evidence_doc()).encode()
    headers = {
        **bearer(token),
        "Idempotency-Key": key,
        "Content-Type": "application/json",
        "Content-Digest": digest if digest is not None else content_digest(raw),
    }
    return client.post("/v1/evidence", content=raw, headers=headers)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A loopback HTTP server recording requests; POST answers come from `statuses` (then 204)."""

    url: str
    requests: queue.Queue[Received] = field(default_factory=queue.Queue)
    statuses: list[int] = field(default_factory=list)
    attestation: dict[str, Any] = field(default_factory=dict)

    def next(self, timeout: float = 10.0) -> Received:
        return self.requests.get(timeout=timeout)
