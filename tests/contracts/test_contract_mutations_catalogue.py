"""The contract mutation proof covers every contract-visible mutation the services implement.

docs/mutations.md has two tables: contract mutations (proved by `python -m contracts mutations`)
and behavioural ones (proved by the E2E / faults stages). Every name a service knows is in
exactly one of them.
"""

from __future__ import annotations

import re

from companyos import mutations as cos_mutations
from conductor import mutations as mc_mutations
from contracts import COS, MC, mutations

_NAME = re.compile(r"^\|\s*`((?:mc|cos)\.[a-z0-9-]+)`\s*\|")


def _behavioural() -> set[str]:
    names, inside = set(), False
    for line in mutations.CATALOGUE.read_text("utf-8").splitlines():
        if line.startswith("## "):
            inside = line.strip().lower().startswith("## behavioural")
        elif inside and (m := _NAME.match(line)):
            names.add(m.group(1))
    return names


def test_catalogue_lists_every_contract_mutation_once() -> None:
    rows = mutations.catalogue()
    names = [r.name for r in rows]
    assert len(names) == len(set(names)) >= 32
    behavioural = _behavioural() | mc_mutations.BEHAVIOURAL | cos_mutations.BEHAVIOURAL
    assert not set(names) & behavioural
    assert {r.name for r in rows if r.provider == MC} == set(mc_mutations.KNOWN) - behavioural
    assert {r.name for r in rows if r.provider == COS} == set(cos_mutations.KNOWN) - behavioural
