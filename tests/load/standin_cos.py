"""A stand-in for COS that records what the k6 script sends — for plumbing tests only.

It checks the wire shapes of docs/seam.md (bearer token, Idempotency-Key, evidence
document, Content-Digest, If-None-Match) and counts them at `GET /_stats`, so a test
can prove the script sends what COS expects. It is never evidence of a latency budget:
budgets are measured against the real COS (test_load_run.py).

    python tests/load/standin_cos.py PORT
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from collections import Counter

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
from seam.evidence import validate  # noqa: E402
from seam.problem import Problem  # noqa: E402

TOKEN = "standin-token"
PACK_DIGEST = "a" * 64
ETAG = f'"sha256-{PACK_DIGEST}"'
stats: Counter[str] = Counter()
keys: Counter[str] = Counter()


async def login(request: Request) -> Response:
    body = await request.json()
    stats["login"] += 1
    if body != {"username": "qa", "password": "qa-dev-password"}:
        return JSONResponse({"reason": "invalid_credentials"}, status_code=401)
    return JSONResponse({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 600})


def authorized(request: Request) -> bool:
    ok = request.headers.get("authorization") == f"Bearer {TOKEN}"
    if not ok:
        stats["unauthorized"] += 1
    return ok


async def authorize(request: Request) -> Response:
    if not authorized(request):
        return JSONResponse({"reason": "invalid_token"}, status_code=401)
    body = await request.json()
    if not isinstance(body.get("subject", {}).get("roles"), list) or not body.get("action"):
        stats["bad_authorize"] += 1
        return JSONResponse({"reason": "invalid_request"}, status_code=422)
    stats["authorize"] += 1
    return JSONResponse({"allow": True, "reasons": [], "policy": {"digest": PACK_DIGEST}})


async def attestation(request: Request) -> Response:
    if request.headers.get("if-none-match") == ETAG:
        stats["attestation_304"] += 1
        return Response(status_code=304, headers={"ETag": ETAG})
    stats["attestation_200"] += 1
    return JSONResponse({"pack": "policy-pack-v0", "digest": PACK_DIGEST}, headers={"ETag": ETAG})


async def evidence(request: Request) -> Response:
    if not authorized(request):
        return JSONResponse({"reason": "invalid_token"}, status_code=401)
    raw = await request.body()
    key = request.headers.get("idempotency-key")
    if not key:
        stats["missing_key"] += 1
        return JSONResponse({"reason": "missing_idempotency_key"}, status_code=400)
    digest = request.headers.get("content-digest")
    if digest is not None:
        want = "sha-256=:" + base64.b64encode(hashlib.sha256(raw).digest()).decode() + ":"
        stats["content_digest_ok" if digest == want else "content_digest_bad"] += 1
    try:
        validate(json.loads(raw))
    except Problem as problem:
        stats["invalid_evidence"] += 1
        return JSONResponse({"reason": problem.reason}, status_code=422)
    keys[key] += 1
    stats["evidence"] += 1
    return JSONResponse({"evidence_id": str(stats["evidence"]), "idempotency_key": key}, status_code=202)


async def snapshot(request: Request) -> Response:
    return JSONResponse(
        {**stats, "distinct_keys": len(keys), "duplicate_keys": sum(n > 1 for n in keys.values())}
    )


async def ready(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/v1/login", login, methods=["POST"]),
        Route("/v1/authorize", authorize, methods=["POST"]),
        Route("/v1/attestation", attestation, methods=["GET"]),
        Route("/v1/evidence", evidence, methods=["POST"]),
        Route("/readyz", ready),
        Route("/_stats", snapshot),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
