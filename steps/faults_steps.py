"""Steps about faults between COS and MC, and how COS rides them out (features/faults.feature)."""

from behave import given, then, when

from harness.domain import faults, policy, resilience


# --- faults on and off ---------------------------------------------------------------------
@given("MC's service is stopped")
def step_mc_stopped(context):
    """Stop MC's process (needs a backend that owns the services)."""
    faults.stop_mc(context.world)


@when("MC's service starts again")
def step_mc_starts(context):
    """Start MC on its data again; the time until it is ready is reported."""
    faults.restart_mc(context.world)


@when("MC is {outage:Outage} for {seconds:d} seconds while evidence is written at {rate:d} per second")
def step_outage_with_writes(context, outage, seconds, rate):
    """Write evidence at a steady rate while MC is unreachable or stopped for N s; MC is back after."""
    resilience.write_through_outage(context.world, outage, seconds, rate)


@when("every connection to MC resets {moment:ResetMoment} while {count:d} pieces of evidence are written")
def step_resets_with_writes(context, moment, count):
    """Reset COS's connections to MC as it sends or as MC answers while `count` documents are written."""
    resilience.write_through_resets(context.world, moment, count)


@when("COS is killed mid-publish while evidence is written at {rate:d} per second, and restarted")
def step_kill_cos(context, rate):
    """SIGKILL COS while publishes are in flight, restart it on its data, keep writing."""
    resilience.kill_cos_mid_publish(context.world, rate)


@when("MC's answers reach COS {seconds:d} seconds late until COS has polled {polls:d} times")
def step_slow_polls(context, seconds, polls):
    """Delay MC's answers by N s until COS has completed `polls` slow pack polls."""
    resilience.observe_slow_polls(context.world, seconds * 1000, polls)


@when("MC stops answering COS until COS has given up on {polls:d} polls")
def step_silent_polls(context, polls):
    """Make MC silent until COS has given up on `polls` pack polls, sampling its backoff."""
    resilience.observe_silent_polls(context.world, polls)


@when("MC answers COS normally again")
def step_link_healthy(context):
    """Remove every fault on COS's link to MC; recovery budgets count from here."""
    faults.clear_toxics(context.world)


# --- what COS did ----------------------------------------------------------------------------
@then("COS answered 202 at once to every piece of evidence written meanwhile")
def step_all_202_at_once(context):
    """Every document was answered 202 at the first try, each within a second."""
    resilience.expect_answered_at_once(context.world)


@then("COS accepted every piece of evidence, those sent while it was down once it was back")
def step_all_accepted_eventually(context):
    """Every document the writer sent was accepted, retried under its key while COS was down."""
    resilience.expect_all_accepted_eventually(context.world)


@then("COS counted a failed publish for each of them")
def step_retries_counted(context):
    """COS's publish-retry counter grew by at least the number of documents written."""
    resilience.expect_failed_publish_each(context.world)


@then("COS counted each resend MC already held as a replay, not as new evidence")
def step_replays_counted(context):
    """COS's dedupe count equals the resends MC answered as replays."""
    resilience.expect_replays_counted(context.world)


@then("COS's pack polls still succeed, each taking at least {seconds:d} seconds")
def step_slow_polls_succeed(context, seconds):
    """No pack poll failed while MC was only slow; the slow ones took at least N s."""
    resilience.expect_slow_polls_succeeded(context.world, seconds)


@then("COS waits longer after each failed poll")
def step_backoff(context):
    """The backoff COS set after each failed poll never shrank and grew overall."""
    resilience.expect_backed_off(context.world)


@then("no decision request failed during the fault")
def step_no_failed_decisions(context):
    """Stop the background decisions; none failed while the fault was on."""
    policy.expect_no_failed_decisions(context.world, during="the fault")


# --- recovery ---------------------------------------------------------------------------------
@then("COS enforces the pack MC serves within {seconds:d} seconds after the fault ends")
def step_mc_pack_after_fault(context, seconds):
    """COS's attestation names MC's pack within N s of the fault's removal."""
    resilience.wait_enforcing_mc_pack(context.world, seconds)


@then("COS polls MC successfully again within {seconds:d} seconds after the fault ends")
def step_polls_again(context, seconds):
    """COS completes a pack poll within N s of the fault's removal."""
    resilience.wait_poll_succeeds(context.world, seconds)


@then("COS's outbox drains within {seconds:d} seconds after the fault ends")
def step_drains(context, seconds):
    """None of the evidence COS accepted is pending N s after the fault's removal."""
    resilience.wait_drained(context.world, seconds)


@then("MC holds exactly the evidence COS accepted: none lost, none twice")
def step_ledger_exact(context):
    """MC's ledger against what COS accepted, by document digest: nothing lost, nothing twice."""
    resilience.expect_ledger_exact(context.world)
