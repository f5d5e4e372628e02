"""Steps about COS's health and its cold start (harness/domain/health.py)."""

from behave import then

from harness.domain import health
from harness.domain.health import Milestone


@then('COS reports itself healthy in "{mode}" mode')
def step_healthy(context, mode):
    """/healthz says ok, in this mode."""
    health.expect_healthy(context.world, mode)


@then('COS reports itself healthy in "{mode}" mode with MC reachable')
def step_healthy_reachable(context, mode):
    """/healthz says ok, in this mode, and that MC is reachable."""
    health.expect_healthy(context.world, mode, mc_reachable=True)


@then("COS reports itself degraded with MC unreachable")
def step_degraded(context):
    """/healthz says degraded and that MC is unreachable."""
    health.expect_degraded(context.world)


@then("COS was ready within {seconds:d} seconds of launch")
def step_ready_within(context, seconds):
    """The environment's measured launch → ready time is within budget."""
    health.expect_cold_start_within(context.world, Milestone.READY, seconds)


@then("the first verified decision came within {seconds:d} seconds of launch")
def step_first_decision_within(context, seconds):
    """The environment's measured launch → first verified decision time is within budget."""
    health.expect_cold_start_within(context.world, Milestone.FIRST_VERIFIED_DECISION, seconds)
