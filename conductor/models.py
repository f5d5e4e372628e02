"""MC's request and response bodies as typed models (pydantic v2).

The admin request models do the validation admin.py used to write by hand (same reasons and
`field` names); the others are what `/openapi.json` promises and what the fuzz stage holds
every answer to. Shared shapes (evidence, problem documents) live in seam/models/.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from conductor.packs import SIGNING_MODES
from seam.tokens import MAX_LIFETIME_S

HEX64 = r"^[0-9a-f]{64}$"
_PACK = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_FILE = r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.rego|data\.json)$"  # conductor/packs.py FILE_NAME


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PydanticCustomError("http_url", "{detail}", {"detail": "must be an http(s) URL"})
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url), Field(json_schema_extra={"format": "uri"})]


class TokenRequest(BaseModel):
    """RFC 6749 client credentials (form or JSON; Basic auth may carry the client instead)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"grant_type": "client_credentials", "client_id": "companyos", "client_secret": "…"}]
        }
    )
    grant_type: Literal["client_credentials"]
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | list[str] | None = Field(
        default=None, description="space-separated scopes (JSON: or a list)"
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class KeyEntry(BaseModel):
    kid: str
    alg: Literal["Ed25519"]
    public_key_pem: str


class KeySet(BaseModel):
    keys: list[KeyEntry]


class DsseSignature(BaseModel):
    keyid: str | None = None
    sig: str


class DsseEnvelope(BaseModel):
    """DSSE envelope over an in-toto Statement naming the pack's digest."""

    payloadType: str
    payload: str
    signatures: list[DsseSignature]


class EvidenceStored(BaseModel):
    evidence_id: str
    idempotency_key: str
    status: Literal["stored"]
    received_at: str
    digest: str = Field(pattern=HEX64)


class ReceiptState(BaseModel):
    state: str
    attempts: int = Field(ge=0)


class EvidenceRecord(BaseModel):
    evidence_id: str
    idempotency_key: str
    client_id: str
    digest: str = Field(pattern=HEX64)
    received_at: str
    api: Literal["rest", "graphql"]
    replays: int = Field(ge=0)
    evidence: dict[str, Any]
    receipt: ReceiptState


class GraphQLRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "mutation($i: EvidenceInput!, $k: String!) "
                    "{ publishEvidence(input: $i, idempotencyKey: $k) { evidenceOk evidenceId } }",
                    "variables": {},
                }
            ]
        }
    )
    query: str
    variables: dict[str, Any] | None = None
    operationName: str | None = None


class GraphQLResponse(BaseModel):
    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None


class RevisionRequest(BaseModel):
    """A pack revision to publish; `signing` other than valid deliberately breaks it."""

    model_config = ConfigDict(
        strict=True,
        json_schema_extra={
            "examples": [{"revision": "r2", "signing": "valid", "files": {"policy.rego": "package p"}}]
        },
    )
    revision: str = Field(min_length=1, max_length=128)
    signing: Literal[SIGNING_MODES] = "valid"
    files: dict[Annotated[str, Field(pattern=_FILE)], str] = Field(
        min_length=1,
        description="file name → text; at least one .rego, data.json an object",
        json_schema_extra={"additionalProperties": False},
    )


class RevisionPublished(BaseModel):
    pack: str
    revision: str
    digest: str = Field(pattern=HEX64)
    signing: str


LEDGER_PAGE_MAX = 1000  # items per ledger answer: the default and the most a client may ask for
LEDGER_QUERY_MAX = 1000  # keys, and digests, one ledger query may name
CURSOR = r"^[0-9]{1,18}$"  # a record's place in the store (its rowid): opaque to clients
_IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,255}$"


class LedgerItem(EvidenceRecord):
    cursor: str = Field(pattern=CURSOR, description="resume after this record with after=<cursor>")


class AdminEvidence(BaseModel):
    """One page of the ledger, oldest first. `by_key` counts (in the whole store) the keys on
    this page only; `total`/`distinct_keys` are the whole store's, on the first page (no `after`)
    only — null on later pages."""

    total: int | None = Field(ge=0)
    distinct_keys: int | None = Field(ge=0)
    by_key: dict[str, int]
    items: list[LedgerItem]
    next: str | None = Field(pattern=CURSOR, description="null: no more records now")


class EvidenceQuery(BaseModel):
    """A ledger check: MC's records (any client) with one of these keys or document digests."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"examples": [{"keys": ["qa-1"], "digests": ["0" * 64], "limit": 100}]},
    )
    keys: list[Annotated[str, Field(pattern=_IDEMPOTENCY_KEY)]] = Field(
        default_factory=list, max_length=LEDGER_QUERY_MAX
    )
    digests: list[Annotated[str, Field(pattern=HEX64)]] = Field(
        default_factory=list, max_length=LEDGER_QUERY_MAX
    )
    limit: int = Field(default=LEDGER_PAGE_MAX, ge=1, le=LEDGER_PAGE_MAX)
    after: str | None = Field(default=None, pattern=CURSOR, description="a cursor from an earlier answer")


class EvidenceQueryAnswer(BaseModel):
    items: list[LedgerItem]
    next: str | None = Field(pattern=CURSOR, description="null: no more matching records now")


class MintRequest(BaseModel):
    """A token the client-credentials flow would refuse (expired, narrow scope)."""

    model_config = ConfigDict(
        strict=True,
        json_schema_extra={
            "examples": [{"client_id": "companyos", "scopes": ["policy:read"], "lifetime_s": 0}]
        },
    )
    client_id: str | None = Field(default=None, min_length=1)
    scopes: list[str] | str | None = None
    lifetime_s: int | None = Field(default=None, le=MAX_LIFETIME_S, description="≤ 0 mints an expired token")


class CallbackRequest(BaseModel):
    model_config = ConfigDict(
        strict=True,
        json_schema_extra={"examples": [{"url": "http://127.0.0.1:8080/v1/callbacks/evidence-receipts"}]},
    )
    url: HttpUrl | None = None
    base_url: HttpUrl | None = None


class CallbackConfigured(BaseModel):
    client_id: str
    url: str | None
    base_url: str | None


class ClientAttestation(BaseModel):
    client_id: str
    base_url: str
    status: int
    etag: str | None
    content_digest: str | None
    attestation: dict[str, Any] | None


class ResetDone(BaseModel):
    reset: Literal[True]
    packs: list[str]


class McHealth(BaseModel):
    status: Literal["ok"]
    service: str
    version: str


class McReady(BaseModel):
    status: Literal["ready"]
    pack: str
    revision: str


PACK_NAME_SCHEMA = {"type": "string", "pattern": _PACK}
DIGEST_QUERY_SCHEMA = {"type": "string", "pattern": "^([sS][hH][aA]256:)?[0-9a-fA-F]{64}$"}
