"""Pacts checked against the providers' OpenAPI documents (contracts/openapi_check.py).

The committed pacts pass; a doctored copy of one that promises something the provider never
documented — a member, a status, a header, a type, an operation — fails, naming the pact and
the interaction.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contracts import PACT_DIR
from contracts.openapi_check import check_pacts, undocumented_members

MC_PACT = PACT_DIR / "companyos-maestro-conductor.json"
FIRST_PUBLISH = "a first publish of evidence"


def _doctored(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    pact = json.loads(MC_PACT.read_text("utf-8"))
    (interaction,) = [i for i in pact["interactions"] if i["description"] == FIRST_PUBLISH]
    change(interaction)
    path = tmp_path / MC_PACT.name
    path.write_text(json.dumps(pact), "utf-8")
    return path


def test_the_committed_pacts_are_documented_by_their_providers() -> None:
    outcome = check_pacts()
    assert outcome.checked >= 39
    assert outcome.ok, outcome.report()


def _undocumented_member(i: dict) -> None:
    i["response"]["body"]["content"]["storage_tier"] = "hot"


def _undocumented_status(i: dict) -> None:
    i["response"]["status"] = 202


def _undocumented_header(i: dict) -> None:
    i["response"]["headers"]["X-Evidence-Shard"] = ["7"]


def _wrong_type(i: dict) -> None:
    i["response"]["body"]["content"]["status"] = 1


def _unknown_operation(i: dict) -> None:
    i["request"]["path"] = "/v1/evidence-batches"


def _request_off_spec(i: dict) -> None:
    del i["request"]["headers"]["Idempotency-Key"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_undocumented_member, "response member $.storage_tier is not documented"),
        (_undocumented_status, "response status 202 is not documented for POST /v1/evidence"),
        (_undocumented_header, "response header X-Evidence-Shard is not documented"),
        (_wrong_type, "response: "),
        (_unknown_operation, "POST /v1/evidence-batches is not an operation"),
        (_request_off_spec, "request: "),
    ],
)
def test_a_pact_promising_what_the_provider_never_documented_fails(
    tmp_path: Path, change: Callable[[dict], None], expected: str
) -> None:
    outcome = check_pacts([_doctored(tmp_path, change)])
    assert not outcome.ok
    (finding,) = outcome.findings
    assert finding.pact == MC_PACT.name and finding.interaction == FIRST_PUBLISH
    assert any(expected in p for p in finding.problems), finding.problems
    assert FIRST_PUBLISH in outcome.report()


def test_members_are_checked_through_refs_and_nullable_unions() -> None:
    doc = {
        "components": {
            "schemas": {
                "Inner": {"type": "object", "properties": {"a": {"type": "string"}}},
                "Outer": {
                    "type": "object",
                    "properties": {
                        "inner": {"anyOf": [{"$ref": "#/components/schemas/Inner"}, {"type": "null"}]}
                    },
                },
            }
        }
    }
    schema = {"$ref": "#/components/schemas/Outer"}
    assert undocumented_members({"inner": {"a": "x", "b": 1}}, schema, doc) == ["$.inner.b"]
    assert undocumented_members({"inner": None}, schema, doc) == []
    assert undocumented_members({"other": 1}, copy.deepcopy(schema), doc) == ["$.other"]
