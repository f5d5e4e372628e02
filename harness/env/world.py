"""The one typed object a scenario keeps on `context.world`.

Steps read and write fields here instead of scattering ad-hoc attributes on
behave's context; a fresh World is made per scenario, over the shared
(per-mode, per-run) Environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cosclient import CompanyOSClient
from harness.env.environments import Environment
from harness.kit.recorder import Recorder


@dataclass
class World:
    env: Environment
    recorder: Recorder
    cos: CompanyOSClient
    last: Any = None  # the last reply a When-step produced
    facts: dict[str, Any] = field(default_factory=dict)  # named values steps hand to each other
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (name, text) for the report

    @classmethod
    def for_environment(cls, env: Environment) -> World:
        recorder = Recorder()
        cos = CompanyOSClient(env.endpoints.cos_url, on_exchange=recorder)
        return cls(env=env, recorder=recorder, cos=cos)

    def note(self, name: str, text: str) -> None:
        self.attachments.append((name, text))

    def close(self) -> None:
        self.cos.close()
        for value in self.facts.values():
            if hasattr(value, "close") and callable(value.close):
                value.close()
