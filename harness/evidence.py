"""Evidence as scenarios use it: make documents, submit them, compare ledgers.

The ledger comparison is the heart of the exactly-once promise: the set of
idempotency keys COS accepted must equal the keys MC stored, each stored once.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.mc import Conductor
from harness.readiness import wait_until
from harness.world import World


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


@dataclass
class Ledger:
    """Keys COS accepted vs what MC stored, for one scenario's keys."""

    accepted: set[str]
    stored_counts: dict[str, int] = field(default_factory=dict)

    @property
    def lost(self) -> set[str]:
        return {k for k in self.accepted if self.stored_counts.get(k, 0) == 0}

    @property
    def duplicated(self) -> set[str]:
        return {k for k, n in self.stored_counts.items() if n > 1}

    @property
    def stored(self) -> int:
        return sum(1 for k in self.accepted if self.stored_counts.get(k, 0) > 0)

    def summary(self) -> str:
        return (
            f"accepted by COS: {len(self.accepted)}, stored at MC: {self.stored}, "
            f"lost: {len(self.lost)}, duplicated: {len(self.duplicated)}"
        )


def submit(world: World, document: dict[str, Any] | None = None, key: str | None = None) -> Submission:
    doc = document or new_document()
    key = key or new_key()
    answer = world.cos.submit_evidence(doc, key)
    sub = Submission(key=key, document=doc, answer=answer)
    world.facts.setdefault("submissions", []).append(sub)
    world.last = answer
    return sub


def accepted_keys(world: World) -> set[str]:
    return {s.key for s in world.facts.get("submissions", []) if s.answer.status == 202}


def mc_ledger(world: World, keys: set[str]) -> Ledger:
    mc = Conductor(world.env)
    try:
        by_key = mc.ledger().get("by_key", {})
    finally:
        mc.close()
    return Ledger(accepted=set(keys), stored_counts={k: by_key[k] for k in keys if k in by_key})


def wait_stored_once(world: World, keys: set[str], budget_s: float) -> Ledger:
    """Wait until MC stores every key; then the ledger (which may show duplicates)."""
    wait_until(
        f"MC to store {len(keys)} evidence",
        lambda: not mc_ledger(world, keys).lost,
        budget_s=budget_s,
        interval_s=0.1,
    )
    return mc_ledger(world, keys)


def cos_states(world: World) -> dict[str, str]:
    answer = world.cos.list_evidence()
    assert answer.status == 200, f"listing COS evidence failed: {answer.status} {answer.body}"
    items = answer.body["items"] if isinstance(answer.body, dict) else answer.body
    return {item["idempotency_key"]: item["state"] for item in items}


def wait_acknowledged(world: World, keys: set[str], budget_s: float) -> float:
    ready = wait_until(
        f"COS to record receipts for {len(keys)} evidence",
        lambda: all(cos_states(world).get(k) == "acknowledged" for k in keys),
        budget_s=budget_s,
        interval_s=0.1,
    )
    return ready.seconds


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
