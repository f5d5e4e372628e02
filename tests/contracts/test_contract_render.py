"""Response-side provider-state values are substituted exactly, and their regex rule dropped."""

from __future__ import annotations

import pytest

from contracts import PACT_DIR, pactfile, render


def _replay() -> dict:
    doc = pactfile.load(PACT_DIR / "companyos-maestro-conductor.json")
    return next(
        i
        for i in doc["interactions"]
        if i["description"] == "a repeated publish with the same key and the same evidence"
    )


def test_replay_evidence_id_and_location_are_pinned_to_the_state_value() -> None:
    interaction = _replay()
    assert render.needs_values(interaction)
    out = render.resolve_interaction(interaction, {"evidenceId": "ev_" + "1" * 32})
    response = out["response"]
    assert response["body"]["content"]["evidence_id"] == "ev_" + "1" * 32
    assert response["headers"]["Location"] == ["/v1/evidence/ev_" + "1" * 32]
    assert "$.evidence_id" not in response["matchingRules"]["body"]
    assert "Location" not in response.get("matchingRules", {}).get("header", {})
    assert "generators" not in response
    assert "$.received_at" in response["matchingRules"]["body"], "other rules stay"


def test_a_missing_state_value_is_an_error() -> None:
    with pytest.raises(render.RenderError):
        render.resolve_interaction(_replay(), {})


def test_resolve_reports_setup_failures_and_keeps_the_interaction() -> None:
    doc = {"interactions": [_replay()]}

    def failing(states):
        raise RuntimeError("MC is down")

    out, errors = render.resolve(doc, failing)
    assert out["interactions"][0] == doc["interactions"][0]
    assert errors and "MC is down" in errors[0]
