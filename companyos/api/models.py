"""COS's request and response bodies as typed models (pydantic v2).

The request models do the validation the handlers used to write by hand; the response models
are what `/openapi.json` promises and what the fuzz stage holds every answer to. Shared shapes
(evidence, problem documents) live in seam/models/.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

HEX64 = r"^[0-9a-f]{64}$"
OUTBOX_STATES = ("pending", "published", "acknowledged")


class LoginRequest(BaseModel):
    """Local username and password; `ttl_s` may shorten the token's lifetime."""

    model_config = ConfigDict(
        strict=True,
        json_schema_extra={"examples": [{"username": "qa", "password": "correct horse", "ttl_s": 300}]},
    )
    username: str
    password: str
    ttl_s: int | None = Field(default=None, ge=1)


class LoginToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=1)


class DecisionSubject(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    user: str = Field(min_length=1)
    roles: list[str] = Field(default_factory=list)


class DecisionRequest(BaseModel):
    """May `subject` perform `action` on `resource`? (`resource` is any JSON value.)"""

    model_config = ConfigDict(
        strict=True,
        extra="allow",
        json_schema_extra={
            "examples": [{"subject": {"user": "qa", "roles": ["viewer"]}, "action": "read", "resource": "r1"}]
        },
    )
    subject: DecisionSubject
    action: str = Field(min_length=1)
    resource: Any = None


class PolicyRef(BaseModel):
    pack: str
    revision: str
    digest: str = Field(pattern=HEX64)


class Decision(BaseModel):
    allow: bool
    reasons: list[str]
    policy: PolicyRef


class Attestation(BaseModel):
    """The pack COS enforces right now."""

    model_config = ConfigDict(extra="forbid")
    pack: str
    name: str
    revision: str
    digest: str = Field(pattern=HEX64)
    source: Literal["local", "mc"]
    signature_verified: bool
    loaded_at: str = Field(json_schema_extra={"format": "date-time"})


class EvidenceAccepted(BaseModel):
    evidence_id: str
    idempotency_key: str
    status: Literal["accepted"]


class OutboxEntry(BaseModel):
    evidence_id: str
    idempotency_key: str
    state: Literal["pending", "published", "acknowledged"]
    mc_evidence_id: str | None
    digest: str
    accepted_at: str
    published_at: str | None
    acknowledged_at: str | None
    attempts: int = Field(ge=0)
    last_error: str | None
    document: dict[str, Any] | None = None


class OutboxCounts(BaseModel):
    pending: int = Field(ge=0)
    published: int = Field(ge=0)
    acknowledged: int = Field(ge=0)


class OutboxPage(BaseModel):
    items: list[OutboxEntry]
    total: int = Field(ge=0)
    counts: OutboxCounts


class Receipt(BaseModel):
    """MC's signed receipt (verified before it is parsed)."""

    model_config = ConfigDict(
        strict=True,
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "evidence_id": "ev_0123",
                    "idempotency_key": "k-1",
                    "digest": "0" * 64,
                    "stored_at": "2026-11-26T06:00:00Z",
                    "client_id": "companyos",
                }
            ]
        },
    )
    idempotency_key: str = Field(min_length=1)
    evidence_id: str | None = None


MAX_RECEIPTS_PER_BATCH = 256
_RECEIPT_EXAMPLE = {
    "evidence_id": "ev_0123",
    "idempotency_key": "k-1",
    "digest": "0" * 64,
    "stored_at": "2026-11-26T06:00:00Z",
    "client_id": "companyos",
}


class ReceiptBatch(BaseModel):
    """Several of MC's receipts in one callback, signed as a whole (docs/seam.md, "Batched
    receipts"): applied all together or not at all."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [{"receipts": [_RECEIPT_EXAMPLE, {**_RECEIPT_EXAMPLE, "idempotency_key": "k-2"}]}]
        },
    )
    receipts: list[Receipt] = Field(min_length=1, max_length=MAX_RECEIPTS_PER_BATCH)


class ReceiptCallback(RootModel[Receipt | ReceiptBatch]):
    """The receipt callback's body: one receipt (the original form) or a batch of them."""


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    mode: Literal["standalone", "integrated"]
    pack: Attestation | None
    digest_age_s: float | None
    last_reload: dict[str, Any] | None
    mc_reachable: bool | None
    outbox_depth: int | None
    uptime_s: float
    mc_last_contact: str | None = None
    last_fetch_error: dict[str, Any] | None = None
    fetch_backoff_s: float | None = None
    callback_url: str | None = None
    trust: dict[str, Any] | None = None


class Readiness(BaseModel):
    ready: bool
    pack_loaded: bool
    storage_open: bool
    storage: Any = None
