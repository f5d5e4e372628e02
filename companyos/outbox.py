"""The durable evidence outbox: SQLite (WAL, synchronous=FULL) next to the idempotency ledger.

Why one database: an accepted evidence row and the ledger's record of the
202 that was sent for it are committed in the same transaction, so after a
kill -9 either both exist (the client's retry is a replay, and the
publisher will send it) or neither does (the retry is fresh). Nothing that
was answered 202 can be lost.

Why a key's in-flight state lives in memory (`seam.idempotency.Claims`): this
process is the only writer of its data dir and a crash ends every request it
was handling, so that state need not survive one — and a committed marker
cost every accept a second fsync wait. `begin` claims the key in memory
(atomic: a second request with the key while the first is handled gets the
seam's 409 `idempotency_key_in_flight`, or 422 with another body) and reads
the ledger on its own reader connection (a completed key is a replay or a
422: no commit). A fresh accept is then ONE write: the row and its completed
ledger record. The claim is released once that write has committed or
failed (a failed write leaves no trace, so a retry is fresh), never before.
Markers an older version left in the ledger are cleared at open.

Why group commit (seam/group_commit.py): every write of the outbox — the
accepted row with its ledger record, the publisher's and the receipts'
state changes — is a write queued on one committer thread, and concurrent
writes share one transaction and one fsync (`synchronous=FULL` stays).
`accept` returns only after the transaction holding its row has committed,
so a 202 still means durable. Counters: `cos_outbox_commits_total` (fsyncs)
vs `cos_outbox_rows_committed_total`.

States: pending (not yet confirmed by MC) → published (MC answered 201 or
a replay) → acknowledged (MC's signed receipt arrived). A receipt may
overtake the publish response; `published` never downgrades `acknowledged`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from companyos.policy_engine import rfc3339
from seam import group_commit, idempotency, storage, strict_json

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
-- the listing filtered by state, in seq order, without sorting every entry of that state
CREATE INDEX IF NOT EXISTS outbox_state_seq ON outbox(state, seq);
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
    def __init__(self, data_dir: Path, on_commit: group_commit.CommitObserver | None = None) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_FILE
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = idempotency.connect(str(self.path))
        # Lookups read on the ledger's own connection, not through the writer's lock.
        self.ledger = idempotency.IdempotencyLedger(self._conn, self._lock, read_apart=True)
        self.claims = idempotency.Claims()
        self.write_health = storage.WriteHealth(data_dir)
        self.committer = group_commit.GroupCommitter(
            self._conn, self._lock, self.write_health, name="cos-outbox"
        )
        if on_commit is not None:
            self.committer.observe(on_commit)
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
        self.committer.close()  # commits what was already submitted: those writers are waiting
        self.ledger.close()
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
        """Claim `key` for this request, without a commit: Fresh means the caller holds it and
        must end with `accept*` (which releases it once its write is settled) or `abandon`.
        Otherwise: InFlight/Mismatch (another request holds it), or Replay/Mismatch (completed).

        Never awaits, so on the event loop the claim is atomic; the ledger read is one index
        lookup on the reader connection (WAL: it does not wait for a commit in progress)."""
        return self.claims.begin(key, body_digest, lambda: self.ledger.lookup(key, body_digest))

    def abandon(self, key: str) -> None:
        """Release the claim of a request that will not write (nothing of it was committed)."""
        self.claims.release(key)

    def accept(self, key: str, body: bytes, body_digest: str, status: int) -> dict[str, Any]:
        """Store the entry and the response under `key` in one transaction; return the response
        once that transaction has committed. Ends the claim `begin` gave."""
        return self._submit_accept(key, body, body_digest, status).result()

    async def accept_async(self, key: str, body: bytes, body_digest: str, status: int) -> dict[str, Any]:
        """`accept` for the event loop (the 202 is sent after this returns: the row is durable)."""
        return await asyncio.wrap_future(self._submit_accept(key, body, body_digest, status))

    def _submit_accept(self, key: str, body: bytes, body_digest: str, status: int) -> Future:
        """Queue the accept's one write; the claim ends when that write has settled
        (`Claims.release_when_settled`), never while it could still commit."""
        try:
            _, write = self._accept_write(key, body, body_digest, status)
            future = self.committer.submit(write, rows=1)
        except BaseException:
            self.claims.release(key)
            raise
        return self.claims.release_when_settled(key, future)

    def _accept_write(
        self, key: str, body: bytes, body_digest: str, status: int
    ) -> tuple[dict[str, Any], group_commit.Write]:
        """The response a 202 carries, and the write (row + ledger record) that makes it true."""
        evidence_id = str(uuid.uuid4())
        response = {"evidence_id": evidence_id, "idempotency_key": key, "status": "accepted"}

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            conn.execute(
                "INSERT INTO outbox(evidence_id, idempotency_key, body, digest, state, accepted_at)"
                " VALUES (?,?,?,?,'pending',?)",
                (evidence_id, key, body, body_digest, time.time()),
            )
            self.ledger.record(key, body_digest, status, response)
            return response

        return response, write

    def accept_later(self, key: str, body: bytes, body_digest: str, status: int) -> dict[str, Any]:
        """Test-only mutation `cos.outbox-ack-before-durable`: a write-behind buffer.

        The response is returned at once and the row committed `WRITE_BEHIND_S` later, so a
        crash (or a read) in that window finds no trace of evidence that was answered 202.
        """
        response, write = self._accept_write(key, body, body_digest, status)

        def write_behind() -> None:  # the claim is held until the late write is settled
            self.claims.release_when_settled(key, self.committer.submit(write, rows=1))

        # Submitted later and never awaited: a crash or a close first loses it (StoreClosed),
        # exactly the loss this mutation stands for.
        timer = threading.Timer(WRITE_BEHIND_S, write_behind)
        timer.daemon = True
        timer.start()
        return response

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

    # State changes go through the committer too: concurrent publishes and receipts share fsyncs.
    def mark_published(self, evidence_id: str, mc_evidence_id: str | None, replayed: bool) -> None:
        now = time.time()
        self.committer.run(
            lambda conn: conn.execute(
                "UPDATE outbox SET state=CASE WHEN state='pending' THEN 'published' ELSE state END,"
                " published_at=COALESCE(published_at, ?), mc_evidence_id=COALESCE(?, mc_evidence_id),"
                " replayed=?, last_error=NULL, attempts=attempts+1 WHERE evidence_id=?",
                (now, mc_evidence_id, int(replayed), evidence_id),
            )
        )

    def schedule_retry(self, evidence_id: str, next_attempt_at: float, error: str) -> None:
        self.committer.run(
            lambda conn: conn.execute(
                "UPDATE outbox SET attempts=attempts+1, next_attempt_at=?, last_error=?"
                " WHERE evidence_id=? AND state='pending'",
                (next_attempt_at, error, evidence_id),
            )
        )

    def expedite(self) -> int:
        """Make every backed-off pending entry due now (MC is answering again)."""
        return self.committer.run(
            lambda conn: (
                conn.execute(
                    "UPDATE outbox SET next_attempt_at=0 WHERE state='pending' AND next_attempt_at>0"
                ).rowcount
            )
        )

    # -- receipts ---------------------------------------------------------------------------
    def acknowledge(self, key: str, mc_evidence_id: str | None) -> Entry | None:
        """Mark the entry with this idempotency key acknowledged; None when there is none."""
        now = time.time()

        def write(conn: sqlite3.Connection) -> tuple | None:
            conn.execute(
                "UPDATE outbox SET state='acknowledged', acknowledged_at=COALESCE(acknowledged_at, ?),"
                " published_at=COALESCE(published_at, ?), mc_evidence_id=COALESCE(?, mc_evidence_id)"
                " WHERE idempotency_key=?",
                (now, now, mc_evidence_id, key),
            )
            return conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE idempotency_key=?", (key,)).fetchone()

        row = self.committer.run(write)
        return _entry(row) if row else None

    def acknowledge_many(self, items: list[tuple[str, str | None]]) -> list[Entry]:
        """A batch of receipts (idempotency key, MC's id) in one write: all acknowledged, or, when a
        key has no entry, none — the KeyError names the first such key."""
        now = time.time()

        def write(conn: sqlite3.Connection) -> list[tuple]:
            rows = []
            for key, _ in items:
                row = conn.execute(
                    f"SELECT {_COLUMNS} FROM outbox WHERE idempotency_key=?", (key,)
                ).fetchone()
                if row is None:
                    raise KeyError(key)  # before any UPDATE: the savepoint holds nothing of this batch
                rows.append(row)
            for key, mc_evidence_id in items:
                conn.execute(
                    "UPDATE outbox SET state='acknowledged', acknowledged_at=COALESCE(acknowledged_at, ?),"
                    " published_at=COALESCE(published_at, ?), mc_evidence_id=COALESCE(?, mc_evidence_id)"
                    " WHERE idempotency_key=?",
                    (now, now, mc_evidence_id, key),
                )
            return rows

        return [_entry(row) for row in self.committer.run(write)]

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
