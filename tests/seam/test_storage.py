"""seam/storage.py and the ledger's key release when a write fails for lack of space."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from seam import idempotency, storage


def _full(message: str = "database or disk is full") -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError(message)
    exc.sqlite_errorcode = storage.SQLITE_FULL  # type: ignore[attr-defined]
    return exc


def test_problem_for_names_the_condition() -> None:
    assert storage.problem_for(_full())[:2] == (507, "insufficient_storage")  # type: ignore[index]
    io = sqlite3.OperationalError("disk I/O error")
    io.sqlite_errorcode = storage.SQLITE_IOERR | (3 << 8)  # type: ignore[attr-defined]  # an extended code
    assert storage.problem_for(io)[:2] == (503, "storage_unavailable")  # type: ignore[index]
    assert storage.problem_for(sqlite3.IntegrityError("UNIQUE constraint failed")) is None


def test_a_key_whose_marker_cannot_be_deleted_is_released_in_memory(tmp_path: Path) -> None:
    conn = idempotency.connect(str(tmp_path / "ledger.db"))
    ledger = idempotency.IdempotencyLedger(conn, threading.RLock())
    assert isinstance(ledger.begin("k", "d1"), idempotency.Fresh)

    def no_deletes(action: int, *_: object) -> int:
        return sqlite3.SQLITE_DENY if action == sqlite3.SQLITE_DELETE else sqlite3.SQLITE_OK

    conn.set_authorizer(no_deletes)  # the DELETE fails, as it does on a full volume
    ledger.abandon("k")  # must not raise: the request's own error is what the client needs
    conn.set_authorizer(None)
    assert isinstance(ledger.begin("k", "d1"), idempotency.Fresh)  # not InFlight for 60 s
    assert isinstance(ledger.begin("k", "d1"), idempotency.InFlight)  # and held again now


def test_write_health_is_not_ready_after_a_full_write_until_a_probe_commits(tmp_path: Path) -> None:
    health = storage.WriteHealth(tmp_path, min_free_bytes=0)
    assert health.problem(lambda: pytest.fail("no probe while healthy")) is None
    health.failed(_full())

    def still_full() -> None:
        raise _full()

    assert health.problem(still_full) == "insufficient_storage"
    conn = sqlite3.connect(tmp_path / "probe.db", isolation_level=None)
    assert health.problem(lambda: storage.probe_write(conn, threading.Lock())) is None
    assert health.problem(lambda: pytest.fail("recovered: no probe")) is None


def test_too_little_free_space_is_not_ready_before_any_write_fails(tmp_path: Path) -> None:
    health = storage.WriteHealth(tmp_path, min_free_bytes=2**62)
    assert health.problem(lambda: None) == "insufficient_storage"
