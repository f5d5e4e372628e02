"""Steps about COS's attestation: which pack it enforces, and its validators."""

from behave import then, when

from harness.domain import attestation


@when("a client asks COS which pack it enforces")
def step_ask(context):
    context.world.last = attestation.fetch(context.world)


@then("the attestation is answered with these headers:")
def step_headers(context):
    for row in context.table:
        attestation.expect_header(context.world.last, row["header"], row["promise"])


@then('the attestation says source "{source}" with signature verified "{verified}"')
def step_source(context, source, verified):
    body = context.world.last.body
    assert body["source"] == source, f"expected source {source!r}, got {body}"
    assert body["signature_verified"] is (verified == "true"), f"expected verified={verified}, got {body}"


@then("asking again with that ETag gets 304 with the same ETag and no body")
def step_304(context):
    attestation.expect_not_modified(context.world, context.world.last.headers["etag"])


@then("asking with a list of ETags that includes it gets 304")
def step_304_list(context):
    etag = context.world.last.headers["etag"]
    attestation.expect_not_modified(context.world, f'"sha256-{"0" * 64}", {etag}', etag)


@then('asking with "*" gets 304')
def step_304_star(context):
    attestation.expect_not_modified(context.world, "*", context.world.last.headers["etag"])


@then("asking with a stale ETag gets the full attestation")
def step_stale(context):
    attestation.expect_full(context.world, f'"sha256-{"0" * 64}"')
