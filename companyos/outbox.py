"""The durable evidence outbox: SQLite (WAL, synchronous=FULL) next to the idempotency ledger.

Why one database: an accepted evidence row and the ledger's record of the
202 that was sent for it are committed in the same transaction, so after a
kill -9 either both exist (the client's retry is a replay, and the
publisher will send it) or neither does (the retry is fresh). Nothing that
was answered 202 can be lost.

Why the ledger's in-flight marker is committed before the row: a second
request with the same key while the first is still being handled gets the
seam's 409 `idempotency_key_in_flight`. Markers left by a crashed process
are cleared at open — this process is the only writer.

States: pending (not yet confirmed by MC) → published (MC answered 201 or
a replay) → acknowledged (MC's signed receipt arrived). A receipt may
overtake the publish response; `published` never downgrades `acknowledged`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companyos.policy_engine import rfc3339
from seam import idempotency, storage, strict_json

DB_FILE = "outbox.sqlite3"
WRITE_BEHIND_S = 1.0  # only under the test-only mutation cos.outbox-ack-before-durable

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    evidence_id TEXT NOT NULL UNIQUE,
    idempotency_key TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,
    digest TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'published', 'acknowledged')),
    accepted_at REAL NOT NULL,
    published_at REAL,
    acknowledged_at REAL,
    mc_evidence_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    replayed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_at);
"""

_COLUMNS = (
    "seq, evidence_id, idempotency_key, body, digest, state, accepted_at, published_at, "
    "acknowledged_at, mc_evidence_id, attempts, next_attempt_at, last_error, replayed"
)


@dataclass(frozen=True)
class Entry:
    seq: int
    evidence_id: str
    idempotency_key: str
    body: bytes
    digest: str
    state: str
    accepted_at: float
    published_at: float | None
    acknowledged_at: float | None
    mc_evidence_id: str | None
    attempts: int
    next_attempt_at: float
    last_error: str | None
    replayed: bool

    def describe(self, with_document: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "evidence_id": self.evidence_id,
            "idempotency_key": self.idempotency_key,
            "state": self.state,
            "mc_evidence_id": self.mc_evidence_id,
            "digest": self.digest,
            "accepted_at": rfc3339(self.accepted_at),
            "published_at": rfc3339(self.published_at) if self.published_at else None,
            "acknowledged_at": rfc3339(self.acknowledged_at) if self.acknowledged_at else None,
            "attempts": self.attempts,
            "last_error": self.last_error,
        }
        if with_document:
            out["document"] = strict_json.loads_stored(self.body)  # rows may predate the strict door
        return out


def _entry(row: tuple) -> Entry:
    return Entry(*row[:13], replayed=bool(row[13]))


