"""The typed models behind both services' validation (seam/models/).

They replace hand-written checks, so these tests pin what the checks promised: one problem per
answer, its `field` in dotted form, unknown members reported first, strict types, RFC 3339.
"""

from __future__ import annotations

import pytest

from seam import evidence
from seam.models.evidence import Evidence
from seam.models.validation import parse
from seam.problem import Problem

GOOD = {
    "release": "2026.11.3",
    "kind": "sbom",
    "subject": {"name": "api", "digest": {"sha256": "a" * 64}},
    "produced_at": "2026-11-26T06:00:00Z",
}


def _field(doc: dict) -> str:
    with pytest.raises(Problem) as caught:
        evidence.validate(doc)
    assert caught.value.status == 422 and caught.value.reason == "invalid_evidence"
    assert caught.value.detail.startswith(caught.value.extra["field"] + ": ")
    return caught.value.extra["field"]


def test_a_valid_document_comes_back_unchanged() -> None:
    doc = {**GOOD, "payload": {"n": 1}}
    assert evidence.validate(doc) is doc


def test_an_unknown_member_is_named_before_any_other_error() -> None:
    assert _field({"kind": "poem", "zzz": 1}) == "zzz"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"release": ""}, "release"),
        ({"release": "r" * 129}, "release"),
        ({"release": 5}, "release"),
        ({"kind": "poem"}, "kind"),
        ({"subject": "api"}, "subject"),
        ({"subject": {"digest": {"sha256": "a" * 64}}}, "subject.name"),
        ({"subject": {"name": "api", "digest": {"sha256": "A" * 64}}}, "subject.digest.sha256"),
        ({"subject": {"name": "api", "digest": {"sha256": "a" * 64 + "\n"}}}, "subject.digest.sha256"),
        ({"produced_at": "2026-11-26"}, "produced_at"),
        ({"produced_at": "2026-11-26T06:00:00"}, "produced_at"),
        ({"produced_at": "2026-13-26T06:00:00Z"}, "produced_at"),
        ({"payload": [1]}, "payload"),
        ({"payload": None}, "payload"),
    ],
)
def test_each_rule_names_its_field(change: dict, field: str) -> None:
    assert _field({**GOOD, **change}) == field


def test_the_first_missing_member_in_field_order() -> None:
    assert _field({}) == "release"


def test_strings_are_not_numbers_and_booleans_not_integers() -> None:
    from companyos.api.models import LoginRequest

    for ttl in ("5", True, 0):
        with pytest.raises(Problem) as caught:
            parse(
                LoginRequest,
                {"username": "u", "password": "p", "ttl_s": ttl},
                reason="invalid_request",
                status=400,
            )
        assert caught.value.status == 400 and caught.value.extra["field"] == "ttl_s"


def test_the_schema_is_the_one_the_documents_publish() -> None:
    schema = Evidence.model_json_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["release", "kind", "subject", "produced_at"]
    assert schema["properties"]["produced_at"]["format"] == "date-time"
