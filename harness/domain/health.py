"""COS's own account of itself (/healthz), and the cold start the environment measured."""

from __future__ import annotations

from enum import Enum

from harness.env.world import World


def cos_health(world: World) -> dict:
    answer = world.cos.health()
    assert answer.status == 200, f"/healthz answered {answer.status}: {answer.body}"
    return answer.body


def expect_healthy(world: World, mode: str, mc_reachable: bool | None = None) -> None:
    """COS says `ok` in `mode`; with `mc_reachable=True`, also that it reaches MC."""
    h = cos_health(world)
    assert h["status"] == "ok" and h["mode"] == mode, f"expected ok in {mode} mode, got {h}"
    if mc_reachable is not None:
        assert h["mc_reachable"] is mc_reachable, f"expected MC reachable={mc_reachable}, got {h}"


def expect_degraded(world: World) -> None:
    """COS says it is degraded because MC is out of reach — never `ok` on a local pack alone."""
    h = cos_health(world)
    assert h["status"] == "degraded" and h["mc_reachable"] is False, f"expected degraded, got {h}"


class Milestone(Enum):
    """A point of COS's cold start, by the name of the environment's timing that measures it."""

    READY = "launch_to_ready_s"
    FIRST_VERIFIED_DECISION = "launch_to_first_verified_decision_s"


def expect_cold_start_within(world: World, milestone: Milestone, budget_s: float) -> float:
    """The environment's measured launch → `milestone` time is within `budget_s`.

    The environment measured its own cold start once, when it launched; its timings are copied
    into the scenario's for the report.
    """
    timings = world.env.timings
    world.timings.update(timings)
    measured = timings[milestone.value]
    assert measured <= budget_s, f"launch → {milestone.name.lower()} took {measured:.2f}s, budget {budget_s}s"
    return measured
