"""Steps about any answer: status codes, problem documents, challenges (harness/domain/answers.py)."""

from behave import then

from harness.domain import answers


@then("the answer status is {status:d}")
def step_status(context, status):
    """The last answer has exactly this HTTP status."""
    answers.expect_status(context.world.last, status)


@then('the answer is a problem with status {status:d} and reason "{reason}"')
def step_problem_reason(context, status, reason):
    """An application/problem+json answer with this status and machine-readable reason."""
    answers.expect_problem(context.world.last, status, reason)


@then("the answer is a problem with status {status:d}")
def step_problem(context, status):
    """An application/problem+json answer with this status (any reason)."""
    answers.expect_problem(context.world.last, status)


@then("the answer carries a WWW-Authenticate challenge")
def step_challenge(context):
    """A refused credential is answered with a Bearer or Basic challenge."""
    answers.expect_challenge(context.world.last)
