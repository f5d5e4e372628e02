"""Steps about COS's health and its cold start."""

from behave import then

from harness.domain import health


@then('COS reports itself healthy in "{mode}" mode')
def step_healthy(context, mode):
    h = health.cos_health(context.world)
    assert h["status"] == "ok" and h["mode"] == mode, f"expected ok in {mode} mode, got {h}"


@then('COS reports itself healthy in "{mode}" mode with MC reachable')
def step_healthy_reachable(context, mode):
    h = health.cos_health(context.world)
    assert h["status"] == "ok" and h["mode"] == mode and h["mc_reachable"] is True, (
        f"expected ok, {mode}, MC reachable; got {h}"
    )


@then("COS reports itself degraded with MC unreachable")
def step_degraded(context):
    h = health.cos_health(context.world)
    assert h["status"] == "degraded" and h["mc_reachable"] is False, f"expected degraded, got {h}"


@then("COS was ready within {seconds:d} seconds of launch")
def step_ready_within(context, seconds):
    timings = context.world.env.timings
    context.world.timings = dict(timings)
    measured = timings["launch_to_ready_s"]
    assert measured <= seconds, f"launch → ready took {measured:.2f}s, budget {seconds}s"


@then("the first verified decision came within {seconds:d} seconds of launch")
def step_first_decision_within(context, seconds):
    measured = context.world.env.timings["launch_to_first_verified_decision_s"]
    context.world.timings = dict(context.world.env.timings)
    assert measured <= seconds, f"launch → first verified decision took {measured:.2f}s, budget {seconds}s"
