"""A loaded policy pack, ready to decide: one prepared regorus Engine per pack.

Why a prepared engine: parsing Rego on every request would cost far more
than evaluating it. The engine is built (policies added, data loaded, a
probe query evaluated) once per pack; each decision evaluates a cheap
`clone()` of it so concurrent callers never share mutable input state.

Threading: a regorus Engine is *unsendable* (pyo3): it must be created,
used and dropped on one thread. COS builds and evaluates every engine on
the event loop thread (both are sub-millisecond for packs of this size),
and a replaced policy is `release()`d right after the swap, on that thread:
an ActivePolicy kept alive elsewhere (say, by a traceback collected later by
the garbage collector on another thread) then no longer owns an engine.

Why `PolicyHolder`: a reload builds a complete `ActivePolicy` first and then
replaces one reference. A request reads `holder.current` once and uses that
object for both the decision and the `policy {pack, revision, digest}` it
reports, so it can never see a half-loaded pack or mix two revisions.

What is prepared per pack, because the read path is measured (docs/profiles/):
the engine is probed on itself, not on a clone, so every later clone starts
from an engine that has evaluated once (regorus prepares on first evaluation;
an unprepared clone costs ~45 µs per decision, a prepared one ~27 µs); the
attestation body and its Content-Digest; the `policy` reference decisions
report; and a `DecisionMemo` of decisions already made. All of it lives on the
`ActivePolicy`, so a reload replaces it whole and nothing outlives its pack.
"""

from __future__ import annotations

import json
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import regorus

from seam import bundle, digest

ALLOW_RULE = f"{bundle.QUERY}.allow"
REASONS_RULE = f"{bundle.QUERY}.reasons"
_PROBE_INPUT = {"subject": {"user": "probe", "roles": []}, "action": "probe", "resource": None}


class PolicyLoadError(ValueError):
    """The pack does not compile or does not answer `data.companyos.authz.allow` with a boolean."""


@dataclass(frozen=True)
class Decision:
    """Immutable: the memo hands the same object to every request with the same input."""

    allow: bool
    reasons: tuple[str, ...]


# Builtins whose answer can differ between two evaluations of the same input: the clock
# (io.jwt.decode_verify reads it too), randomness, the network, the runtime. A pack whose
# source names one (comments included: a false alarm only costs the memo) gets no memo.
_IMPURE_BUILTIN = re.compile(
    r"(?<![\w])(?:time\.now_ns|rand\.|uuid\.|http\.send|net\.|opa\.runtime|io\.jwt\.decode_verify)"
)


def deterministic(rego: dict[str, str]) -> bool:
    """True if no source file of the pack names a builtin that reads the clock, randomness,
    the network or the runtime, so the same input always gets the same decision."""
    return not any(_IMPURE_BUILTIN.search(re.sub(r"\s*\.\s*", ".", text)) for text in rego.values())


class DecisionMemo:
    """The decisions one pack already made, by the exact input JSON; bounded, least recently used
    evicted first.

    Why it is safe: for a deterministic pack (`deterministic`) a decision is a function of the
    pack and the input alone, and the memo lives on its `ActivePolicy`: a reloaded pack starts with
    an empty one and the replaced pack's memo goes with it. Inputs longer than `max_key_chars` are
    evaluated every time rather than kept (a 64 KiB body must not pin memory). Used on the serving
    thread only, like the engine, so it takes no lock.
    """

    def __init__(self, max_entries: int = 4096, max_key_chars: int = 2048) -> None:
        self._entries: OrderedDict[str, Decision] = OrderedDict()
        self.max_entries = max_entries
        self.max_key_chars = max_key_chars
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Decision | None:
        decision = self._entries.get(key)
        if decision is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return decision

    def put(self, key: str, decision: Decision) -> None:
        if len(key) > self.max_key_chars:
            return
        self._entries[key] = decision
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class ActivePolicy:
    """One pack as COS enforces it, with the facts /v1/attestation reports about it."""

    pack: str
    revision: str
    digest: str  # lowercase hex SHA-256 of the pack bytes
    source: str  # "local" | "mc"
    signature_verified: bool
    loaded_at: float
    engine: Any = field(repr=False)
    memo: DecisionMemo | None = field(default=None, repr=False)  # None: every decision evaluates
    attestation_body: bytes = field(default=b"", repr=False)
    attestation_content_digest: str = field(default="", repr=False)
    _ref: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.attestation_body = json.dumps(self.describe(), separators=(",", ":")).encode("utf-8")
        self.attestation_content_digest = digest.content_digest(self.attestation_body)
        self._ref = {"pack": self.pack, "revision": self.revision, "digest": self.digest}

    @property
    def etag(self) -> str:
        return digest.strong_etag(self.digest)

    def describe(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "name": self.pack,
            "revision": self.revision,
            "digest": self.digest,
            "source": self.source,
            "signature_verified": self.signature_verified,
            "loaded_at": rfc3339(self.loaded_at),
        }

    def release(self) -> None:
        """Drop the engine now, on the calling (serving) thread; the policy can no longer decide."""
        self.engine = None

    def decide(self, input_doc: dict[str, Any]) -> Decision:
        if self.engine is None:
            raise RuntimeError("this policy was released")
        input_json = json.dumps(input_doc)
        if self.memo is not None and (known := self.memo.get(input_json)) is not None:
            return known
        engine = self.engine.clone()
        try:
            engine.set_input_json(input_json)
            decision = _evaluate(engine)
        finally:
            engine = None  # a traceback must not carry the clone to another thread
        if self.memo is not None:
            self.memo.put(input_json, decision)
        return decision

    def policy_ref(self) -> dict[str, str]:
        """{pack, revision, digest}, built once per pack; callers must not modify it."""
        return self._ref


