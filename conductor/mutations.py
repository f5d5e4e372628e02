"""Test-only seam mutations (docs/mutations.md): deliberate breaks of one promise each.

Why they exist: the contract gate must prove it notices when MC stops keeping a
promise. `SEAM_MUTATIONS` is shared by COS and MC, so names for the other
provider (`cos.*`) are ignored here, while an unknown `mc.*` name is an error
(a typo must not silently test nothing). Production never sets any.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seam.problem import MEDIA_TYPE as PROBLEM_MEDIA_TYPE

ETAG_DROPPED = "mc.etag-dropped"
ETAG_WEAK = "mc.etag-weak"
CONTENT_DIGEST_WRONG_ALG = "mc.content-digest-wrong-alg"
CONTENT_DIGEST_WRONG_VALUE = "mc.content-digest-wrong-value"
NO_304 = "mc.no-304"
EVIDENCE_202 = "mc.evidence-202"
EVIDENCE_FIELD_RENAMED = "mc.evidence-field-renamed"
SCOPE_CHECK_REMOVED = "mc.scope-check-removed"
REPLAY_NEW_ID = "mc.replay-new-id"
REPLAY_HEADER_DROPPED = "mc.replay-header-dropped"
MISMATCH_409 = "mc.mismatch-409"
TOKEN_FIELD_RENAMED = "mc.token-field-renamed"
PROBLEM_AS_JSON = "mc.problem-as-json"
GRAPHQL_EVIDENCEOK_RENAMED = "mc.graphql-evidenceok-renamed"
DIGEST_MISMATCH_ACCEPTED = "mc.digest-mismatch-accepted"
# Behavioural (docs/mutations.md "Behavioural mutations"): a pact cannot see it, the E2E suite must.
EVIDENCE_STORED_TWICE = "mc.evidence-stored-twice"
BEHAVIOURAL: frozenset[str] = frozenset({EVIDENCE_STORED_TWICE})

KNOWN: frozenset[str] = (
    frozenset(
        {
            ETAG_DROPPED,
            ETAG_WEAK,
            CONTENT_DIGEST_WRONG_ALG,
            CONTENT_DIGEST_WRONG_VALUE,
            NO_304,
            EVIDENCE_202,
            EVIDENCE_FIELD_RENAMED,
            SCOPE_CHECK_REMOVED,
            REPLAY_NEW_ID,
            REPLAY_HEADER_DROPPED,
            MISMATCH_409,
            TOKEN_FIELD_RENAMED,
            PROBLEM_AS_JSON,
            GRAPHQL_EVIDENCEOK_RENAMED,
            DIGEST_MISMATCH_ACCEPTED,
        }
    )
    | BEHAVIOURAL
)


def parse(values: Iterable[str]) -> frozenset[str]:
    """Split comma-separated values; keep `mc.*` names, drop other providers' names."""
    names: set[str] = set()
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if not name or not name.startswith("mc."):
                continue
            if name not in KNOWN:
                raise ValueError(f"unknown MC seam mutation {name!r}; known: {', '.join(sorted(KNOWN))}")
            names.add(name)
    return frozenset(names)


class Mutations:
    """The active set, asked by name at the one place each promise is kept."""

    def __init__(self, active: Iterable[str] = ()) -> None:
        self.active = frozenset(active)
        unknown = self.active - KNOWN
        if unknown:
            raise ValueError(f"unknown MC seam mutations: {sorted(unknown)}")

    def on(self, name: str) -> bool:
        return name in self.active

    def __bool__(self) -> bool:
        return bool(self.active)


class ProblemAsJsonMiddleware:
    """`mc.problem-as-json`: relabel problem+json responses as plain application/json."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def relabel(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type" and value.startswith(PROBLEM_MEDIA_TYPE.encode()):
                        value = b"application/json"
                    headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, relabel)
