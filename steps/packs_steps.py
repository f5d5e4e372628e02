"""Steps about the policy packs MC serves and their attestations (harness/domain/packs.py)."""

from behave import then, when

from harness.domain import packs
from harness.domain.phrases import IfNoneMatch


@when('the client fetches pack "{pack}" from MC')
def step_fetch(context, pack):
    """GET the pack from MC with the token the client holds; later steps judge these bytes."""
    packs.fetch_pack(context.world, pack)


@when('the client fetches the attestation of pack "{pack}"')
def step_attestation(context, pack):
    """GET the pack's attestation (a DSSE envelope) from MC."""
    packs.fetch_attestation(context.world, pack)


@then('the answer is 200 with content type "{ctype}"')
def step_200_ctype(context, ctype):
    """200, with this media type."""
    packs.expect_served(context.world.last, ctype)


@then("its ETag is the strong tag of the SHA-256 of the bytes")
def step_etag(context):
    """ETag is `"sha256-<hex>"` of the bytes received, never weak."""
    packs.expect_etag_of_bytes(context.world.last)


@then("its Content-Digest is the sha-256 of the bytes")
def step_content_digest(context):
    """Content-Digest is `sha-256=:<base64>:` of the bytes received."""
    packs.expect_content_digest_of_bytes(context.world.last)


@then("the bytes are an OPA bundle with a .manifest revision, Rego and data.json")
def step_bundle(context):
    """The gzip'd tar holds a .manifest with a revision, Rego sources and data.json."""
    packs.expect_bundle_layout(context.world.last.raw)


@then('polling pack "{pack}" with these If-None-Match values is answered:')
def step_conditional(context, pack):
    """Each row's If-None-Match (relative to the ETag fetched) gets its status: 304 empty, or 200 whole."""
    packs.expect_conditional(
        context.world, pack, [(IfNoneMatch(r["If-None-Match"]), int(r["status"])) for r in context.table]
    )


@then("the attestation verifies with MC's published key")
def step_verifies(context):
    """The DSSE signature verifies with the key MC publishes at /v1/keys/signing.pem."""
    packs.verify_attestation(context.world)


@then("its subject digest is the SHA-256 of the pack bytes")
def step_subject(context):
    """The signed statement's subject is the digest of the pack bytes the client got."""
    packs.expect_subject_matches(context.world)
