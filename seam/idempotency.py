"""A durable idempotency ledger (SQLite, WAL) with the seam's replay rules.

Rules, identical at COS and MC:
- first request under a key → `Fresh`; the caller stores its effect and calls
  `complete` with the response it sent, in the same transaction if it can;
- same key, same body digest, completed → `Replay` of the stored response;
- same key, different body digest → `Mismatch` (422);
- same key while the first request is still being handled → `InFlight` (409).

Two ways to hold a key in flight:
- a committed marker (`IdempotencyLedger.begin` … `complete`, MC): costs a commit of its
  own before the effect's. A marker left by a crash is treated as abandoned after
  `stale_after_s`, so a client retry after a restart is not blocked forever;
- a claim in memory (`Claims`, then `IdempotencyLedger.lookup` … `record`, COS): for a
  store whose process is the only writer of its ledger. Requests in flight live only
  as long as that process, so their state needs no fsync: the effect and its completed
  record are the one commit of an accept.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Fresh:
    pass


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Mismatch:
    pass


@dataclass(frozen=True)
class InFlight:
    pass


Outcome = Fresh | Replay | Mismatch | InFlight

SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    body_digest TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    status INTEGER,
    response TEXT,
    started_at REAL NOT NULL
)
"""


def connect(path: str) -> sqlite3.Connection:
    """Open a SQLite database in WAL mode with full fsync on commit."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def connect_reader(path: str) -> sqlite3.Connection:
    """A second, read-only connection to a WAL database opened by `connect`.

    Why: in WAL mode a reader sees the last committed state without waiting for the writer,
    so a lookup is not held up by a group commit's fsync on the writer's connection."""
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA query_only=1")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _settled(row: tuple | None, body_digest: str) -> Outcome | None:
    """What a ledger row (body_digest, state, status, response) means for a request with this body."""
    if row is None:
        return None
    digest, state, status, response = row
    if digest != body_digest:
        return Mismatch()
    if state == "done":
        return Replay(status=status, body=json.loads(response))
    return InFlight()


class Claims:
    """Keys in flight in this process, in memory: `claim` is an atomic check-and-set.

    Why: a process that is the only writer of its ledger knows every request it is handling, and
    a crash ends them all, so their in-flight state need not be committed (no fsync before the
    effect's own). Thread-safe: the event loop and worker threads may both claim and release.
    The holder of a claim must `release` it once its write has committed or failed.
    """

    def __init__(self) -> None:
        self._held: dict[str, str] = {}  # key → body digest of the request holding it
        self._lock = threading.Lock()

    def claim(self, key: str, body_digest: str) -> Mismatch | InFlight | None:
        """None: the caller now holds `key`. Else why not (another body holds it: Mismatch)."""
        with self._lock:
            held = self._held.get(key)
            if held is None:
                self._held[key] = body_digest
                return None
        return InFlight() if held == body_digest else Mismatch()

    def begin(self, key: str, body_digest: str, lookup: Callable[[], Outcome | None]) -> Outcome:
        """Claim `key`, then ask the ledger (`lookup`, a read): Fresh means the caller holds the
        claim; any other answer holds nothing. Never awaits: atomic on an event loop."""
        held = self.claim(key, body_digest)
        if held is not None:
            return held
        try:
            settled = lookup()
        except BaseException:
            self.release(key)
            raise
        if settled is not None:
            self.release(key)
            return settled
        return Fresh()

    def release_when_settled(self, key: str, write: Future) -> Future:
        """Release `key` once the write that completes it has settled: committed (a retry reads
        the record), failed (nothing was written: a retry is fresh) or cancelled before it ran.
        A waiter cancelled while its write runs does not free the key before the commit ends."""
        write.add_done_callback(lambda _settled: self.release(key))
        return write

    def release(self, key: str) -> None:
        with self._lock:
            self._held.pop(key, None)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._held


class IdempotencyLedger:
    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: threading.RLock,
        stale_after_s: float = 60.0,
        *,
        read_apart: bool = False,
    ) -> None:
        """`read_apart`: `lookup` reads on a read-only connection of its own to the same file, so
        a lookup on the event loop never waits for the writer's lock (held through a commit's
        fsync). Its owner calls `close` before closing `conn`."""
        self._conn = conn
        self._lock = lock
        self._stale_after_s = stale_after_s
        # Keys whose failed request could not even delete its in-flight marker (a full disk fails
        # that DELETE too): this process knows they are not in flight, so a retry starts afresh.
        self._released: set[str] = set()
        with self._lock:
            conn.execute(SCHEMA)
            path = conn.execute("PRAGMA database_list").fetchone()[2] if read_apart else ""
        self._reader = connect_reader(path) if path else None
        self._reader_lock = threading.Lock()

    def close(self) -> None:
        """Close the lookup's own connection (if any); later lookups read through the writer's."""
        with self._reader_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def begin(self, key: str, body_digest: str) -> Outcome:
        with self._lock:
            row = self._conn.execute(
                "SELECT body_digest, state, status, response, started_at FROM idempotency WHERE key=?",
                (key,),
            ).fetchone()
            now = time.time()
            if row is None:
                self._conn.execute(
                    "INSERT INTO idempotency(key, body_digest, state, started_at) VALUES (?,?,'in_flight',?)",
                    (key, body_digest, now),
                )
                return Fresh()
            digest, state, status, response, started_at = row
            if digest != body_digest:
                return Mismatch()
            if state == "done":
                self._released.discard(key)
                return Replay(status=status, body=json.loads(response))
            if key in self._released or now - started_at > self._stale_after_s:
                self._conn.execute("UPDATE idempotency SET started_at=? WHERE key=?", (now, key))
                self._released.discard(key)
                return Fresh()
            return InFlight()

    def lookup(self, key: str, body_digest: str) -> Outcome | None:
        """Read-only, no commit: what the ledger holds for `key` (Replay, Mismatch, InFlight for a
        marker), or None when it holds nothing."""
        sql = "SELECT body_digest, state, status, response FROM idempotency WHERE key=?"
        with self._reader_lock:
            if self._reader is not None:
                rows = self._reader.execute(sql, (key,)).fetchall()  # to the end: no read stays open
                return _settled(rows[0] if rows else None, body_digest)
        with self._lock:
            rows = self._conn.execute(sql, (key,)).fetchall()
        return _settled(rows[0] if rows else None, body_digest)

    def record(self, key: str, body_digest: str, status: int, body: dict[str, Any]) -> None:
        """Store a completed request without a marker before it (its key was claimed in memory);
        call inside the transaction that stores its effect. A second record of a key fails on
        the primary key: a claim that was bypassed can never record a key twice."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO idempotency(key, body_digest, state, status, response, started_at)"
                " VALUES (?,?,'done',?,?,?)",
                (key, body_digest, status, json.dumps(body, sort_keys=True), time.time()),
            )

    def complete(self, key: str, status: int, body: dict[str, Any]) -> None:
        """Record the response; call inside the caller's transaction when possible."""
        with self._lock:
            self._conn.execute(
                "UPDATE idempotency SET state='done', status=?, response=? WHERE key=?",
                (status, json.dumps(body, sort_keys=True), key),
            )

    def abandon(self, key: str) -> None:
        """Forget an in-flight key whose handling failed, so a retry can succeed. Never raises:
        when the marker cannot be deleted (disk full), the key is released in memory instead."""
        with self._lock:
            try:
                self._conn.execute("DELETE FROM idempotency WHERE key=? AND state='in_flight'", (key,))
            except sqlite3.Error:
                self._released.add(key)

    def count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM idempotency WHERE state='done'").fetchone()[0]

    def reset(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM idempotency")
