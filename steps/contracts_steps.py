"""Steps exposing the Pact contract gates (features/contracts.feature); no environment needed."""

from behave import then

from harness.domain import contracts


@then("the committed pacts match what the consumers generate")
def step_pacts_reproduced(context):
    """The consumer tests regenerate every committed pact exactly (no drift)."""
    contracts.expect_passed(contracts.committed_pacts_reproduced())


@then("MC honours every pact from COS")
def step_mc_honours(context):
    """MC, started for real, passes verification against COS's pact."""
    contracts.expect_passed(contracts.mc_honours_pacts())


@then("COS honours every pact from MC and from its client SDK")
def step_cos_honours(context):
    """COS, started for real, passes verification against MC's and the SDK's pacts."""
    contracts.expect_passed(contracts.cos_honours_pacts())


@then("no pact contains a secret")
def step_no_secret(context):
    """The secret scrub finds no credential in any committed pact."""
    contracts.expect_passed(contracts.pacts_hold_no_secrets())


@then("every seam mutation is caught by the contracts")
def step_mutations_caught(context):
    """Every contract mutation in docs/mutations.md fails its provider's verification."""
    contracts.expect_passed(contracts.seam_mutations_caught())
