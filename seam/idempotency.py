"""A durable idempotency ledger (SQLite, WAL) with the seam's replay rules.

Rules, identical at COS and MC:
- first request under a key → `Fresh`; the caller stores its effect and calls
  `complete` with the response it sent, in the same transaction if it can;
- same key, same body digest, completed → `Replay` of the stored response;
- same key, different body digest → `Mismatch` (422);
- same key while the first request is still being handled → `InFlight` (409).

An in-flight marker left by a crash is treated as abandoned after
`stale_after_s`, so a client retry after a restart is not blocked forever.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
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


class IdempotencyLedger:
    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock, stale_after_s: float = 60.0) -> None:
        self._conn = conn
        self._lock = lock
        self._stale_after_s = stale_after_s
        # Keys whose failed request could not even delete its in-flight marker (a full disk fails
        # that DELETE too): this process knows they are not in flight, so a retry starts afresh.
        self._released: set[str] = set()
        with self._lock:
            conn.execute(SCHEMA)

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
