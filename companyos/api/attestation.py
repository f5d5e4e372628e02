"""`GET /v1/attestation`: which policy pack COS enforces right now (ETag, 304, Content-Digest)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from companyos import mutations
from companyos.api.context import JSON, services
from companyos.api.models import Attestation
from seam import digest
from seam.openapi import Op, Param, Resp


async def attestation(request: Request) -> Response:
    """Which policy pack COS enforces right now (name, revision, digest, source)."""
    cos = services(request)
    await cos.test_latency()
    policy = cos.require_policy()
    etag = policy.etag
    if cos.mutations.active(mutations.ATTESTATION_ETAG_WEAK):
        etag = "W/" + etag
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if not cos.mutations.active(mutations.ATTESTATION_NO_304) and digest.if_none_match_hits(
        request.headers.get("if-none-match"), etag
    ):
        return Response(status_code=304, headers=headers)
    body, content_digest = policy.attestation_body, policy.attestation_content_digest  # per pack
    if cos.mutations.names:  # test-only contract mutations: computed per request
        body = cos.mutations.attestation_body(policy.describe()) or body
        wrong_digest = cos.mutations.active(mutations.ATTESTATION_CONTENT_DIGEST_WRONG)
        content_digest = digest.content_digest(body + b"other" if wrong_digest else body)
    headers["Content-Digest"] = content_digest
    return Response(body, media_type=JSON, headers=headers)


ROUTES = [Route("/v1/attestation", attestation, methods=["GET"], name="attestation")]
OPERATIONS = [
    Op(
        "GET",
        "/v1/attestation",
        "attestation",
        "Which policy pack COS enforces right now (name, revision, digest, source)",
        params=(Param("If-None-Match", "header", description="an ETag from an earlier answer"),),
        responses={
            200: Resp("the enforced pack", Attestation, headers=("ETag", "Cache-Control", "Content-Digest")),
            304: Resp("not modified since the ETag sent", headers=("ETag", "Cache-Control")),
        },
        problems=(503,),
        tags=("attestation",),
    )
]
