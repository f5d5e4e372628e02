"""The RFC 9457 problem document every error answer of both services carries (seam/problem.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProblemDocument(BaseModel):
    """An error answer: `reason` is the machine-readable cause, `field` names the bad member."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "https://cos-pact-e2e.dev/problems/invalid_evidence",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "kind: must be one of test-report, sbom, approval, scan, build",
                    "reason": "invalid_evidence",
                    "field": "kind",
                }
            ]
        },
    )

    type: str
    title: str
    status: int = Field(ge=100, le=599)
    detail: str
    reason: str = Field(pattern=r"^[a-z0-9_]+$")
    field: str | None = Field(default=None, description="the offending member, dotted")
    scope: str | None = Field(default=None, description="insufficient_scope: the scope required")
    error: str | None = Field(default=None, description="OAuth (RFC 6749) error code, = reason")
    limit: int | None = Field(default=None, description="body_too_large: the limit in bytes")
    errors: list[dict[str, Any]] | None = Field(default=None, description="GraphQL request errors")
    storage: str | None = Field(default=None, description="not_ready: what the store reports")
