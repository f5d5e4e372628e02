"""The policy pack: strong validators, HEAD, 304 on a matching tag, and the 401/403/404 answers."""

from __future__ import annotations

from contracts.consumers.companyos_mc.common import (
    BEARER_CHALLENGE,
    EXPIRED_TOKEN,
    PACK_PATH,
    PACK_SERVED,
    TOKEN,
    Pact,
    _call,
    _client,
    bearer,
    case,
    digest,
    examples,
    placeholders,
)
from contracts.dsl import (
    CONTENT_DIGEST,
    ETAG_STRONG,
    MOCK_HOST,
    answers_problem,
    binary_body_is,
    from_state,
    run,
)


# -- policy pack ----------------------------------------------------------------------------
def _pack_validators(pact: Pact) -> Pact:
    return pact.with_header(
        "ETag", from_state(examples.EXAMPLE_PACK_ETAG, '"sha256-${packDigest}"', regex=ETAG_STRONG)
    ).with_header(
        "Content-Digest",
        from_state(examples.EXAMPLE_PACK_CONTENT_DIGEST, "${packContentDigest}", regex=CONTENT_DIGEST),
    )


def _pack_given(pact: Pact, description: str, scope: str = "policy:read") -> Pact:
    return (
        pact.upon_receiving(description)
        .given(PACK_SERVED, pack=examples.PACK, revision=examples.PACK_REVISION)
        .given(TOKEN, scope=scope)
    )


def declare_pack_get(pact: Pact) -> None:
    interaction = (
        _pack_given(pact, "a request for the policy pack")
        .with_request("GET", PACK_PATH)
        .with_header("Authorization", bearer())
        .will_respond_with(200)
        .with_header("Content-Type", "application/gzip")
        .with_header("X-Pack-Revision", examples.PACK_REVISION)
        .with_header("Cache-Control", "no-cache")
    )
    _pack_validators(interaction).with_binary_body(examples.EXAMPLE_PACK_BYTES, "application/gzip")
    interaction.with_matching_rules(binary_body_is("application/gzip"), part="Response")


@case
def pack_get(pact: Pact) -> None:
    declare_pack_get(pact)
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "fetch_pack", examples.PACK, token=placeholders.TOKEN))
    assert result.status == 200 and result.content == examples.EXAMPLE_PACK_BYTES, result
    assert result.etag == digest.etag_for(result.content), result.etag
    digest.verify_content_digest(result.content_digest, result.content)
    assert result.revision == examples.PACK_REVISION


@case
def pack_head(pact: Pact) -> None:
    interaction = (
        _pack_given(pact, "a HEAD request for the policy pack")
        .with_request("HEAD", PACK_PATH)
        .with_header("Authorization", bearer())
        .will_respond_with(200)
        .with_header("Content-Type", "application/gzip")
        .with_header("X-Pack-Revision", examples.PACK_REVISION)
    )
    _pack_validators(interaction)
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "head_pack", examples.PACK, token=placeholders.TOKEN))
    assert result.status == 200 and result.etag == examples.EXAMPLE_PACK_ETAG and not result.content, result
    assert result.content_digest == examples.EXAMPLE_PACK_CONTENT_DIGEST


@case
def pack_not_modified(pact: Pact) -> None:
    etag = from_state(examples.EXAMPLE_PACK_ETAG, '"sha256-${packDigest}"', regex=ETAG_STRONG)
    (
        _pack_given(pact, "a conditional request for an unchanged policy pack")
        .with_request("GET", PACK_PATH)
        .with_header("Authorization", bearer())
        .with_header("If-None-Match", etag)
        .will_respond_with(304)
        .with_header("ETag", etag)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(
            _call(
                _client(srv),
                "fetch_pack",
                examples.PACK,
                if_none_match=examples.EXAMPLE_PACK_ETAG,
                token=placeholders.TOKEN,
            )
        )
    assert result.status == 304 and result.etag == examples.EXAMPLE_PACK_ETAG and not result.content, result


@case
def pack_without_token(pact: Pact) -> None:
    request = (
        pact.upon_receiving("a request for the policy pack without a token")
        .given(PACK_SERVED, pack=examples.PACK, revision=examples.PACK_REVISION)
        .with_request("GET", PACK_PATH)
    )
    answers_problem(request, 401, "missing_token", challenge=BEARER_CHALLENGE)
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "fetch_pack", examples.PACK))
    assert result.status == 401 and result.reason == "missing_token", result


@case
def pack_with_expired_token(pact: Pact) -> None:
    request = (
        pact.upon_receiving("a request for the policy pack with an expired token")
        .given(PACK_SERVED, pack=examples.PACK, revision=examples.PACK_REVISION)
        .given(EXPIRED_TOKEN, scope="policy:read")
        .with_request("GET", PACK_PATH)
        .with_header("Authorization", bearer())
    )
    answers_problem(request, 401, "expired_token", challenge=BEARER_CHALLENGE)
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "fetch_pack", examples.PACK, token=placeholders.TOKEN))
    assert result.status == 401 and result.reason == "expired_token", result


@case
def pack_without_scope(pact: Pact) -> None:
    request = (
        _pack_given(pact, "a request for the policy pack with a token lacking policy:read", "evidence:write")
        .with_request("GET", PACK_PATH)
        .with_header("Authorization", bearer())
    )
    answers_problem(
        request,
        403,
        "insufficient_scope",
        scope="policy:read",
        challenge='Bearer realm="maestro-conductor", error="insufficient_scope", scope="policy:read"',
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "fetch_pack", examples.PACK, token=placeholders.TOKEN))
    assert result.status == 403 and result.reason == "insufficient_scope", result


@case
def pack_unknown(pact: Pact) -> None:
    request = (
        pact.upon_receiving("a request for a pack MC does not have")
        .given(TOKEN, scope="policy:read")
        .with_request("GET", f"/v1/policy/packs/{examples.UNKNOWN_PACK}")
        .with_header("Authorization", bearer())
    )
    answers_problem(request, 404, "unknown_pack")
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(_call(_client(srv), "fetch_pack", examples.UNKNOWN_PACK, token=placeholders.TOKEN))
    assert result.status == 404 and result.reason == "unknown_pack", result
