"""Steps for the runner's own test: one that passes, one that fails once, one that always fails.

The "first attempt" is remembered in a marker file under `-D flip_dir=…`, so
the memory survives between the two behave processes the runner starts.
"""

from pathlib import Path

from behave import then


@then("the step passes")
def step_passes(context):
    pass


@then("the step fails on its first attempt only")
def step_fails_once(context):
    marker = Path(context.config.userdata["flip_dir"]) / "wobbly-attempted"
    if not marker.exists():
        marker.write_text("1")
        raise AssertionError("first attempt fails on purpose")


@then("the step fails on every attempt")
def step_always_fails(context):
    raise AssertionError("fails on purpose, every time")
