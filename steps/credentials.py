"""Steps about logging in and tokens, at COS and at MC."""

from behave import given, then, when

from harness.domain import credentials


@given("the QA user is logged in to COS")
def step_logged_in(context):
    credentials.login(context.world)


@when("a decision is requested from COS with {token}")
def step_decision_with(context, token):
    bearer = credentials.cos_token(context.world, token)
    context.world.last = context.world.cos.authorize(
        {"user": "qa", "roles": ["viewer"]}, "read", token=bearer or ""
    )


@when('someone logs in to COS as "{user}" with a wrong password')
def step_wrong_password(context, user):
    context.world.last = context.world.cos.login(user, "definitely-not-the-password")


@given('the suite holds an MC token with scope "{scope}"')
def step_mc_token(context, scope):
    credentials.hold_mc_token(context.world, scope)


@when('the suite calls MC "{call}" with {token}')
def step_call_mc(context, call, token):
    context.world.last = credentials.call_mc(context.world, call, token)


@when("the suite asks MC for a token with {request}")
def step_mc_token_request(context, request):
    context.world.last = credentials.request_mc_token(context.world, request)


@when('the suite obtains an MC token for the scopes "{scopes}"')
def step_obtain_mc_token(context, scopes):
    context.world.last = credentials.request_mc_token(context.world, f'the scope "{scopes}"')


@then("the token lives at most {minutes:d} minutes, by its expires_in and by its exp - iat")
def step_token_short_lived(context, minutes):
    credentials.expect_short_lived(context.world.last, minutes * 60)


@then('the token carries exactly the scopes "{scopes}", in the answer and in its claims')
def step_token_scopes(context, scopes):
    credentials.expect_exact_scopes(context.world.last, scopes.split())
