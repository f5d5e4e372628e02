"""Steps about any answer: status codes, problem documents, challenges."""

from behave import then

from harness.domain import answers


@then("the answer status is {status:d}")
def step_status(context, status):
    answers.expect_status(context.world.last, status)


@then('the answer is a problem with status {status:d} and reason "{reason}"')
def step_problem_reason(context, status, reason):
    answers.expect_problem(context.world.last, status, reason)


@then("the answer is a problem with status {status:d}")
def step_problem(context, status):
    answers.expect_problem(context.world.last, status)


@then("the answer carries a WWW-Authenticate challenge")
def step_challenge(context):
    answers.expect_challenge(context.world.last)
