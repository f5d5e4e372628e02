"""Steps about COS's attestation: the pack it enforces and its validators (harness/domain/attestation.py)."""

from behave import then, when

from harness.domain import attestation
from harness.domain.phrases import IfNoneMatch, header_promise


@when("a client asks COS which pack it enforces")
def step_ask(context):
    """Fetch COS's attestation (`/v1/attestation`); later steps judge this answer."""
    attestation.ask(context.world)


@then("the attestation is answered with these headers:")
def step_headers(context):
    """Each `header` keeps its `promise`: a digest it is computed from, or a literal value."""
    for row in context.table:
        attestation.expect_header(context.world.last, row["header"], header_promise(row["promise"]))


@then('the attestation says source "{source}" with signature verified "{verified:Flag}"')
def step_source(context, source, verified):
    """The attestation names the pack's source (`local`/`mc`) and whether its signature was verified."""
    attestation.expect_source(context.world.last, source, bool(verified))


@then("asking again with that ETag gets 304 with the same ETag and no body")
def step_304(context):
    """A conditional request naming the current ETag is answered 304, ETag repeated, no body."""
    attestation.expect_conditional(context.world, IfNoneMatch.CURRENT)


@then("asking with a list of ETags that includes it gets 304")
def step_304_list(context):
    """If-None-Match listing a stale tag and the current one is still a match (304)."""
    attestation.expect_conditional(context.world, IfNoneMatch.LIST_WITH_CURRENT)


@then('asking with "*" gets 304')
def step_304_star(context):
    """If-None-Match `*` matches whatever COS enforces (304)."""
    attestation.expect_conditional(context.world, IfNoneMatch.ANY)


@then("asking with a stale ETag gets the full attestation")
def step_stale(context):
    """A tag COS never issued gets the whole attestation (200)."""
    attestation.expect_conditional(context.world, IfNoneMatch.STALE)
