"""The outbox's idempotency claims: a key is held in memory from `begin` until its one write settles.

Why these tests: the in-flight state of a key is no longer a committed marker
(issue 16: one group commit per accept), so what the marker guaranteed must
hold for the claim — one fresh request per key at a time, a completed key
answered from the ledger without a commit, a failed write releasing its key,
and the claim held until the write's commit has ended (never released while a
retry could still find nothing in the ledger).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cos_helpers import evidence_doc

from companyos.outbox import Outbox
from seam.idempotency import Claims, Fresh, InFlight, Mismatch, Replay

BODY = json.dumps(evidence_doc()).encode()


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path)
    yield box
    box.close()


def test_a_key_is_fresh_once_in_flight_meanwhile_then_replayed(outbox: Outbox) -> None:
    assert isinstance(outbox.begin("k", "d1"), Fresh)
    assert isinstance(outbox.begin("k", "d1"), InFlight)
    assert isinstance(outbox.begin("k", "d2"), Mismatch)  # another body under a key in flight: 422
    accepted = outbox.accept("k", BODY, "d1", 202)
    assert "k" not in outbox.claims
    replay = outbox.begin("k", "d1")
    assert replay == Replay(status=202, body=accepted)
    assert isinstance(outbox.begin("k", "d2"), Mismatch)
    assert "k" not in outbox.claims  # answering from the ledger holds nothing
    assert outbox.committer.stats.commits == 1 and outbox.committer.stats.writes == 1


def test_a_failed_write_releases_its_key_and_leaves_no_trace(outbox: Outbox) -> None:
    commits_before = outbox.committer.stats.commits
    outbox.conn.execute(
        "CREATE TEMP TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    assert isinstance(outbox.begin("k", "d"), Fresh)
    with pytest.raises(sqlite3.IntegrityError, match="refused"):
        outbox.accept("k", BODY, "d", 202)
    assert "k" not in outbox.claims
    assert outbox.ledger.lookup("k", "d") is None  # the ledger record went with the row
    assert outbox.committer.stats.commits == commits_before
    outbox.conn.execute("DROP TRIGGER refuse")
    assert isinstance(outbox.begin("k", "d"), Fresh)  # a retry starts afresh, not 409
    assert outbox.accept("k", BODY, "d", 202)["idempotency_key"] == "k"


def test_abandon_releases_a_claim_that_never_wrote(outbox: Outbox) -> None:
    assert isinstance(outbox.begin("k", "d"), Fresh)
    outbox.abandon("k")
    assert isinstance(outbox.begin("k", "d"), Fresh)


def test_the_claim_is_held_until_the_commit_has_ended(outbox: Outbox) -> None:
    """While the accept's transaction cannot commit (the store's lock is held here), the key stays
    in flight; once it commits, the next request is a replay — never a second fresh write."""
    assert isinstance(outbox.begin("k", "d"), Fresh)
    answers: list[dict] = []
    with outbox._lock:  # noqa: SLF001 - stands for a commit still waiting for its fsync
        writer = threading.Thread(target=lambda: answers.append(outbox.accept("k", BODY, "d", 202)))
        writer.start()
        writer.join(0.2)
        assert writer.is_alive(), "the accept returned before its transaction could commit"
        assert isinstance(outbox.begin("k", "d"), InFlight)
        assert outbox.ledger.lookup("k", "d") is None  # nothing committed yet
    writer.join(10)
    assert not writer.is_alive()
    assert outbox.begin("k", "d") == Replay(status=202, body=answers[0])


def test_a_cancelled_accept_never_frees_its_key_while_its_write_can_still_commit(outbox: Outbox) -> None:
    """The client went away (the handler's task is cancelled) while the commit could not run yet.
    Either the write was cancelled before it ran (key free, nothing ever committed) or it was
    already running (key held until the commit ends, then a replay) — never a free key whose
    write commits later, which a retry would race with a second fresh write."""
    assert isinstance(outbox.begin("k", "d"), Fresh)

    async def cancel_while_blocked() -> bool:
        task = asyncio.create_task(outbox.accept_async("k", BODY, "d", 202))
        await asyncio.sleep(0.05)  # the write is queued (or already waiting for the lock)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return "k" in outbox.claims

    with outbox._lock:  # noqa: SLF001 - stands for a commit still waiting for its fsync
        held = asyncio.run(cancel_while_blocked())
    outbox.committer.run(lambda _conn: None)  # FIFO: everything queued before has settled
    settled = outbox.begin("k", "d")
    if held:
        assert isinstance(settled, Replay), settled
    else:
        assert isinstance(settled, Fresh) and outbox.ledger.lookup("k", "d") is None
        outbox.abandon("k")
    assert "k" not in outbox.claims


def test_a_reopened_outbox_holds_no_claim_and_keeps_what_was_accepted(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    assert isinstance(box.begin("held", "d"), Fresh)  # in flight when the process "dies"
    assert isinstance(box.begin("done", "d"), Fresh)
    accepted = box.accept("done", BODY, "d", 202)
    box.close()
    box = Outbox(tmp_path)
    try:
        assert isinstance(box.begin("held", "d"), Fresh)
        assert box.begin("done", "d") == Replay(status=202, body=accepted)
    finally:
        box.close()


def test_claims_are_atomic_across_threads() -> None:
    claims, winners, start = Claims(), [], threading.Barrier(8)

    def contend() -> None:
        start.wait()
        if claims.claim("k", "d") is None:
            winners.append(threading.get_ident())

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(winners) == 1 and "k" in claims
    claims.release("k")
    assert claims.claim("k", "d") is None