def _evaluate(engine: Any) -> Decision:
    allow = engine.eval_rule(ALLOW_RULE)
    if allow is None:
        allow = False  # undefined for this input: deny
    if not isinstance(allow, bool):
        raise PolicyLoadError(f"{ALLOW_RULE} must be a boolean, got {type(allow).__name__}")
    try:
        reasons = engine.eval_rule(REASONS_RULE)
    except RuntimeError:
        reasons = None  # the pack defines no reasons rule
    return Decision(allow=allow, reasons=tuple(sorted(str(r) for r in (reasons or []))))


def _summary(exc: Exception) -> str:
    """regorus errors carry a Rust backtrace; keep only the message part, on one line."""
    text = str(exc).split("Stack backtrace:")[0]
    return " ".join(text.split())[:300] or type(exc).__name__


def build_engine(pack: bundle.Pack) -> Any:
    """Compile every .rego file and load data.json; probe once so a broken pack fails here.

    The probe runs on the engine itself: its first evaluation prepares it, and the clone each
    decision evaluates inherits that. Every decision sets its own input before evaluating, so
    the probe's input never reaches one.
    """
    engine: Any = regorus.Engine()
    try:
        for path, text in sorted(pack.rego.items()):
            engine.add_policy(path, text)
        engine.add_data_json(json.dumps(pack.data))
        engine.set_input_json(json.dumps(_PROBE_INPUT))
        _evaluate(engine)
    except PolicyLoadError:
        engine = None  # drop here, not wherever the traceback is collected
        raise
    except (RuntimeError, ValueError) as exc:
        engine = None
        raise PolicyLoadError(f"pack does not compile or evaluate: {_summary(exc)}") from None
    return engine


def load(
    pack_bytes: bytes,
    *,
    source: str,
    signature_verified: bool,
    expected_name: str | None = None,
    loaded_at: float | None = None,
) -> ActivePolicy:
    """Parse, compile and wrap a pack; raises bundle.BundleError or PolicyLoadError."""
    pack = bundle.parse(pack_bytes)
    name = pack.name or expected_name or "unnamed"
    if expected_name and pack.name and pack.name != expected_name:
        raise bundle.BundleError(f"pack manifest names {pack.name!r}, expected {expected_name!r}")
    return ActivePolicy(
        pack=name,
        revision=pack.revision,
        digest=digest.sha256_hex(pack_bytes),
        source=source,
        signature_verified=signature_verified,
        loaded_at=loaded_at if loaded_at is not None else time.time(),
        engine=build_engine(pack),
        memo=DecisionMemo() if deterministic(pack.rego) else None,
    )


class PolicyHolder:
    """The one reference to the active policy; replaced whole, never mutated."""

    def __init__(self, initial: ActivePolicy | None = None) -> None:
        self.current: ActivePolicy | None = initial

    def swap(self, new: ActivePolicy) -> ActivePolicy | None:
        """Install `new`; the caller releases the returned old policy (on this thread)."""
        old, self.current = self.current, new
        return old

    def park(self) -> ActivePolicy | None:
        """Take the active policy out without releasing it (test-only mutation
        `cos.reload-blocks-requests`: requests meanwhile find no policy and get 503)."""
        old, self.current = self.current, None
        return old

    def clear(self) -> None:
        if self.current is not None:
            self.current.release()
        self.current = None
