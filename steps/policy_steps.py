"""Steps about decisions, the enforced pack and reloads (harness/domain/policy.py)."""

from behave import given, then, when

from harness.domain import faults, policy
from harness.domain.phrases import Verdict, roles


@then('COS enforces the "{source}" pack')
def step_enforces_source(context, source):
    """COS's attestation names this source: `local` or `mc`."""
    policy.expect_enforcing_source(context.world, source)


@given("COS enforces the pack MC serves")
@then("the pack COS enforces is the one MC serves")
def step_enforces_mc_pack(context):
    """COS attests exactly the digest MC serves now; it becomes the last-known-good."""
    policy.expect_enforcing_mc_pack(context.world)


@then("COS enforces the pack MC serves within {seconds:d} seconds")
def step_enforces_mc_within(context, seconds):
    """COS enforces MC's pack within N s of the fault's removal (timed)."""
    policy.wait_enforcing_mc_pack_after_fault(context.world, seconds)


@then("these decisions are made:")
def step_decision_table(context):
    """COS decides each row's roles and action as the `decision` column says (allow or deny)."""
    policy.expect_decisions(
        context.world, [(roles(r["roles"]), r["action"], Verdict(r["decision"])) for r in context.table]
    )


@then('a {role} may "{action}"')
def step_may(context, role, action):
    """COS allows this role the action."""
    policy.expect_decision(context.world, [role], action, Verdict.ALLOW)


@then('a {role} may not "{action}"')
def step_may_not(context, role, action):
    """COS denies this role the action."""
    policy.expect_decision(context.world, [role], action, Verdict.DENY)


@given("decisions are being requested from COS continuously")
def step_background_decisions(context):
    """Start background threads asking COS for decisions until the scenario checks them."""
    policy.start_background_decisions(context.world)


@given("MC has published a good, signed revision and COS enforces it")
def step_fresh_good_revision(context):
    """Publish a fresh, validly signed revision at MC and wait (≤ 5 s) until COS enforces it."""
    policy.publish_good_and_wait(context.world, budget_s=5)


@when('MC publishes a revision that freezes the "{action}" action')
def step_publish_frozen(context, action):
    """Publish a validly signed revision at MC that freezes `action`."""
    policy.publish_frozen(context.world, action)


@when('MC publishes a revision that freezes the "{action}" action, {defect:Defect}')
def step_publish_defective(context, action, defect):
    """Publish a revision freezing `action` that fails verification: unsigned, wrong key, tampered…"""
    policy.publish_frozen(context.world, action, defect)


@then("COS enforces the new revision within {seconds:d} seconds")
def step_enforces_new(context, seconds):
    """COS enforces the published revision within N s of the publish (timed)."""
    policy.wait_enforcing_published(context.world, seconds)


@then("no decision request failed during the reload")
def step_no_failures(context):
    """Stop the background decisions; none failed during the swap."""
    policy.expect_no_failed_decisions(context.world, during="reload")


@then("COS rejects it within {seconds:d} seconds and counts a reload failure")
def step_rejects(context, seconds):
    """COS's reload-failure count grows within N s of the defective publish (timed)."""
    policy.wait_rejected(context.world, seconds)


@then("COS still enforces the last-known-good pack")
def step_still_lkg(context):
    """COS's attestation still names the last-known-good digest."""
    policy.expect_still_lkg(context.world)


@given("MC is unreachable from COS")
def step_mc_unreachable(context):
    """The fault proxy refuses COS's connections to MC."""
    faults.mc_down(context.world)


@when("MC becomes reachable again")
def step_mc_back(context):
    """The fault proxy lets COS reach MC again; recovery budgets count from here."""
    faults.mc_up(context.world)


@when("COS starts cold")
def step_cos_cold(context):
    """Restart COS with an empty data dir (no last-known-good) and log in again (timed)."""
    policy.cold_start_cos(context.world)
