"""Evidence as scenarios use it: make documents, submit them, compare ledgers.

The ledger comparison is the heart of the exactly-once promise: every document COS
accepted is held by MC once — counted by document digest, because MC's idempotency key
is UNIQUE and a count by key could never show a duplicate — under the key COS accepted.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.env.world import World
from harness.kit.readiness import Observed, wait_within


def new_document(**overrides: Any) -> dict[str, Any]:
    nonce = uuid.uuid4().hex
    doc: dict[str, Any] = {
        "release": f"2026.11.{nonce[:6]}",
        "kind": "test-report",
        "subject": {"name": "payments-api", "digest": {"sha256": hashlib.sha256(nonce.encode()).hexdigest()}},
        "produced_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "payload": {"passed": 412, "failed": 0, "suite": "acceptance"},
    }
    doc.update(overrides)
    return doc


def new_key() -> str:
    return f"qa-{uuid.uuid4()}"


@dataclass
class Submission:
    key: str
    document: dict[str, Any]
    answer: Any
    at: float = field(default_factory=time.monotonic)  # when COS answered


def submit(world: World, document: dict[str, Any] | None = None, key: str | None = None) -> Submission:
    doc = document or new_document()
    key = key or new_key()
    answer = world.cos.submit_evidence(doc, key)
    sub = Submission(key=key, document=doc, answer=answer)
    world.submissions.append(sub)
    world.last = answer
    return sub


def accepted_keys(world: World) -> set[str]:
    return set(accepted_documents(world))


def accepted_documents(world: World) -> dict[str, str]:
    """Idempotency key → document digest of every submission COS answered 202."""
    return {
        s.key: hashlib.sha256(canonical(s.document)).hexdigest()
        for s in world.submissions
        if s.answer.status == 202
    }


def expect_each_accepted(world: World) -> None:
    subs = world.submissions
    assert subs, "no evidence was submitted in this scenario"
    refused = [(s.key, s.answer.status) for s in subs if s.answer.status != 202]
    assert not refused, f"COS refused {len(refused)} of {len(subs)}: {refused}"


def _mc_items(world: World, accepted: dict[str, str]) -> list[dict[str, Any]]:
    """MC's records with one of these keys or digests: a query by index, not the whole ledger."""
    return world.mc().ledger_of(sorted(accepted), sorted(set(accepted.values())))


