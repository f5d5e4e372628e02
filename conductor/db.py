"""The one SQLite database (WAL, full fsync) that holds MC's durable state.

Why one file and one lock: evidence, its idempotency record and its pending
receipt are written in a single transaction, so a crash can never leave
evidence without a receipt or a replay record without evidence. The
connection is shared by the stores and serialised by an RLock (the seam's
idempotency ledger takes the same lock).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from seam.idempotency import connect


class Database:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn: sqlite3.Connection = connect(str(path))
        self.lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT under the lock; rolled back on any exception."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def ping(self) -> bool:
        try:
            return self.execute("SELECT 1") == [(1,)]
        except sqlite3.Error:
            return False

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def utc_now() -> str:
    """An RFC 3339 UTC timestamp with milliseconds, as every stored record carries."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"
