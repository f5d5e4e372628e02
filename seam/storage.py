"""When a SQLite store cannot write: what to answer, and what /readyz should say.

Why: with the data volume full, both services answered every write with a
generic 500 while /readyz still said ready, so load balancers kept sending
writes. Here, for both services:

- `problem_for(exc)` turns a storage failure into the answer a client can act
  on: 507 `insufficient_storage` for a full volume, 503 `storage_unavailable`
  for I/O errors, a read-only or locked database — with `Retry-After`;
- `WriteHealth` remembers that a write failed for lack of space or I/O and
  tells /readyz "not ready" until the store can write again: free space on
  the volume is back above a floor *and* a small probe write commits. Nothing
  needs a restart: the next /readyz (or the next successful write) clears it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("seam.storage")

# Primary SQLite result codes (https://sqlite.org/rescode.html).
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CORRUPT = 5, 6, 8, 10, 11
SQLITE_FULL, SQLITE_CANTOPEN = 13, 14
_UNAVAILABLE = {SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN}
MIN_FREE_BYTES = 256 * 1024  # four of the largest evidence bodies, plus WAL room
RETRY_AFTER_S = 30

PROBE_SCHEMA = "CREATE TABLE IF NOT EXISTS write_probe (id INTEGER PRIMARY KEY, at REAL NOT NULL)"


def primary_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    if isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc):
        return SQLITE_FULL
    return None


def problem_for(exc: BaseException) -> tuple[int, str, str] | None:
    """(status, reason, detail) for a storage failure a client should retry later, else None."""
    code = primary_code(exc)
    if code == SQLITE_FULL:
        return 507, "insufficient_storage", "the data volume is full: nothing was stored, retry later"
    if code in _UNAVAILABLE:
        return 503, "storage_unavailable", "storage cannot take writes right now: nothing was stored"
    return None


def rollback_quietly(conn: sqlite3.Connection) -> None:
    """ROLLBACK if a transaction is still open: after SQLITE_FULL SQLite may already have rolled
    it back, and a failing ROLLBACK must not replace the error that explains what happened."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


class WriteHealth:
    """Whether the store at `directory` can write; shared by the write path and /readyz."""

    def __init__(self, directory: Path, min_free_bytes: int = MIN_FREE_BYTES) -> None:
        self._directory = directory
        self._min_free = min_free_bytes
        self._lock = threading.Lock()
        self._failure: str | None = None

    def failed(self, exc: BaseException) -> None:
        answer = problem_for(exc)
        if answer is None:
            return
        with self._lock:
            if self._failure is None:
                log.warning("store at %s cannot write (%s): not ready until it can", self._directory, exc)
            self._failure = answer[1]

    def succeeded(self) -> None:
        with self._lock:
            if self._failure is not None:
                log.info("store at %s writes again: ready", self._directory)
            self._failure = None

    def free_bytes(self) -> int:
        st = os.statvfs(self._directory)
        return st.f_bavail * st.f_frsize

    def problem(self, probe: Callable[[], None]) -> str | None:
        """None when writable; else the reason (`insufficient_storage`, `storage_unavailable`).
        Runs `probe` (a tiny committed write) only after a failure, to find out it recovered."""
        try:
            if self.free_bytes() < self._min_free:
                return "insufficient_storage"
        except OSError:
            return "storage_unavailable"
        with self._lock:
            failure = self._failure
        if failure is None:
            return None
        try:
            probe()
        except sqlite3.Error as exc:
            self.failed(exc)
            return failure
        self.succeeded()
        return None


def probe_write(conn: sqlite3.Connection, lock: threading.RLock | threading.Lock) -> None:
    """One small committed write (a row in `write_probe`), under the store's lock."""
    with lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(PROBE_SCHEMA)
            conn.execute("INSERT OR REPLACE INTO write_probe(id, at) VALUES (1, ?)", (time.time(),))
            conn.execute("COMMIT")
        except BaseException:
            rollback_quietly(conn)
            raise
