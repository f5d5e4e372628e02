"""behave hooks: which mode a scenario needs, which backend runs it, and the report.

- Mode comes from tags (`@standalone` / `@integrated`, also on Examples tables).
- Backend from userdata: `-D backend=process|external|compose` (default process).
- Each mode's environment is a behave fixture (`use_fixture`) started the first
  time a scenario needs it and torn down once at the end of the run, so a run
  costs one cold start per mode, not one per scenario.
- Before the first scenario the run's plan is printed (what runs, what is
  skipped and why) and, on `backend=external`, the deployment is checked
  (harness/env/preflight.py): a gap stops the run with what to configure.
- Every scenario gets a fresh `context.world` (harness.env.world.World); its HTTP
  exchanges, timings and — on failure — the service logs go into Allure.
- After every scenario the services are left as the run found them
  (harness/env/restore.py): faults off, services up, MC's policy and COS healthy.
"""

from __future__ import annotations

from behave import fixture, use_fixture
from behave.model import Scenario

from harness.domain import phrases
from harness.env import flaky, plan, report, session
from harness.env.environments import BackendError
from harness.env.world import World

# Before behave loads steps/: a step pattern is compiled with the parse types registered by then.
phrases.register_step_types()


class _RunLayer:
    """Makes `use_fixture` register its cleanup on the test-run layer.

    A fixture used from `before_scenario` would otherwise be torn down after
    that scenario; the environment must live for the whole run.
    """

    def __init__(self, context) -> None:
        self._context = context

    def add_cleanup(self, func, *args, **kwargs) -> None:
        self._context.add_cleanup(func, *args, layer="testrun", **kwargs)

    def __getattr__(self, name):
        return getattr(self._context, name)


@fixture(name="fixture.environment")
def environment_fixture(context, mode: str):
    with session.environment(context.session, mode) as env:
        yield env


def before_all(context) -> None:
    context.session = session.Session.from_userdata(dict(context.config.userdata))
    session.make_plan(context.session, context)
    session.preflight_if_external(context.session)


def before_feature(context, feature) -> None:
    report.label_feature(feature, context.session.backend)


def before_scenario(context, scenario: Scenario) -> None:
    context.world = None
    mode = plan.mode_of(scenario.effective_tags)
    if mode is None:
        return
    env = context.session.started.get(mode)
    if env is None:
        failure = context.session.failed.get(mode)
        if failure:
            raise BackendError(failure)
        try:
            env = use_fixture(environment_fixture, _RunLayer(context), mode)
        except Exception as exc:
            context.session.failed[mode] = f"{mode} environment failed to start: {exc}"
            raise
    context.world = World.for_environment(env)
    flaky.begin_scenario(context, scenario)


def before_step(context, step) -> None:
    flaky.wrap_step(context, step)


def after_scenario(context, scenario: Scenario) -> None:
    world: World | None = context.world
    if world is None:
        return
    try:
        report.attach_world(world, scenario)
        flaky.report_retries(context)
        restored = session.leave_as_found(world)
        if restored:
            report.attach_text("restored after the scenario", "\n".join(restored))
    finally:
        world.close()


def after_all(context) -> None:
    session.write_run_files(context.session, context)
