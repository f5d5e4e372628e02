"""Steps of the report demo suite (a fixture of tests/report/): pass, attach, fail with a known message."""

import allure
from behave import given, then


@then("it passes")
def step_passes(context):
    """A green step: it has nothing to check, that is the point of the fixture."""


@given('an attachment named "{name}"')
def step_attach(context, name):
    allure.attach("body of the demo attachment", name=name, attachment_type=allure.attachment_type.TEXT)


@then('it fails with "{message}"')
def step_fails(context, message):
    raise AssertionError(message)
