"""Steps of features/notifications.feature: the alert chain on real servers (domain/notifications.py)."""

from behave import given, then, when

from harness.domain import notifications


@given("Prometheus, the Pushgateway and Alertmanager are running on loopback")
def step_stack(context):
    """Start Prometheus, a Pushgateway and Alertmanager on loopback for this scenario."""
    context.obs = notifications.start_for_scenario(context)


@given("a run whose contract gate failed")
def step_broken_contract_run(context):
    """Make the files a run whose contract stage failed leaves behind."""
    context.obs_run = notifications.broken_contract_run()


@given("a run where every gate passed")
def step_green_run(context):
    """Make the files a run where every gate passed leaves behind."""
    context.obs_run = notifications.green_run()


@when("the run's metrics are pushed to the Pushgateway")
def step_push(context):
    """Push the run's metrics.prom to the scenario's Pushgateway."""
    notifications.push(context.obs, context.obs_run)


@then('within {seconds:d} seconds of the push a notification names the "{gate}" gate and the run')
def step_notified(context, seconds, gate):
    """A notification naming the gate and the run reaches the webhook receiver within N s."""
    notifications.expect_notification(context.obs, context.obs_run, gate, seconds)


@then("once Prometheus has judged the run, no notification about it arrives")
def step_silent(context):
    """After Prometheus has evaluated the run, no notification names it."""
    notifications.expect_no_notification(context.obs, context.obs_run)
