"""`POST /v1/authorize`: decide with the active policy pack, naming the pack that decided."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from companyos import mutations
from companyos.api.context import MAX_REQUEST_BYTES, json_response, services
from companyos.api.models import Decision, DecisionRequest
from seam.models.validation import parse
from seam.openapi import Op, Resp
from seam.problem import parse_json_object, read_body, require_json


async def authorize(request: Request) -> Response:
    """Decide whether subject may perform action on resource, with the active pack."""
    cos = services(request)
    cos.auth.require(request)
    await cos.test_latency()
    require_json(request)
    doc = parse_json_object(await read_body(request, MAX_REQUEST_BYTES))
    policy = cos.require_policy()  # read once: decision and reported pack are the same object
    asked = parse(DecisionRequest, doc, reason="invalid_request")
    decision = policy.decide(
        {
            "subject": {**doc["subject"], "user": asked.subject.user, "roles": asked.subject.roles},
            "action": asked.action,
            "resource": asked.resource,
        }
    )
    field_name = "allowed" if cos.mutations.active(mutations.AUTHORIZE_FIELD_RENAMED) else "allow"
    cos.metrics.authorize_decisions.labels("true" if decision.allow else "false").inc()
    body = {field_name: decision.allow, "reasons": decision.reasons, "policy": policy.policy_ref()}
    return json_response(cos.mutations.decision(body) if cos.mutations.names else body)


ROUTES = [Route("/v1/authorize", authorize, methods=["POST"], name="authorize")]
OPERATIONS = [
    Op(
        "POST",
        "/v1/authorize",
        "authorize",
        "Decide whether subject may perform action on resource, with the active pack",
        request=DecisionRequest,
        responses={200: Resp("the decision and the pack that made it", Decision)},
        security=("bearer",),
        problems=(400, 408, 413, 415, 422, 503),
        tags=("decisions",),
    )
]
