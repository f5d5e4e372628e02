"""Steps about bad input: what COS answers, and that nothing changed (harness/domain/bad_input.py)."""

from behave import then, when

from harness.domain import bad_input


@when("the QA user sends {bad:BadInput}")
def step_send_bad(context, bad):
    """Snapshot COS's evidence, then send one malformed evidence request (see BadInput)."""
    bad_input.send(context.world, bad)


@when("the QA user sends a body of {size:d} bytes")
def step_send_oversize(context, size):
    """Snapshot COS's evidence, then send a JSON body of at least `size` bytes."""
    bad_input.send_oversize(context.world, size)


@when('the QA user sends evidence with kind "{kind}"')
def step_send_kind(context, kind):
    """Snapshot COS's evidence, then submit otherwise valid evidence of an unknown `kind`."""
    bad_input.send_with_kind(context.world, kind)


@then("the evidence accepted before is unchanged and nothing new was added")
def step_unchanged(context):
    """Every entry accepted before is still there, none went backwards, the outbox total is the same."""
    bad_input.expect_unchanged(context.world)


@then('the problem names the field "{field}"')
def step_field(context, field):
    """The problem document's `field` is the offending field."""
    bad_input.expect_field_named(context.world.last, field)
