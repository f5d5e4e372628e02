"""Steps about logging in and tokens, at COS and at MC (harness/domain/credentials.py)."""

from behave import given, then, when

from harness.domain import credentials


@given("the QA user is logged in to COS")
def step_logged_in(context):
    """Log the QA user in to COS with the environment's credentials."""
    credentials.login(context.world)


@when("a decision is requested from COS with {token:CosToken}")
def step_decision_with(context, token):
    """Ask COS for a viewer's decision carrying no, a forged or an expired token."""
    credentials.request_decision(context.world, token)


@when('someone logs in to COS as "{user}" with a wrong password')
def step_wrong_password(context, user):
    """Try to log in to COS as `user` with a password that is not theirs."""
    credentials.login_with_wrong_password(context.world, user)


@given('a client holds {token:McToken} with scope "{scope}"')
def step_mc_token(context, token, scope):
    """Get a valid or an expired MC token with exactly `scope`; later MC calls carry it."""
    credentials.hold_mc_token(context.world, scope, token)


@when("the client calls MC to {call:McCall}")
def step_call_mc(context, call):
    """Read the pack or write evidence at MC with the token the client holds."""
    credentials.call_mc(context.world, call)


@when("a client asks MC for a token with a wrong client secret")
def step_wrong_secret(context):
    """Request an MC token with the right client id and a wrong secret."""
    credentials.request_mc_token_with_wrong_secret(context.world)


@when('a client obtains an MC token for the scopes "{scopes}"')
def step_obtain_mc_token(context, scopes):
    """Request an MC token for exactly these (space-separated) scopes."""
    credentials.obtain_mc_token(context.world, scopes.split())


@then("the token lives at most {minutes:d} minutes, by its expires_in and by its exp - iat")
def step_token_short_lived(context, minutes):
    """Both the answer's expires_in and the JWT's exp - iat are at most this long."""
    credentials.expect_short_lived(context.world.last, minutes * 60)


@then('the token carries exactly the scopes "{scopes}", in the answer and in its claims')
def step_token_scopes(context, scopes):
    """No more and no fewer scopes than asked, in the answer's scope and the JWT's claim."""
    credentials.expect_exact_scopes(context.world.last, scopes.split())