class Outbox:
    def __init__(self, data_dir: Path, stale_after_s: float = 60.0) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_FILE
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = idempotency.connect(str(self.path))
        self.ledger = idempotency.IdempotencyLedger(self._conn, self._lock, stale_after_s=stale_after_s)
        self.write_health = storage.WriteHealth(data_dir)
        with self._lock:
            self._conn.executescript(SCHEMA)
            # Markers of requests a previous (crashed) process never finished: it cannot finish them now.
            self._conn.execute("DELETE FROM idempotency WHERE state='in_flight'")

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError("outbox is closed")
        return self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def write_problem(self) -> str | None:
        """None if the outbox can take writes now, else why not (seam/storage.py)."""
        return self.write_health.problem(lambda: storage.probe_write(self.conn, self._lock))

    def ping(self) -> bool:
        try:
            with self._lock:
                self.conn.execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    # -- write path -------------------------------------------------------------------------
    def begin(self, key: str, body_digest: str) -> idempotency.Outcome:
        return self.ledger.begin(key, body_digest)

    def abandon(self, key: str) -> None:
        self.ledger.abandon(key)

    def accept(self, key: str, body: bytes, body_digest: str, status: int) -> dict[str, Any]:
        """Store the entry and the response under `key` in one transaction; return the response."""
        evidence_id = str(uuid.uuid4())
        response = {"evidence_id": evidence_id, "idempotency_key": key, "status": "accepted"}
        self._commit(evidence_id, key, body, body_digest, status, response)
        return response

    def accept_later(self, key: str, body: bytes, body_digest: str, status: int) -> dict[str, Any]:
        """Test-only mutation `cos.outbox-ack-before-durable`: a write-behind buffer.

        The response is returned at once and the row committed `WRITE_BEHIND_S` later, so a
        crash (or a read) in that window finds no trace of evidence that was answered 202.
        """
        evidence_id = str(uuid.uuid4())
        response = {"evidence_id": evidence_id, "idempotency_key": key, "status": "accepted"}

        def commit_later() -> None:
            try:
                self._commit(evidence_id, key, body, body_digest, status, response)
            except sqlite3.Error:
                pass  # the outbox was closed first: exactly the loss this mutation stands for

        timer = threading.Timer(WRITE_BEHIND_S, commit_later)
        timer.daemon = True
        timer.start()
        return response

    def _commit(
        self, evidence_id: str, key: str, body: bytes, body_digest: str, status: int, response: dict[str, Any]
    ) -> None:
        with self._lock:
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(
                        "INSERT INTO outbox(evidence_id, idempotency_key, body, digest, state, accepted_at)"
                        " VALUES (?,?,?,?,'pending',?)",
                        (evidence_id, key, body, body_digest, time.time()),
                    )
                    self.ledger.complete(key, status, response)
                    conn.execute("COMMIT")
                except BaseException:
                    storage.rollback_quietly(conn)  # SQLITE_FULL may have rolled back already
                    raise
            except sqlite3.Error as exc:
                self.write_health.failed(exc)  # a full volume makes /readyz say not ready
                raise
            self.write_health.succeeded()

    # -- publisher --------------------------------------------------------------------------
    def due(self, now: float, limit: int) -> list[Entry]:
        with self._lock:
            rows = self.conn.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE state='pending' AND next_attempt_at<=?"
                " ORDER BY seq LIMIT ?",
                (now, limit),
            ).fetchall()
        return [_entry(r) for r in rows]

    def next_due_at(self) -> float | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE state='pending'"
            ).fetchone()
        return row[0] if row else None

    def mark_published(self, evidence_id: str, mc_evidence_id: str | None, replayed: bool) -> None:
        now = time.time()
        with self._lock:
            self.conn.execute(
                "UPDATE outbox SET state=CASE WHEN state='pending' THEN 'published' ELSE state END,"
                " published_at=COALESCE(published_at, ?), mc_evidence_id=COALESCE(?, mc_evidence_id),"
                " replayed=?, last_error=NULL, attempts=attempts+1 WHERE evidence_id=?",
                (now, mc_evidence_id, int(replayed), evidence_id),
            )

    def schedule_retry(self, evidence_id: str, next_attempt_at: float, error: str) -> None:
        with self._lock:
            self.conn.execute(
                "UPDATE outbox SET attempts=attempts+1, next_attempt_at=?, last_error=?"
                " WHERE evidence_id=? AND state='pending'",
                (next_attempt_at, error, evidence_id),
            )

    def expedite(self) -> int:
        """Make every backed-off pending entry due now (MC is answering again)."""
        with self._lock:
            cur = self.conn.execute(
                "UPDATE outbox SET next_attempt_at=0 WHERE state='pending' AND next_attempt_at>0"
            )
            return cur.rowcount

    # -- receipts ---------------------------------------------------------------------------
    def acknowledge(self, key: str, mc_evidence_id: str | None) -> Entry | None:
        """Mark the entry with this idempotency key acknowledged; None when there is none."""
        now = time.time()
        with self._lock:
            self.conn.execute(
                "UPDATE outbox SET state='acknowledged', acknowledged_at=COALESCE(acknowledged_at, ?),"
                " published_at=COALESCE(published_at, ?), mc_evidence_id=COALESCE(?, mc_evidence_id)"
                " WHERE idempotency_key=?",
                (now, now, mc_evidence_id, key),
            )
            row = self.conn.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE idempotency_key=?", (key,)
            ).fetchone()
        return _entry(row) if row else None

    # -- reads ------------------------------------------------------------------------------
    def get(self, evidence_id: str) -> Entry | None:
        with self._lock:
            row = self.conn.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE evidence_id=? OR idempotency_key=?",
                (evidence_id, evidence_id),
            ).fetchone()
        return _entry(row) if row else None

    def entries(self, state: str | None = None, limit: int = 1000, offset: int = 0) -> list[Entry]:
        where, args = ("WHERE state=?", (state,)) if state else ("", ())
        with self._lock:
            rows = self.conn.execute(
                f"SELECT {_COLUMNS} FROM outbox {where} ORDER BY seq LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
        return [_entry(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
        out = {"pending": 0, "published": 0, "acknowledged": 0}
        out.update({state: n for state, n in rows})
        return out

    def depth(self) -> int:
        with self._lock:
            return self.conn.execute("SELECT COUNT(*) FROM outbox WHERE state='pending'").fetchone()[0]
