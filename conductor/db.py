"""The one SQLite database (WAL, full fsync) that holds MC's durable state.

Why one file and one lock: evidence, its idempotency record and its pending
receipt are written in a single transaction, so a crash can never leave
evidence without a receipt or a replay record without evidence. The
connection is shared by the stores and serialised by an RLock (the seam's
idempotency ledger takes the same lock).

Why a group committer (seam/group_commit.py): the evidence write path —
stored evidence with its ledger record and receipt, receipt state changes —
queues its writes on `committer`, so concurrent publishes share one
transaction and one fsync (`synchronous=FULL` stays). Other writers (packs,
admin) keep `transaction()`; both hold the same lock.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from seam.group_commit import GroupCommitter
from seam.idempotency import connect
from seam.storage import WriteHealth, probe_write, rollback_quietly


class Database:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.conn: sqlite3.Connection = connect(str(path))
        self.lock = threading.RLock()
        self.write_health = WriteHealth(path.parent)
        self.committer = GroupCommitter(self.conn, self.lock, self.write_health, name="mc-evidence")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT under the lock; rolled back on any exception. A write that
        fails for lack of space or I/O marks the store not ready (seam/storage.py)."""
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                    self.conn.execute("COMMIT")
                except BaseException:
                    rollback_quietly(self.conn)
                    raise
            except sqlite3.Error as exc:
                self.write_health.failed(exc)
                raise
            self.write_health.succeeded()

    def write_problem(self) -> str | None:
        """None if the store can take writes now, else why not (for /readyz)."""
        return self.write_health.problem(lambda: probe_write(self.conn, self.lock))

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def ping(self) -> bool:
        try:
            return self.execute("SELECT 1") == [(1,)]
        except sqlite3.Error:
            return False

    def close(self) -> None:
        self.committer.close()  # commits what was already submitted: those writers are waiting
        with self.lock:
            self.conn.close()


def utc_now() -> str:
    """An RFC 3339 UTC timestamp with milliseconds, as every stored record carries."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"
