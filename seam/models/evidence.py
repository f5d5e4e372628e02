"""The evidence document both services accept (COS's write path, MC's REST and GraphQL input).

Strict types (no "5" for 5), unknown top-level members refused, `subject` open for extensions.
`produced_at` stays the client's string (the idempotency digest is over the document as sent)
but must be an RFC 3339 date-time.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

KINDS = ("test-report", "sbom", "approval", "scan", "build")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)


def _rfc3339(value: str) -> str:
    try:
        if not _RFC3339.fullmatch(value):
            raise ValueError(value)
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise PydanticCustomError("rfc3339", "{detail}", {"detail": "not an RFC 3339 timestamp"}) from None
    return value


Rfc3339 = Annotated[str, AfterValidator(_rfc3339), Field(json_schema_extra={"format": "date-time"})]


class SubjectDigest(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="64 lowercase hex characters")


class Subject(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    name: str = Field(min_length=1)
    digest: SubjectDigest


class Evidence(BaseModel):
    """One piece of release evidence (docs/seam.md "Evidence")."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "release": "2026.11.3",
                    "kind": "test-report",
                    "subject": {"name": "api", "digest": {"sha256": "0" * 64}},
                    "produced_at": "2026-11-26T06:00:00Z",
                    "payload": {"passed": 412, "failed": 0},
                }
            ]
        },
    )

    release: str = Field(min_length=1, max_length=128)
    kind: Literal["test-report", "sbom", "approval", "scan", "build"]
    subject: Subject
    produced_at: Rfc3339
    payload: dict[str, Any] = Field(default_factory=dict, description="any JSON object")