@dataclass
class Reconciliation:
    """COS's accepted evidence against MC's records of the same documents.

    Matched by document digest, not by key: MC's idempotency key is UNIQUE, so a count by key
    can never exceed one — a document stored twice (or resent under a new key) shows only here.
    """

    written: int
    accepted: dict[str, str]  # idempotency key → document digest, as COS accepted them
    records: list[dict[str, Any]]  # MC's records of those documents (by digest or key)

    def _by(self, field_name: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.records:
            out[r[field_name]] = out.get(r[field_name], 0) + 1
        return out

    @property
    def lost(self) -> list[str]:
        """Accepted keys whose document MC does not hold at all (under any key)."""
        stored = self._by("digest")
        return [k for k, d in self.accepted.items() if stored.get(d, 0) == 0]

    @property
    def duplicated(self) -> list[str]:
        """Documents MC holds more than once (under any keys)."""
        return [d for d, n in self._by("digest").items() if n > 1]

    @property
    def rekeyed(self) -> list[str]:
        """Records whose key is not the one COS accepted that document under."""
        return [
            r["idempotency_key"]
            for r in self.records
            if self.accepted.get(r["idempotency_key"]) != r["digest"]
        ]

    @property
    def replays(self) -> int:
        """Sends of these documents MC answered as replays of what it already held."""
        return sum(int(r.get("replays", 0)) for r in self.records)

    def summary(self) -> str:
        return (
            f"written: {self.written}, accepted by COS: {len(self.accepted)}, "
            f"stored at MC: {len(self.accepted) - len(self.lost)}, lost: {len(self.lost)}, "
            f"duplicates: {len(self.duplicated)}, stored under another key: {len(self.rekeyed)}, "
            f"resends MC answered as replays: {self.replays}"
        )


def evidence_ledger(world: World, accepted: dict[str, str], written: int | None = None) -> Reconciliation:
    """MC's records of these documents now: every record with one of their digests or keys."""
    records = _mc_items(world, accepted)
    return Reconciliation(
        written=len(accepted) if written is None else written, accepted=accepted, records=records
    )


def expect_exactly_once(result: Reconciliation) -> None:
    assert result.accepted, f"COS accepted nothing: {result.summary()}"
    assert not result.lost, (
        f"{len(result.lost)} accepted evidence never reached MC: {result.lost[:5]}; {result.summary()}"
    )
    assert not result.duplicated, (
        f"MC holds documents more than once: {result.duplicated[:5]}; {result.summary()}"
    )
    assert not result.rekeyed, f"MC stored documents under keys COS did not accept: {result.rekeyed[:5]}"


def _stored(ledger) -> Observed:
    """Done when MC holds every accepted document; says which are still missing."""
    missing = sorted(ledger.lost)
    return Observed(
        not missing,
        f"MC holds {len(ledger.accepted) - len(missing)} of {len(ledger.accepted)}; missing {missing[:5]}",
    )


def _acknowledged(states: dict[str, str]) -> Observed:
    """Done when COS has recorded a receipt for every key; says the states it saw."""
    waiting = {key: state for key, state in states.items() if state != "acknowledged"}
    some = dict(list(waiting.items())[:5])
    done = len(states) - len(waiting)
    return Observed(not waiting, f"{done} of {len(states)} acknowledged; not yet: {some}")


def wait_stored_once(world: World, budget_s: float) -> Reconciliation:
    """Within `budget_s` of the last accepted submission, MC holds each document exactly once."""
    accepted = accepted_documents(world)
    assert accepted, "COS accepted no evidence in this scenario"
    since = max(s.at for s in world.submissions if s.key in accepted)
    wait_within(
        f"MC to store {len(accepted)} evidence",
        lambda: _stored(evidence_ledger(world, accepted)),
        since=since,
        budget_s=budget_s,
        interval_s=0.1,
    )
    ledger = evidence_ledger(world, accepted)
    expect_exactly_once(ledger)
    return ledger


def cos_total(world: World) -> int:
    """How many entries COS's outbox holds (the listing's `total`, not one page of items)."""
    answer = world.cos.request("GET", "/v1/evidence", params={"limit": 1})
    assert answer.status == 200, f"listing COS evidence failed: {answer.status} {answer.body}"
    return int(answer.body["total"])


def cos_states_of(world: World, keys: set[str]) -> dict[str, str | None]:
    """The state of each of these entries (None: COS has none), looked up one by one.

    Never from one page of the listing: the environment is shared, the outbox grows past a page
    (1000) during a run, and a key beyond it would look missing — or, worse, a new entry beyond
    it would go unseen.
    """
    states: dict[str, str | None] = {}
    for key in keys:
        answer = world.cos.request("GET", f"/v1/evidence/{key}")
        assert answer.status in (200, 404), (
            f"reading COS evidence {key} failed: {answer.status} {answer.body}"
        )
        states[key] = answer.body.get("state") if answer.status == 200 else None
    return states


def wait_acknowledged(world: World, budget_s: float) -> float:
    """Seconds from the last accepted submission until COS shows each one acknowledged."""
    keys = accepted_keys(world)
    assert keys, "COS accepted no evidence in this scenario"
    since = max(s.at for s in world.submissions if s.key in keys)
    return wait_within(
        f"COS to record receipts for {len(keys)} evidence",
        lambda: _acknowledged(cos_states_of(world, keys)),
        since=since,
        budget_s=budget_s,
        interval_s=0.1,
    )


def outbox_entry(world: World, key: str) -> dict[str, Any]:
    """COS's full record of one outbox entry (state, MC's evidence id, timestamps, digest)."""
    answer = world.cos.request("GET", f"/v1/evidence/{key}")
    assert answer.status == 200, f"COS has no outbox entry {key}: {answer.status} {answer.body}"
    return answer.body


def expect_entry_unchanged(world: World, key: str, before: dict[str, Any]) -> None:
    after = outbox_entry(world, key)
    changed = {
        f: (before.get(f), after.get(f))
        for f in sorted(set(before) | set(after))
        if before.get(f) != after.get(f)
    }
    assert not changed, f"the outbox entry {key} changed: {changed}"


def canonical(document: dict[str, Any]) -> bytes:
    import json

    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")


def digest_header(body: bytes) -> str:
    from seam.digest import content_digest

    return content_digest(body)


def expect_replay(first: Any, second: Any) -> None:
    assert second.status == first.status, f"replay status {second.status} != original {first.status}"
    assert second.headers.get("idempotent-replayed") == "true", (
        f"replay not marked: headers {dict(second.headers)}"
    )
    assert second.body == first.body, f"replay body {second.body} != original {first.body}"


def post_forged_receipt(world: World, sub: Submission) -> Any:
    """A receipt for a real entry, signed by a key that is not MC's."""
    import json

    from seam import keys, receipts

    body = json.dumps(
        {
            "evidence_id": "ev_forged",
            "idempotency_key": sub.key,
            "digest": hashlib.sha256(canonical(sub.document)).hexdigest(),
            "stored_at": datetime.now(UTC).isoformat(),
            "client_id": world.env.credentials.mc_client_id,
        }
    ).encode()
    headers = {"Content-Type": "application/json", **receipts.sign(body, keys.generate())}
    return world.cos.request("POST", "/v1/callbacks/evidence-receipts", content=body, headers=headers)


# --- what the evidence steps do (one call each) --------------------------------------------------
def submit_accepted(world: World) -> Submission:
    """Submit a fresh piece of evidence that COS must accept; it is the scenario's `first`."""
    sub = submit(world)
    assert sub.answer.status == 202, f"COS did not accept evidence: {sub.answer.status} {sub.answer.body}"
    world.first = sub
    return sub


def submit_many(world: World, count: int) -> list[Submission]:
    """Submit `count` fresh pieces of evidence (each answer is kept for the Then-steps)."""
    return [submit(world) for _ in range(count)]


def _first(world: World) -> Submission:
    assert world.first is not None, "the scenario submitted no evidence to refer back to"
    return world.first


def resubmit_first(world: World) -> Submission:
    """Submit the scenario's first evidence again under its idempotency key (a client's retry)."""
    first = _first(world)
    return submit(world, first.document, first.key)


def submit_different_under_first_key(world: World) -> Submission:
    """Submit different evidence under the first submission's idempotency key."""
    return submit(world, new_document(), _first(world).key)


def expect_second_replays_first(world: World) -> None:
    """The second answer repeats the first and is marked as a replay."""
    assert len(world.submissions) >= 2, f"expected two submissions, got {len(world.submissions)}"
    first, second = world.submissions[:2]
    expect_replay(first.answer, second.answer)


def expect_stored_once(world: World, budget_s: float) -> Reconciliation:
    """`wait_stored_once`, with MC's ledger for the scenario noted for the report."""
    ledger = wait_stored_once(world, budget_s)
    world.note("ledger", ledger.summary())
    return ledger


def expect_acknowledged_within(world: World, budget_s: float) -> float:
    """`wait_acknowledged`, timed for the report (`accepted_to_acknowledged_s`)."""
    return world.time("accepted_to_acknowledged_s", wait_acknowledged(world, budget_s))


def expect_each_in_state(world: World, state: str) -> None:
    """Every piece of evidence COS accepted in the scenario is in `state` in its outbox."""
    keys = accepted_keys(world)
    assert keys, "COS accepted no evidence in this scenario"
    states = cos_states_of(world, keys)
    wrong = {k: states.get(k) for k in keys if states.get(k) != state}
    assert not wrong, f"expected every entry {state!r}, got {wrong}"


def forge_receipt_for_first(world: World) -> Any:
    """Keep the first entry as it is now, then post a receipt for it signed by a key not MC's."""
    first = _first(world)
    world.entry_before = outbox_entry(world, first.key)
    world.last = post_forged_receipt(world, first)
    return world.last


def expect_first_entry_unchanged(world: World) -> None:
    """The first entry is exactly as it was before the forged receipt."""
    assert world.entry_before is not None, "no outbox entry was kept before the forged receipt"
    expect_entry_unchanged(world, _first(world).key, world.entry_before)
