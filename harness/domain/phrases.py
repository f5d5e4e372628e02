"""The phrases QA writes in features, as values: one Enum per kind of step parameter.

A step never hands English to the harness. behave's parse types (`register_step_types`, which
environment.py calls before behave loads steps/) turn a phrase into its member while the step is
matched, so the harness below takes values (`credentials.cos_token(world, CosToken.FORGED)`),
and a phrase no member names is an *undefined step* that `behave --dry-run` reports — not a
ValueError deep in a helper halfway through a scenario. Each member's value is the phrase itself,
so the feature files and this module read the same; what a member means on the wire (a proxy
stream, an admin signing mode, a header value) is decided by the domain module that acts on it.

`python -m harness.gates.step_catalog` lists every type with its phrases in docs/qa-handbook.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import Enum

from behave import register_type
from parse_type import TypeBuilder


class CosToken(Enum):
    """The bearer a decision request to COS carries."""

    NONE = "no token"
    FORGED = "a forged token"  # well-formed, signed by a key COS never saw
    EXPIRED = "an expired token"  # one COS issued, and now rejects as expired


class McToken(Enum):
    """The kind of MC token a client holds for its direct calls to MC."""

    VALID = "an MC token"
    EXPIRED = "an expired MC token"


class McCall(Enum):
    """A call a client makes to MC with the token it holds."""

    READ_PACK = "read the pack"
    WRITE_EVIDENCE = "write evidence"


class BadInput(Enum):
    """A malformed evidence request (the parametrised ones have their own steps: size, kind)."""

    NOT_JSON = "a body that is not JSON"
    WRONG_DIGEST = "evidence with a wrong Content-Digest"
    NO_KEY = "evidence without an idempotency key"
    NAN = "evidence with NaN in its payload"
    BEYOND_JSON = "evidence with a number beyond JSON"
    LONE_SURROGATE = "evidence with a lone surrogate"
    DEEP_NESTING = "a body nested 1000 arrays deep"
    TEXT_PLAIN = "evidence as text/plain"


class Defect(Enum):
    """How a pack revision MC publishes fails COS's verification."""

    UNSIGNED = "unsigned"
    WRONG_KEY = "wrong-key"
    TAMPERED = "tampered"
    BAD_CONTENT_DIGEST = "bad-content-digest"


class Outage(Enum):
    """How MC is out of COS's reach while evidence is written."""

    UNREACHABLE = "unreachable"  # the link to MC refuses connections
    STOPPED = "stopped"  # MC's process is stopped (needs a backend that owns it)


class ResetMoment(Enum):
    """When a connection from COS to MC is reset."""

    AS_COS_SENDS = "as COS sends"  # before MC reads the request: MC never sees it
    AS_MC_ANSWERS = "as MC answers"  # after MC stored it: COS never hears back


class IfNoneMatch(Enum):
    """What a conditional request names in If-None-Match, relative to the current ETag."""

    CURRENT = "its ETag"
    LIST_WITH_CURRENT = "a stale tag and its ETag"
    ANY = "*"
    STALE = "a stale tag"


class HeaderPromise(Enum):
    """What a validator header must be computed from (any other promise is the literal value)."""

    STRONG_PACK_TAG = "strong tag of the pack digest"
    BODY_SHA256 = "sha-256 of the body"


class Verdict(Enum):
    """A decision as the decision tables write it."""

    ALLOW = "allow"
    DENY = "deny"


class Flag(Enum):
    """A quoted true/false in a step."""

    TRUE = "true"
    FALSE = "false"

    def __bool__(self) -> bool:
        return self is Flag.TRUE


STEP_TYPES: tuple[type[Enum], ...] = (
    CosToken,
    McToken,
    McCall,
    BadInput,
    Defect,
    Outage,
    ResetMoment,
    IfNoneMatch,
    Verdict,
    Flag,
)


def converter(phrases: type[Enum]) -> Callable[[str], Enum]:
    """A behave parse type for `phrases`: its pattern is exactly the members' phrases.

    `TypeBuilder.make_enum` joins the phrases unescaped into a regex; they are escaped here
    (a phrase may hold `*`, `/` or `.`), longest first so no phrase stops at a shorter one.
    """
    convert = TypeBuilder.make_enum({m.value: m for m in phrases})
    ordered = sorted((m.value for m in phrases), key=len, reverse=True)
    convert.pattern = "|".join(re.escape(p) for p in ordered)  # type: ignore[attr-defined]
    return convert


def register_step_types() -> None:
    """Register every type in `STEP_TYPES` under its class name (`{token:CosToken}`).

    Call before behave loads the step modules: a step pattern is compiled when its module loads,
    with the types registered by then. Safe to call again (behave keeps the last registration).
    """
    register_type(**{t.__name__: converter(t) for t in STEP_TYPES})


def header_promise(text: str) -> HeaderPromise | str:
    """A table cell naming a validator promise: a `HeaderPromise`, or else the literal value."""
    try:
        return HeaderPromise(text)
    except ValueError:
        return text


def roles(text: str) -> list[str]:
    """A decision table's `roles` cell: comma-separated role names."""
    return [r.strip() for r in text.split(",") if r.strip()]
