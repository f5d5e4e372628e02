"""The evidence document both services accept, and its validation.

The shape lives in one typed model (seam/models/evidence.py) for COS's write path, MC's REST
endpoint and MC's GraphQL input, so an invalid field is named the same way (`field`) wherever
it is rejected, and the same model is the schema in both OpenAPI documents.
"""

from __future__ import annotations

from typing import Any

from seam import strict_json
from seam.models.evidence import KINDS, Evidence
from seam.models.validation import parse
from seam.problem import Problem

__all__ = ["KINDS", "MAX_BODY_BYTES", "validate"]

MAX_BODY_BYTES = 64 * 1024


def validate(doc: dict[str, Any]) -> dict[str, Any]:
    """Return `doc` unchanged if valid; raise a 422 Problem naming the field otherwise."""
    parse(Evidence, doc, reason="invalid_evidence")
    # GraphQL literals never pass the strict JSON door: check the values here, for every API.
    for name, value in doc.items():
        try:
            strict_json.check(value)
        except strict_json.StrictJsonError as exc:
            raise Problem(422, "invalid_evidence", f"{name}: {exc.detail}", field=name) from None
    return doc
