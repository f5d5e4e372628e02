"""`POST /v1/login`: a local username and password for a short-lived bearer token."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from companyos import mutations
from companyos.api.context import MAX_REQUEST_BYTES, json_response, services
from companyos.api.models import LoginRequest, LoginToken
from companyos.auth import REALM
from seam.models.validation import parse
from seam.openapi import Op, Resp, problem
from seam.problem import Problem, parse_json_object, read_body, require_json

log = logging.getLogger("companyos.api.login")


async def login(request: Request) -> Response:
    """Exchange a local username and password for a short-lived bearer token."""
    cos = services(request)
    require_json(request)
    doc = parse_json_object(await read_body(request, MAX_REQUEST_BYTES))
    body = parse(LoginRequest, doc, reason="invalid_request", status=400)
    user = await run_in_threadpool(cos.users.authenticate, body.username, body.password)
    if user is None:
        log.info("failed login for user %r", body.username[:64])
        headers = (
            {} if cos.mutations.active(mutations.LOGIN_NO_WWW_AUTHENTICATE) else {"WWW-Authenticate": REALM}
        )
        raise Problem(401, "invalid_credentials", "unknown user or wrong password", headers=headers)
    token, lifetime = cos.auth.issue(user.username, user.roles, body.ttl_s)
    return json_response(
        {"access_token": token, "token_type": "Bearer", "expires_in": lifetime},
        headers={"Cache-Control": "no-store"},
    )


ROUTES = [Route("/v1/login", login, methods=["POST"], name="login")]
OPERATIONS = [
    Op(
        "POST",
        "/v1/login",
        "login",
        "Exchange a local username and password for a short-lived bearer token",
        request=LoginRequest,
        responses={
            200: Resp("a bearer token", LoginToken, headers=("Cache-Control",)),
            400: problem(400, "invalid_request, malformed_json, non_finite_number, …"),
            401: problem(401, "invalid_credentials", headers=("WWW-Authenticate",)),
        },
        problems=(408, 413, 415),
        tags=("auth",),
    )
]
