"""Steps about decisions, the enforced pack and reloads."""

from behave import given, then, when

from harness.domain import faults, policy


@then('COS enforces the "{source}" pack')
def step_enforces_source(context, source):
    attested = policy.enforced(context.world)
    assert attested["source"] == source, f"expected source {source!r}, COS attests {attested}"


@given("COS enforces the pack MC serves")
@then("the pack COS enforces is the one MC serves")
def step_enforces_mc_pack(context):
    attested = policy.enforced(context.world)
    served = policy.mc_pack_digest(context.world)
    assert attested["source"] == "mc" and attested["digest"] == served, (
        f"MC serves {served}, COS attests {attested}"
    )
    context.world.lkg = attested


@then("COS enforces the pack MC serves within {seconds:d} seconds")
def step_enforces_mc_within(context, seconds):
    took = policy.wait_enforcing(
        context.world, policy.mc_pack_digest(context.world), seconds, since=faults.cleared_at(context.world)
    )
    context.world.time("mc_pack_enforced_after_s", took)


@then("these decisions are made:")
def step_decision_table(context):
    for row in context.table:
        roles = [r.strip() for r in row["roles"].split(",")]
        decision = policy.decide(context.world, roles, row["action"])
        expected = row["decision"] == "allow"
        assert decision.allow is expected, (
            f"{roles} {row['action']}: expected {row['decision']}, "
            f"got allow={decision.allow} {decision.reasons}"
        )


@then('a {role} may "{action}"')
def step_may(context, role, action):
    decision = policy.decide(context.world, [role], action)
    assert decision.allow, f"a {role} should be allowed to {action}: {decision.reasons}"


@then('a {role} may not "{action}"')
def step_may_not(context, role, action):
    decision = policy.decide(context.world, [role], action)
    assert not decision.allow, f"a {role} should not be allowed to {action}: {decision.reasons}"


@given("decisions are being requested from COS continuously")
def step_background_decisions(context):
    context.world.traffic = policy.BackgroundDecisions(context.world).start()
    context.add_cleanup(context.world.traffic.stop)


@given("MC has published a good, signed revision and COS enforces it")
def step_fresh_good_revision(context):
    context.world.lkg = policy.publish_good_and_wait(context.world, budget_s=5)


@when('MC publishes a revision that freezes the "{action}" action')
def step_publish_frozen(context, action):
    context.world.published = policy.publish_frozen(context.world, action)


@when('MC publishes a revision that freezes the "{action}" action, {defect}')
def step_publish_defective(context, action, defect):
    context.world.failures_before = policy.reload_failures(context.world)
    context.world.published = policy.publish_frozen(context.world, action, signing=defect)


@then("COS enforces the new revision within {seconds:d} seconds")
def step_enforces_new(context, seconds):
    published = context.world.published
    took = policy.wait_enforcing(context.world, published["digest"], seconds, since=published["published_at"])
    context.world.time("publish_to_enforced_s", took)


@then("no decision request failed during the reload")
def step_no_failures(context):
    context.world.traffic.expect_none_failed(during="reload")


@then("COS rejects it within {seconds:d} seconds and counts a reload failure")
def step_rejects(context, seconds):
    before = context.world.failures_before
    since = context.world.published["published_at"]
    took = policy.wait_reload_failure(context.world, before, seconds, since)
    context.world.time("publish_to_rejected_s", took)


@then("COS still enforces the last-known-good pack")
def step_still_lkg(context):
    attested = policy.enforced(context.world)
    lkg = context.world.lkg
    assert attested["digest"] == lkg["digest"], f"expected LKG {lkg['digest']}, COS attests {attested}"


@given("MC is unreachable from COS")
def step_mc_unreachable(context):
    faults.mc_down(context.world)


@when("MC becomes reachable again")
def step_mc_back(context):
    faults.mc_up(context.world)


@when("COS starts cold")
def step_cos_cold(context):
    context.world.time("cos_cold_start_s", policy.cold_start_cos(context.world))
