"""Each kind of bad evidence request, and proof that it changed nothing.

`snapshot` reads COS's outbox before the bad request; `expect_unchanged`
compares after: the entries accepted before are all there, none went backwards, and the
outbox's total is the same — nothing added anywhere, not just on the first page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from harness.domain import evidence
from harness.domain.phrases import BadInput
from harness.env.world import World

_POISON = {  # bytes the strict JSON door refuses (issue 13)
    BadInput.NAN: "NaN",
    BadInput.BEYOND_JSON: "1e999",
    BadInput.LONE_SURROGATE: '"\\ud800"',
}


def snapshot(world: World) -> dict[str, Any]:
    return {
        "total": evidence.cos_total(world),
        "states": evidence.cos_states_of(world, evidence.accepted_keys(world)),
    }


def send(world: World, bad: BadInput) -> Any:
    """Snapshot COS's evidence, then send `bad`; the answer is `world.last`."""
    return _sent(world, lambda: _request(world, bad))


def send_oversize(world: World, size: int) -> Any:
    """Snapshot, then send a JSON body of at least `size` bytes (`world.last`)."""
    return _sent(world, lambda: _oversize(world, size))


def send_with_kind(world: World, kind: str) -> Any:
    """Snapshot, then submit otherwise valid evidence whose `kind` is `kind` (`world.last`)."""

    def submit() -> Any:
        return world.cos.submit_evidence({**evidence.new_document(), "kind": kind}, evidence.new_key())

    return _sent(world, submit)


def _sent(world: World, request: Callable[[], Any]) -> Any:
    world.snapshot_before = snapshot(world)
    world.last = request()
    return world.last


def _post(world: World, body: bytes, **headers: str) -> Any:
    json_headers = {"Content-Type": "application/json", "Idempotency-Key": evidence.new_key()}
    return world.cos.request("POST", "/v1/evidence", content=body, headers={**json_headers, **headers})


def _oversize(world: World, size: int) -> Any:
    doc = evidence.new_document()
    doc["payload"] = {"blob": "x" * size}
    return _post(world, json.dumps(doc).encode())


def _request(world: World, bad: BadInput) -> Any:
    doc = evidence.new_document()
    match bad:
        case BadInput.NOT_JSON:
            return _post(world, b'{"release": "2026.11", ')
        case BadInput.WRONG_DIGEST:
            body = evidence.canonical(doc)
            return _post(world, body, **{"Content-Digest": evidence.digest_header(body + b" ")})
        case BadInput.NO_KEY:
            return world.cos.request(
                "POST",
                "/v1/evidence",
                content=evidence.canonical(doc),
                headers={"Content-Type": "application/json"},
            )
        case BadInput.NAN | BadInput.BEYOND_JSON | BadInput.LONE_SURROGATE:
            template = json.dumps({**doc, "payload": {"x": "PLACEHOLDER"}})
            return _post(world, template.replace('"PLACEHOLDER"', _POISON[bad]).encode())
        case BadInput.DEEP_NESTING:
            return _post(world, b"[" * 1000 + b"]" * 1000)
        case BadInput.TEXT_PLAIN:
            return _post(world, evidence.canonical(doc), **{"Content-Type": "text/plain"})
    raise TypeError(f"not a BadInput: {bad!r}")


def expect_unchanged(world: World) -> None:
    """Against the snapshot taken before the bad request: nothing lost, regressed or added."""
    before: dict[str, Any] = world.snapshot_before
    assert before is not None, "no bad request was sent in this scenario"
    states: dict[str, str | None] = before["states"]
    assert states, "no evidence was accepted before the bad request, so nothing shows it changed nothing"
    after = evidence.cos_states_of(world, set(states))
    lost = {k: v for k, v in states.items() if after.get(k) is None}
    assert not lost, f"entries accepted before are gone: {lost}"
    regressed = {k: (states[k], after[k]) for k in states if _rank(after[k]) < _rank(states[k])}
    assert not regressed, f"entries went backwards: {regressed}"
    total = evidence.cos_total(world)
    assert total == before["total"], (
        f"a refused request added entries: outbox total {before['total']} → {total}"
    )


def expect_field_named(answer: Any, field: str) -> None:
    """The problem document names the offending field."""
    body = answer.body
    assert isinstance(body, dict) and body.get("field") == field, (
        f"expected the problem to name {field!r}, got {body}"
    )


def _rank(state: str | None) -> int:
    return {"pending": 0, "published": 1, "acknowledged": 2}.get(state, -1)
