"""Steps about bad input: what COS answers, and that nothing changed."""

from behave import then, when

from harness.domain import bad_input


@when("the QA user sends {kind}")
def step_submit_bad(context, kind):
    context.world.snapshot_before = bad_input.snapshot(context.world)
    context.world.last = bad_input.submit(context.world, kind)


@then("the evidence accepted before is unchanged and nothing new was added")
def step_unchanged(context):
    bad_input.expect_unchanged(context.world, context.world.snapshot_before)


@then('the problem names the field "{field}"')
def step_field(context, field):
    body = context.world.last.body
    assert body.get("field") == field, f"expected the problem to name {field!r}, got {body}"
