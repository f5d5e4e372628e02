"""Steps about release evidence: submitting it, and where it ends up (harness/domain/evidence.py)."""

from behave import given, then, when

from harness.domain import evidence


@given("the QA user has already submitted a piece of evidence")
@when("the QA user submits a piece of evidence")
def step_submit_one(context):
    """Submit fresh evidence that COS must accept (202); later steps refer back to it."""
    evidence.submit_accepted(context.world)


@when("the QA user submits {count:d} pieces of evidence")
def step_submit_many(context, count):
    """Submit `count` fresh pieces of evidence, each under its own idempotency key."""
    evidence.submit_many(context.world, count)


@when("the QA user submits the same evidence again with the same idempotency key")
def step_submit_again(context):
    """Retry the first submission: same document, same key."""
    evidence.resubmit_first(context.world)


@when("the QA user submits different evidence with the same idempotency key")
def step_submit_different(context):
    """Reuse the first submission's key for a different document."""
    evidence.submit_different_under_first_key(context.world)


@then("COS accepts each of them with 202")
def step_all_202(context):
    """Every submission of the scenario was answered 202 Accepted."""
    evidence.expect_each_accepted(context.world)


@then("the second answer is a replay of the first")
def step_replay(context):
    """The retry's answer repeats the first one and is marked Idempotent-Replayed."""
    evidence.expect_second_replays_first(context.world)


@then("within {seconds:d} seconds MC holds each of them exactly once")
@then("within {seconds:d} seconds MC holds it exactly once")
def step_mc_once(context, seconds):
    """MC's ledger holds each accepted document once (by digest), within N s of the last submission."""
    evidence.expect_stored_once(context.world, seconds)


@given("within {seconds:d} seconds COS shows it acknowledged by MC's receipt")
@then("within {seconds:d} seconds COS shows each of them acknowledged by a receipt")
def step_acknowledged(context, seconds):
    """COS records MC's signed receipt for each accepted document within N s (timed)."""
    evidence.expect_acknowledged_within(context.world, seconds)


@then('COS shows each of them "{state}" in its outbox')
def step_state(context, state):
    """Every accepted document is in this outbox state (pending, published, acknowledged)."""
    evidence.expect_each_in_state(context.world, state)


@when("someone posts a receipt for it with a bad signature")
def step_bad_receipt(context):
    """Keep the first entry as it is, then post a receipt for it signed by a key not MC's."""
    evidence.forge_receipt_for_first(context.world)


@then("its outbox entry is unchanged")
def step_entry_unchanged(context):
    """The first entry's whole record is as it was before the forged receipt."""
    evidence.expect_first_entry_unchanged(context.world)
