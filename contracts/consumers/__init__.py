"""Consumer contract tests: each module drives one real client class against Pact's mock server.

A *case* is one behaviour: it declares one interaction (named as a sentence), serves the mock,
drives the client and asserts what the client made of the answer. `generate(out_dir)` runs
every case of every suite, each on a fresh `Pact`, merging into one pact file per pair — the
same thing the pytest wrappers in tests/contracts do one case at a time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pact import Pact

from contracts import pactfile
from contracts.dsl import new_pact

Case = Callable[[Pact], None]

MODULES = (
    "contracts.consumers.companyos_mc",
    "contracts.consumers.conductor_cos",
    "contracts.consumers.cosclient_cos",
)


@dataclass
class ConsumerSuite:
    consumer: str
    provider: str
    cases: list[Case] = field(default_factory=list)

    @property
    def pact_file(self) -> str:
        return pactfile.file_name(self.consumer, self.provider)

    def case(self, func: Case) -> Case:
        """Register a case (decorator)."""
        self.cases.append(func)
        return func

    def run_case(self, func: Case, out_dir: Path) -> None:
        pact = new_pact(self.consumer, self.provider)
        func(pact)
        pact.write_file(out_dir, overwrite=False)

    def generate(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / self.pact_file
        target.unlink(missing_ok=True)
        for func in self.cases:
            self.run_case(func, out_dir)
        pactfile.normalise_file(target)
        return target


def suites() -> list[ConsumerSuite]:
    return [importlib.import_module(name).SUITE for name in MODULES]


def generate(out_dir: Path) -> list[Path]:
    """Run every consumer test; write the normalised pacts into `out_dir`."""
    return [suite.generate(out_dir) for suite in suites()]
