"""The one typed object a scenario keeps on `context.world`.

Steps hand values to each other through the named fields below — never through
ad-hoc attributes on behave's context or string keys — so a reader sees in one
place what a scenario can remember, and a typo is an AttributeError, not a
silent miss. A fresh World is made per scenario, over the shared (per-mode,
per-run) Environment. Its clients record every HTTP exchange for the report:
`world.cos` for COS and `world.mc()`, the one place the MC client is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cosclient import CompanyOSClient
from harness.env.environments import Environment
from harness.env.mc import Conductor
from harness.kit.recorder import Recorder


@dataclass
class World:
    env: Environment
    recorder: Recorder
    cos: CompanyOSClient
    last: Any = None  # the last reply a When-step produced
    timings: dict[str, float] = field(default_factory=dict)  # name → seconds, attached to the report
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (name, text) for the report

    # evidence (harness.domain.evidence)
    submissions: list[Any] = field(default_factory=list)  # every Submission, in order
    first: Any = None  # the Submission a scenario refers back to as "the first"
    entry_before: dict | None = None  # an outbox entry as it was before a forged receipt
    snapshot_before: Any = None  # COS's evidence before bad input (harness.domain.bad_input)

    # policy and packs (harness.domain.policy, harness.domain.packs)
    lkg: dict | None = None  # the attestation of the last-known-good pack
    published: dict | None = None  # the revision MC last published: revision, digest, published_at
    failures_before: float | None = None  # COS's reload-failure count before a defective publish
    traffic: Any = None  # BackgroundDecisions running during a reload or a fault
    pack: Any = None  # MC's pack reply a scenario compares against
    statement: dict | None = None  # the in-toto statement of a verified attestation
    mc_token: str | None = None  # a token the scenario holds for direct MC calls

    # faults (harness.domain.faults, harness.domain.resilience)
    writer: Any = None  # the SteadyWriter submitting evidence during a fault
    episode: Any = None  # what a fault episode observed
    metrics_before: Any = None  # COS's /metrics scrape before the fault
    slow_polls: Any = None  # pack polls seen through a delay
    failed_polls: Any = None  # failed polls and their backoffs during silence
    fault_cleared_at: float | None = None  # time.monotonic() when the last fault was removed

    _mc: Conductor | None = field(default=None, repr=False)

    @classmethod
    def for_environment(cls, env: Environment) -> World:
        recorder = Recorder()
        cos = CompanyOSClient(env.endpoints.cos_url, on_exchange=recorder)
        return cls(env=env, recorder=recorder, cos=cos)

    def mc(self) -> Conductor:
        """The scenario's MC client (direct, never through the fault proxy), recording every exchange."""
        if self._mc is None:
            self._mc = Conductor(self.env, self.recorder)
        return self._mc

    def time(self, name: str, seconds: float) -> float:
        """Keep a measured duration for the report's `timings` attachment; returns it."""
        self.timings[name] = round(seconds, 3)
        return seconds

    def note(self, name: str, text: str) -> None:
        self.attachments.append((name, text))

    def close(self) -> None:
        """Close the clients and stop whatever a failed step left running."""
        self.cos.close()
        for value in (self._mc, self.writer, self.traffic):
            close = getattr(value, "close", None)
            if callable(close):
                close()
