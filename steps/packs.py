"""Steps about the policy packs MC serves and their attestations."""

from behave import then, when

from harness.domain import packs


@when('the suite fetches pack "{pack}" from MC')
def step_fetch(context, pack):
    context.world.last = packs.fetch(context.world, pack)
    context.world.pack = context.world.last


@when('the suite asks MC for the headers of pack "{pack}"')
def step_head(context, pack):
    context.world.fetched = packs.fetch(context.world, pack)
    context.world.last = packs.fetch(context.world, pack, method="HEAD")


@when('the suite fetches pack "{pack}" with If-None-Match {header}')
def step_conditional(context, pack, header):
    context.world.last = packs.fetch_conditional(context.world, pack, header)


@when('the suite fetches the attestation of pack "{pack}"')
def step_attestation(context, pack):
    context.world.last = packs.fetch_attestation(context.world, pack)


@then('the answer is 200 with content type "{ctype}"')
def step_200_ctype(context, ctype):
    answer = context.world.last
    assert answer.status == 200, f"expected 200, got {answer.status} {answer.body}"
    assert answer.headers.get("content-type", "").split(";")[0] == ctype, answer.headers.get("content-type")


@then("its ETag is the strong tag of the SHA-256 of the bytes")
def step_etag(context):
    packs.expect_etag_of_bytes(context.world.last)


@then("its Content-Digest is the sha-256 of the bytes")
def step_content_digest(context):
    packs.expect_content_digest_of_bytes(context.world.last)


@then("the bytes are an OPA bundle with a .manifest revision, Rego and data.json")
def step_bundle(context):
    packs.expect_bundle_layout(context.world.last.raw)


@then("they equal the GET headers and there is no body")
def step_head_equal(context):
    packs.expect_head_matches(context.world.fetched, context.world.last)


@then("the attestation verifies with MC's published key")
def step_verifies(context):
    context.world.statement = packs.verify_attestation(context.world, context.world.last)


@then("its subject digest is the SHA-256 of the pack bytes")
def step_subject(context):
    packs.expect_subject_matches(context.world.statement, context.world.pack.raw)
