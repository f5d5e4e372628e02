"""The mutation proof covers exactly the mutations the services implement (docs/mutations.md)."""

from __future__ import annotations

from companyos import mutations as cos_mutations
from conductor import mutations as mc_mutations
from contracts import COS, MC, mutations


def test_catalogue_lists_every_implemented_mutation_once() -> None:
    rows = mutations.catalogue()
    names = [name for name, _, _ in rows]
    assert len(names) == len(set(names)) == 21
    assert {n for n, p, _ in rows if p == MC} == set(mc_mutations.KNOWN)
    assert {n for n, p, _ in rows if p == COS} == set(cos_mutations.KNOWN)
