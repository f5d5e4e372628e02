"""Each kind of bad evidence request, and proof that it changed nothing.

`snapshot` reads COS's outbox before the bad request; `expect_unchanged`
compares after: same entries, same states — nothing lost, nothing added.
"""

from __future__ import annotations

import json
from typing import Any

from harness import evidence
from harness.world import World

_POISON = {
    "evidence with NaN in its payload": "NaN",
    "evidence with a number beyond JSON": "1e999",
    "evidence with a lone surrogate": '"\\ud800"',
}


def snapshot(world: World) -> dict[str, str]:
    return evidence.cos_states(world)


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


def expect_unchanged(world: World, before: dict[str, str]) -> None:
    after = evidence.cos_states(world)
    lost = {k: v for k, v in before.items() if k not in after}
    added = set(after) - set(before)
    assert not lost, f"entries accepted before are gone: {lost}"
    assert not added, f"a refused request added entries: {added}"
    regressed = {k: (before[k], after[k]) for k in before if _rank(after[k]) < _rank(before[k])}
    assert not regressed, f"entries went backwards: {regressed}"


def _rank(state: str) -> int:
    return {"pending": 0, "published": 1, "acknowledged": 2}.get(state, -1)
