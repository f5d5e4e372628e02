"""Bounded readiness waits, recorded: how long it took and how many polls.

Readiness is a check, never a sleep: poll `/readyz` (or any predicate) with
tenacity until it answers or the budget runs out, then fail saying what was
last seen, so a wrong setting shows as a clear error, not a hang.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed


class NotReady(AssertionError):
    """A bounded wait ran out; the message says what it waited for and what it last saw.

    An AssertionError, so a scenario whose wait runs out *fails* with that
    message (behave reports other exceptions as errors).
    """


@dataclass(frozen=True)
class Observed:
    """A probe's answer that says what it saw: truthy when done; `seen` goes into the failure message."""

    done: bool
    seen: str

    def __bool__(self) -> bool:
        return self.done

    def __repr__(self) -> str:
        return self.seen


@dataclass(frozen=True)
class Readiness:
    what: str
    seconds: float
    polls: int


def wait_until(
    what: str,
    probe: Callable[[], object],
    budget_s: float,
    interval_s: float = 0.05,
    alive: Callable[[], bool] | None = None,
) -> Readiness:
    """Call `probe` until it returns a truthy value; raise NotReady after `budget_s`.

    `alive` lets the caller stop early when the process under test has died.
    """
    started = time.monotonic()
    polls = 0
    last: list[object] = [None]

    def attempt() -> object:
        nonlocal polls
        polls += 1
        if alive is not None and not alive():
            raise NotReady(f"waited for {what}, but the process exited first")
        try:
            value = probe()
        except (httpx.HTTPError, OSError) as exc:
            last[0] = f"{type(exc).__name__}: {exc}"
            return None
        last[0] = value
        return value

    try:
        for att in Retrying(
            stop=stop_after_delay(budget_s),
            wait=wait_fixed(interval_s),
            retry=retry_if_result(lambda v: not v),
            reraise=True,
        ):
            with att:
                result = attempt()
            if not att.retry_state.outcome.failed:  # type: ignore[union-attr]
                att.retry_state.set_result(result)
    except RetryError as exc:
        raise NotReady(f"waited {budget_s:.1f}s for {what}; last seen: {last[0]!r}") from exc
    return Readiness(what=what, seconds=time.monotonic() - started, polls=polls)


def http_ready(url: str, timeout_s: float = 1.0) -> Callable[[], bool]:
    def probe() -> bool:
        return httpx.get(url, timeout=timeout_s).status_code == 200

    return probe


def wait_within(
    what: str, probe: Callable[[], object], since: float, budget_s: float, interval_s: float = 0.05
) -> float:
    """Seconds from `since` (a `time.monotonic()` instant) until `probe` holds; fails past `budget_s`.

    For every "within N seconds after …" promise: the clock starts at the event, not at the
    check. A budget already spent when the check begins fails at once — the check cannot know
    *when* the state was reached, so it cannot claim it was in time — and a success measured
    after the budget (a slow last probe) fails too.
    """
    left = budget_s - (time.monotonic() - since)
    assert left > 0, (
        f"{what}: the {budget_s}s budget was already spent ({time.monotonic() - since:.2f}s) "
        "before the check began, so it cannot show it happened in time"
    )
    wait_until(f"{what} within {budget_s}s", probe, left, interval_s)
    took = time.monotonic() - since
    assert took <= budget_s, f"{what} took {took:.2f}s, budget {budget_s}s"
    return took
