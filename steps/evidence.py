"""Steps about release evidence: submitting it, and where it ends up."""

from behave import given, then, when

from harness.domain import evidence


@given("the QA user has already submitted a piece of evidence")
@when("the QA user submits a piece of evidence")
def step_submit_one(context):
    sub = evidence.submit(context.world)
    assert sub.answer.status == 202, f"COS did not accept evidence: {sub.answer.status} {sub.answer.body}"
    context.world.first = sub


@when("the QA user submits {count:d} pieces of evidence")
def step_submit_many(context, count):
    for _ in range(count):
        evidence.submit(context.world)


@when("the QA user submits the same evidence again with the same idempotency key")
def step_submit_again(context):
    first = context.world.first
    evidence.submit(context.world, first.document, first.key)


@when("the QA user submits different evidence with the same idempotency key")
def step_submit_different(context):
    evidence.submit(context.world, evidence.new_document(), context.world.first.key)


@then("COS accepts each of them with 202")
def step_all_202(context):
    evidence.expect_each_accepted(context.world)


@then("the second answer is a replay of the first")
def step_replay(context):
    first, second = context.world.submissions[:2]
    evidence.expect_replay(first.answer, second.answer)


@then("within {seconds:d} seconds MC holds each of them exactly once")
@then("within {seconds:d} seconds MC holds it exactly once")
def step_mc_once(context, seconds):
    context.world.note("ledger", evidence.wait_stored_once(context.world, seconds).summary())


@given("within {seconds:d} seconds COS shows it acknowledged by MC's receipt")
@then("within {seconds:d} seconds COS shows each of them acknowledged by a receipt")
def step_acknowledged(context, seconds):
    took = evidence.wait_acknowledged(context.world, seconds)
    context.world.time("accepted_to_acknowledged_s", took)


@then('COS shows each of them "{state}" in its outbox')
def step_state(context, state):
    keys = evidence.accepted_keys(context.world)
    assert keys, "COS accepted no evidence in this scenario"
    states = evidence.cos_states_of(context.world, keys)
    wrong = {k: states.get(k) for k in keys if states.get(k) != state}
    assert not wrong, f"expected every entry {state!r}, got {wrong}"


@when("someone posts a receipt for it with a bad signature")
def step_bad_receipt(context):
    first = context.world.first
    context.world.entry_before = evidence.outbox_entry(context.world, first.key)
    context.world.last = evidence.post_forged_receipt(context.world, first)


@then("its outbox entry is unchanged")
def step_entry_unchanged(context):
    key = context.world.first.key
    evidence.expect_entry_unchanged(context.world, key, context.world.entry_before)
