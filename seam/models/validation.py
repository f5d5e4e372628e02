"""Run a pydantic model over a decoded JSON object and turn its first error into a problem.

Why not pydantic's own error list: the seam promises one machine-readable `reason` per answer and
a `field` naming the first offending member in dotted form (`subject.digest.sha256`), the same
for REST and GraphQL. Unknown members are reported before anything else, as they always were.
The strict-JSON door (seam/strict_json.py) runs before this: NaN, lone surrogates and nesting
never reach a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from seam.problem import Problem

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown field",
}


def field_of(error: Mapping[str, Any]) -> str:
    """`("subject", "digest", "sha256")` → `subject.digest.sha256` (list indexes dropped; a bad
    key of a map is named by the key itself: `files.../evil.rego`)."""
    parts = [str(p) for p in error["loc"] if not isinstance(p, int) and p != "[key]"]
    return ".".join(parts) or "body"


def _message(error: Mapping[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    custom = ctx.get("detail")
    return str(custom or _MESSAGES.get(error["type"]) or error["msg"])


def first_error(exc: ValidationError) -> tuple[str, str]:
    """(field, message) of the error a client should fix first."""
    errors = exc.errors(include_url=False)
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")  # stable: otherwise field order
    error = errors[0]
    return field_of(error), _message(error)


def parse(model: type[M], doc: Any, *, reason: str, status: int = 422) -> M:
    """Validate `doc` against `model`, or raise a `status` Problem naming the field."""
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        field, message = first_error(exc)
        raise Problem(status, reason, f"{field}: {message}", field=field) from None
