"""Steps about faults between COS and MC, and how COS rides them out (features/faults.feature)."""

from behave import given, then, when

from harness.domain import faults, policy, resilience


# --- faults on and off ---------------------------------------------------------------------
@given("MC's service is stopped")
def step_mc_stopped(context):
    faults.stop_mc(context.world)


@when("MC's service starts again")
def step_mc_starts(context):
    took = faults.start_mc(context.world)
    context.world.time("mc_restart_s", took)


@when("MC is {outage} for {seconds:d} seconds while evidence is written at {rate:d} per second")
def step_outage_with_writes(context, outage, seconds, rate):
    episode = resilience.write_through_outage(context.world, outage, seconds, rate)
    context.world.note(
        "during the outage",
        f"{episode.fault} for {episode.seconds} s; peak outbox depth {episode.peak_outbox_depth()}; "
        f"publish retries {episode.notes['retries_during_outage']}",
    )


@when("every connection to MC resets {moment} while {count:d} pieces of evidence are written")
def step_resets_with_writes(context, moment, count):
    resilience.write_through_resets(context.world, moment, count)


@when("COS is killed mid-publish while evidence is written at {rate:d} per second, and restarted")
def step_kill_cos(context, rate):
    episode = resilience.kill_cos_mid_publish(context.world, rate)
    context.world.note("the crash", repr(episode.notes))


@when("MC's answers reach COS {seconds:d} seconds late until COS has polled {polls:d} times")
def step_slow_polls(context, seconds, polls):
    resilience.observe_slow_polls(context.world, seconds * 1000, polls)


@when("MC stops answering COS until COS has given up on {polls:d} polls")
def step_silent_polls(context, polls):
    resilience.observe_silent_polls(context.world, polls)


@when("MC answers COS normally again")
def step_link_healthy(context):
    faults.clear_toxics(context.world)


# --- what COS did ----------------------------------------------------------------------------
@then("COS answered 202 at once to every piece of evidence written meanwhile")
def step_all_202_at_once(context):
    resilience.expect_answered_at_once(context.world)


@then("COS accepted every piece of evidence, those sent while it was down once it was back")
def step_all_accepted_eventually(context):
    written = resilience.writer_of(context.world).snapshot()
    retried = [w for w in written if len(w.answers) > 1]
    refused = [(w.key, w.answers) for w in written if not w.accepted]
    context.world.note(
        "evidence written",
        f"{len(written)} written; {len(retried)} retried by the writer while COS was down "
        f"({sum(1 for w in retried if w.answers[-1] == '202 replay')} of them answered as replays)",
    )
    assert not refused, f"{len(refused)} of {len(written)} never accepted: {refused[:5]}"


@then("COS counted a failed publish for each of them")
def step_retries_counted(context):
    counts = resilience.publish_counters(context.world)
    count = len(resilience.writer_of(context.world).snapshot())
    assert count, "no evidence was written"
    retries = sum(counts["retries"].values())
    assert retries >= count, f"expected ≥ {count} publish retries, COS counted {counts['retries']}"


@then("COS counted each resend MC already held as a replay, not as new evidence")
def step_replays_counted(context):
    resilience.expect_replays_counted(context.world)


@then("COS's pack polls still succeed, each taking at least {seconds:d} seconds")
def step_slow_polls_succeed(context, seconds):
    polls = context.world.slow_polls
    assert polls.failed == 0, f"{polls.failed} pack polls failed while MC was only slow: {polls}"
    assert polls.mean_slow_s >= seconds, (
        f"the slow polls took {polls.mean_slow_s}s on average, not ≥ {seconds}s"
    )


@then("COS waits longer after each failed poll")
def step_backoff(context):
    resilience.expect_backoff_grew(context.world.failed_polls)


@then("no decision request failed during the fault")
def step_no_failed_decisions(context):
    context.world.traffic.expect_none_failed(during="the fault")


# --- recovery ---------------------------------------------------------------------------------
@then("COS enforces the pack MC serves within {seconds:d} seconds after the fault ends")
def step_mc_pack_after_fault(context, seconds):
    served = policy.mc_pack_digest(context.world)
    resilience.wait_recovered(
        context.world,
        "COS enforcing MC's pack",
        lambda: policy.enforced(context.world).get("digest") == served,
        seconds,
    )


@then("COS polls MC successfully again within {seconds:d} seconds after the fault ends")
def step_polls_again(context, seconds):
    resilience.wait_poll_succeeds(context.world, seconds)


@then("COS's outbox drains within {seconds:d} seconds after the fault ends")
def step_drains(context, seconds):
    resilience.wait_drained(context.world, seconds)


@then("MC holds exactly the evidence COS accepted: none lost, none twice")
def step_ledger_exact(context):
    resilience.expect_exact(resilience.reconcile(context.world))
