"""Each kind of bad evidence request, and proof that it changed nothing.

`snapshot` reads COS's outbox before the bad request; `expect_unchanged`
compares after: the entries accepted before are all there, none went backwards, and the
outbox's total is the same — nothing added anywhere, not just on the first page.
"""

from __future__ import annotations

import json
from typing import Any

from harness.domain import evidence
from harness.env.world import World

_POISON = {
    "evidence with NaN in its payload": "NaN",
    "evidence with a number beyond JSON": "1e999",
    "evidence with a lone surrogate": '"\\ud800"',
}


def snapshot(world: World) -> dict[str, Any]:
    return {
        "total": evidence.cos_total(world),
        "states": evidence.cos_states_of(world, evidence.accepted_keys(world)),
    }


def submit(world: World, kind: str) -> Any:
    """`kind` as the feature's Examples write it."""
    doc = evidence.new_document()
    key = evidence.new_key()
    json_headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    if kind == "a body that is not JSON":
        return world.cos.request(
            "POST", "/v1/evidence", content=b'{"release": "2026.11", ', headers=json_headers
        )
    if kind.startswith("a body of ") and kind.endswith(" bytes"):
        size = int(kind.split()[3])
        doc["payload"] = {"blob": "x" * size}
        return world.cos.request(
            "POST", "/v1/evidence", content=json.dumps(doc).encode(), headers=json_headers
        )
    if kind == "evidence with a wrong Content-Digest":
        body = evidence.canonical(doc)
        wrong = evidence.digest_header(body + b" ")
        return world.cos.request(
            "POST", "/v1/evidence", content=body, headers={**json_headers, "Content-Digest": wrong}
        )
    if kind == "evidence without an idempotency key":
        return world.cos.request(
            "POST",
            "/v1/evidence",
            content=evidence.canonical(doc),
            headers={"Content-Type": "application/json"},
        )
    if kind in _POISON:  # bytes the strict JSON door refuses (issue 13)
        template = json.dumps({**doc, "payload": {"x": "PLACEHOLDER"}})
        body = template.replace('"PLACEHOLDER"', _POISON[kind]).encode()
        return world.cos.request("POST", "/v1/evidence", content=body, headers=json_headers)
    if kind == "a body nested 1000 arrays deep":
        body = b"[" * 1000 + b"]" * 1000
        return world.cos.request("POST", "/v1/evidence", content=body, headers=json_headers)
    if kind == "evidence as text/plain":
        headers = {**json_headers, "Content-Type": "text/plain"}
        return world.cos.request("POST", "/v1/evidence", content=evidence.canonical(doc), headers=headers)
    if kind.startswith("evidence with kind "):
        doc["kind"] = kind.split('"')[1]
        return world.cos.submit_evidence(doc, key)
    raise ValueError(f"unknown kind of bad input {kind!r}")


def expect_unchanged(world: World, before: dict[str, Any]) -> None:
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


def _rank(state: str | None) -> int:
    return {"pending": 0, "published": 1, "acknowledged": 2}.get(state, -1)
