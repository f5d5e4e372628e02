"""RFC 9457 problem+json responses, from one place, for both services.

Every error a client can see is a problem document with a machine-readable
`reason`; unexpected exceptions become a 500 problem without a stack trace
or any request data (which may hold secrets).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from seam import storage, strict_json

MEDIA_TYPE = "application/problem+json"
BODY_TIMEOUT_S = 30.0  # first to last byte of a request body (seam/connections.py closes idle heads)
log = logging.getLogger("seam.problem")


class Problem(Exception):
    """Raise anywhere in a handler to answer with a problem document."""

    def __init__(
        self,
        status: int,
        reason: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    411: "Length Required",
    413: "Content Too Large",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    500: "Internal Server Error",
    503: "Service Unavailable",
    507: "Insufficient Storage",
}


def response(
    status: int,
    reason: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = {
        "type": f"https://cos-pact-e2e.dev/problems/{reason}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "reason": reason,
        **extra,
    }
    return Response(json.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=headers or {})


async def problem_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return response(exc.status, exc.reason, exc.detail, exc.headers, **exc.extra)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    reason = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return response(exc.status_code, reason, str(exc.detail), dict(exc.headers or {}))


async def unexpected_handler(request: Request, exc: Exception) -> Response:
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return response(500, "internal_error", "the server failed to handle this request")


async def storage_handler(request: Request, exc: Exception) -> Response:
    """A full or failing data volume is the server's condition, not a bug: 507/503 with a reason
    and Retry-After (seam/storage.py). Any other database error is unexpected (500)."""
    answer = storage.problem_for(exc)
    if answer is None:
        return await unexpected_handler(request, exc)
    status, reason, detail = answer
    log.warning("%s on %s %s: %s", reason, request.method, request.url.path, exc)
    return response(status, reason, detail, {"Retry-After": str(storage.RETRY_AFTER_S)})


EXCEPTION_HANDLERS = {
    Problem: problem_handler,
    HTTPException: http_exception_handler,
    sqlite3.Error: storage_handler,
    Exception: unexpected_handler,
}


def parse_json_object(body: bytes) -> dict[str, Any]:
    """Decode a strict JSON object body (seam/strict_json.py) or raise a 400 problem saying why:
    `malformed_json`, `non_finite_number`, `invalid_unicode` or `nesting_too_deep`."""
    try:
        value = strict_json.loads(body)
    except strict_json.StrictJsonError as exc:
        raise Problem(400, exc.reason, f"request body is not accepted: {exc.detail}") from None
    if not isinstance(value, dict):
        raise Problem(400, "malformed_json", "request body must be a JSON object")
    return value


def is_json_media_type(content_type: str | None) -> bool:
    """`application/json` or any `application/*+json`, parameters (charset) ignored."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def require_json(request: Request) -> None:
    """415 unless the request declares a JSON body: a body sent as text/plain or a form is
    refused rather than guessed at (a browser form cannot post to a JSON endpoint that way)."""
    content_type = request.headers.get("content-type")
    if not is_json_media_type(content_type):
        raise Problem(
            415,
            "unsupported_media_type",
            f"send the body as application/json (got {(content_type or 'no Content-Type')[:64]!r})",
            headers={"Accept-Post": "application/json"},
        )


async def read_body(request: Request, limit: int, timeout_s: float | None = None) -> bytes:
    """Read at most `limit` bytes within `timeout_s`; a larger body is a 413 without buffering it
    all, a slower one a 408. A client that goes away mid-body is one log line, not a traceback."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem(413, "body_too_large", f"body exceeds the {limit}-byte limit", limit=limit)
    chunks: list[bytes] = []
    size = 0
    timeout_s = BODY_TIMEOUT_S if timeout_s is None else timeout_s
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Problem(413, "body_too_large", f"body exceeds the {limit}-byte limit", limit=limit)
                chunks.append(chunk)
    except TimeoutError:
        log.info(
            "request body too slow on %s %s: %d bytes in %.0f s",
            request.method,
            request.url.path,
            size,
            timeout_s,
        )
        raise Problem(408, "body_timeout", f"the body did not arrive within {timeout_s:.0f} s") from None
    except ClientDisconnect:
        log.info(
            "client went away during the body of %s %s (%d bytes read)",
            request.method,
            request.url.path,
            size,
        )
        raise Problem(400, "client_disconnected", "the client closed the connection mid-body") from None
    return b"".join(chunks)
