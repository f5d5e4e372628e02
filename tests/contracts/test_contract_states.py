"""Every provider state a committed pact names has a handler in that provider's registry."""

from __future__ import annotations

import pytest

from contracts import COS, MC, PACT_DIR, pactfile
from contracts.providers.companyos import CompanyOSStates
from contracts.providers.conductor import ConductorStates
from seam import keys


def _registries():
    mc = ConductorStates("http://127.0.0.1:9", "http://127.0.0.1:9", "admin", "secret", keys.generate())
    cos = CompanyOSStates("http://127.0.0.1:9", {}, keys.generate(), keys.generate())
    try:
        yield {MC: set(mc.registry().states), COS: set(cos.registry().states)}
    finally:
        mc.close()
        cos.close()


@pytest.mark.parametrize("path", pactfile.committed(PACT_DIR), ids=lambda p: p.name)
def test_states_have_handlers(path) -> None:
    doc = pactfile.load(path)
    _, provider = pactfile.parties(doc)
    used = {s["name"] for i in doc["interactions"] for s in i.get("providerStates", [])}
    for known in _registries():
        missing = used - known[provider]
        assert not missing, f"{path.name}: no handler for {sorted(missing)}"
