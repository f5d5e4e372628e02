"""Steps about latency budgets under load: the sentence is the budget."""

from behave import then

from harness.domain import load_budgets


@then("at {rate} requests per second for {duration} seconds with {reads}% reads, {budgets}")
def step_load_budget(context, rate, duration, reads, budgets):
    """Run k6 at this rate, duration and read share; the p95 budgets in the sentence are its thresholds."""
    sentence = f"at {rate} requests per second for {duration} seconds with {reads}% reads, {budgets}"
    load_budgets.expect_within_budget(context.world, sentence, dict(context.config.userdata))
