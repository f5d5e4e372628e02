"""Durable evidence, its idempotency record, its pending receipt, and client callbacks.

Why together: accepting evidence is one atomic fact — the stored document, the
response a replay must repeat, and the receipt MC owes the client are written
in one SQLite transaction (WAL, full fsync), so a restart loses nothing and a
crash cannot produce evidence without a receipt or a receipt without evidence.
The idempotency rules themselves are the seam's `IdempotencyLedger`.

Why a key's in-flight state lives in memory (`seam.idempotency.Claims`): one
process owns this database (single worker) and a crash ends every request it
was handling, so that state need not be committed — a committed marker cost
every publish a second fsync wait. `begin` claims the key and reads the
ledger (no commit); a fresh publish is ONE write: the record, its completed
ledger entry and its pending receipt. The claim ends when that write has
committed or failed, never while it could still commit.

Why group commit: the stored evidence (with its ledger record and receipt),
replay counts and the receipts' state changes are writes queued on the
database's group committer (seam/group_commit.py), so concurrent publishes
share one transaction and one fsync. `store` returns only once the
transaction holding the record has committed: a 201 still means durable.
Counters: `mc_evidence_commits_total` (fsyncs) vs `mc_evidence_rows_committed_total`.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from conductor.db import Database, utc_now
from seam import strict_json
from seam.group_commit import CommitObserver, Write
from seam.idempotency import Claims, IdempotencyLedger, Outcome

SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS evidence (
        id TEXT PRIMARY KEY,
        idempotency_key TEXT NOT NULL,
        client_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        received_at TEXT NOT NULL,
        api TEXT NOT NULL,
        document TEXT NOT NULL,
        replays INTEGER NOT NULL DEFAULT 0,
        UNIQUE (client_id, idempotency_key)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS receipts (
        evidence_id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        delivered_at TEXT
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS client_callbacks (
        client_id TEXT PRIMARY KEY,
        url TEXT,
        base_url TEXT
    )
    """,
    # The admin ledger query looks records up by document digest or by key alone (any client):
    # index searches, so a check costs the same with a million old records (docs/decisions.md).
    "CREATE INDEX IF NOT EXISTS evidence_by_digest ON evidence(digest)",
    "CREATE INDEX IF NOT EXISTS evidence_by_key ON evidence(idempotency_key)",
)


@dataclass(frozen=True)
class EvidenceRecord:
    evidence_id: str
    idempotency_key: str
    client_id: str
    digest: str
    received_at: str
    api: str
    document: dict[str, Any]
    replays: int = 0
    receipt_state: str | None = None
    receipt_attempts: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "evidence_id": self.evidence_id,
            "idempotency_key": self.idempotency_key,
            "client_id": self.client_id,
            "digest": self.digest,
            "received_at": self.received_at,
            "api": self.api,
            "replays": self.replays,
            "evidence": self.document,
            "receipt": {"state": self.receipt_state, "attempts": self.receipt_attempts},
        }


@dataclass(frozen=True)
class PendingReceipt:
    evidence_id: str
    client_id: str
    body: bytes
    attempts: int


_RECORD_SQL = """
    SELECT e.id, e.idempotency_key, e.client_id, e.digest, e.received_at, e.api, e.document, e.replays,
           r.state, COALESCE(r.attempts, 0)
    FROM evidence e LEFT JOIN receipts r ON r.evidence_id = e.id
"""


# The ledger queries' rows: the record's rowid first (the cursor: a rowid table's B-tree key, assigned
# in commit order, so a page "after" it misses nothing committed later; MC never VACUUMs).
_CURSOR_SQL = _RECORD_SQL.replace("SELECT e.id", "SELECT e.rowid, e.id", 1)


def _record(row: tuple) -> EvidenceRecord:
    return EvidenceRecord(
        evidence_id=row[0],
        idempotency_key=row[1],
        client_id=row[2],
        digest=row[3],
        received_at=row[4],
        api=row[5],
        document=strict_json.loads_stored(row[6]),
        replays=row[7],
        receipt_state=row[8],
        receipt_attempts=row[9],
    )


def ledger_key(client_id: str, key: str) -> str:
    """The idempotency ledger's key: scoped per client, so tenants never see each other's keys.
    Unambiguous because an Idempotency-Key is visible ASCII without spaces."""
    return f"{client_id} {key}"


def _migrate_to_client_scoped_keys(conn: sqlite3.Connection) -> None:
    """Databases from before keys were scoped: evidence UNIQUE(idempotency_key) becomes
    UNIQUE(client_id, idempotency_key) and each ledger key gets its owner's prefix."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='evidence'").fetchone()
    if row is None or "UNIQUE (client_id, idempotency_key)" in row[0]:
        return
    conn.execute("ALTER TABLE evidence RENAME TO evidence_unscoped")
    conn.execute(SCHEMA[0])
    conn.execute(
        "INSERT INTO evidence(id, idempotency_key, client_id, digest, received_at, api, document, replays)"
        " SELECT id, idempotency_key, client_id, digest, received_at, api, document, replays"
        " FROM evidence_unscoped"
    )
    conn.execute("DROP TABLE evidence_unscoped")
    conn.execute(
        "UPDATE idempotency SET key = (SELECT e.client_id || ' ' || e.idempotency_key FROM evidence e"
        " WHERE e.idempotency_key = idempotency.key) WHERE key IN (SELECT idempotency_key FROM evidence)"
    )


class EvidenceStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        # Lookups read on the ledger's own connection, not through the writer's lock.
        self.ledger = IdempotencyLedger(db.conn, db.lock, read_apart=True)
        self.claims = Claims()
        with db.transaction() as conn:
            _migrate_to_client_scoped_keys(conn)
            for statement in SCHEMA:
                conn.execute(statement)
            # One process owns this file (single worker): nothing can still be in flight at start.
            # Markers an older version committed are cleared (keys are claimed in memory now).
            conn.execute("DELETE FROM idempotency WHERE state='in_flight'")

    def observe_commits(self, observer: CommitObserver) -> None:
        """`observer(batch)` after each group commit of the evidence write path (for /metrics)."""
        self._db.committer.observe(observer)

    def close(self) -> None:
        """Close the ledger's lookup connection (before the database itself is closed)."""
        self.ledger.close()

    # -- idempotency (every key is the client's own: see ledger_key) --------------------------
    def begin(self, client_id: str, key: str, body_digest: str) -> Outcome:
        """Claim the key for this publish, without a commit: Fresh means the caller holds it and
        must end with `store*` (which releases it once its write has settled) or `abandon`.
        Never awaits, so the claim is atomic on the event loop; the ledger read is one lookup."""
        scoped = ledger_key(client_id, key)
        return self.claims.begin(scoped, body_digest, lambda: self.ledger.lookup(scoped, body_digest))

    def abandon(self, client_id: str, key: str) -> None:
        """Release the claim of a publish that will not write (nothing of it was committed)."""
        self.claims.release(ledger_key(client_id, key))

    def is_in_flight(self, client_id: str, key: str) -> bool:
        return ledger_key(client_id, key) in self.claims

    def note_replay(self, client_id: str, key: str) -> None:
        self._db.committer.run(
            lambda conn: conn.execute(
                "UPDATE evidence SET replays = replays + 1 WHERE client_id=? AND idempotency_key=?",
                (client_id, key),
            )
        )

    # -- evidence ----------------------------------------------------------------------------
    def store(
        self, record: EvidenceRecord, status: int, response: dict[str, Any], receipt_body: bytes
    ) -> None:
        """Evidence + completed idempotency record + pending receipt, atomically; returns once
        the transaction holding them has committed. Ends the claim `begin` gave."""
        self._submit_store(record, status, response, receipt_body).result()

    async def store_async(self, record: EvidenceRecord, *args: Any) -> None:
        """`store(record, status, response, receipt_body)` for the event loop (the 201 is sent after
        this returns: the record is durable)."""
        await asyncio.wrap_future(self._submit_store(record, *args))

    def _submit_store(
        self, record: EvidenceRecord, status: int, response: dict[str, Any], receipt_body: bytes
    ) -> Future:
        """Queue the publish's one write; the claim ends when that write has settled."""
        scoped = ledger_key(record.client_id, record.idempotency_key)
        try:
            future = self._db.committer.submit(
                self._store_write(record, status, response, receipt_body), rows=1
            )
        except BaseException:
            self.claims.release(scoped)
            raise
        return self.claims.release_when_settled(scoped, future)

    def _store_write(
        self, record: EvidenceRecord, status: int, response: dict[str, Any], receipt_body: bytes
    ) -> Write:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO evidence(id, idempotency_key, client_id, digest, received_at, api, document)"
                " VALUES (?,?,?,?,?,?,?)",
                (
                    record.evidence_id,
                    record.idempotency_key,
                    record.client_id,
                    record.digest,
                    record.received_at,
                    record.api,
                    json.dumps(record.document, sort_keys=True),
                ),
            )
            scoped = ledger_key(record.client_id, record.idempotency_key)
            self.ledger.record(scoped, record.digest, status, response)
            conn.execute(
                "INSERT INTO receipts(evidence_id, client_id, body, state) VALUES (?,?,?,'pending')",
                (record.evidence_id, record.client_id, receipt_body.decode("utf-8")),
            )

        return write

    def get(self, evidence_id: str) -> EvidenceRecord | None:
        rows = self._db.execute(_RECORD_SQL + " WHERE e.id=?", (evidence_id,))
        return _record(rows[0]) if rows else None

    def all(self) -> list[EvidenceRecord]:
        return [_record(row) for row in self._db.execute(_RECORD_SQL + " ORDER BY e.rowid")]

    # -- receipts ----------------------------------------------------------------------------
    def pending_receipts(self, client_id: str | None = None) -> list[PendingReceipt]:
        sql = "SELECT evidence_id, client_id, body, attempts FROM receipts WHERE state='pending'"
        params: tuple = ()
        if client_id is not None:
            sql += " AND client_id=?"
            params = (client_id,)
        rows = self._db.execute(sql + " ORDER BY rowid", params)
        return [PendingReceipt(r[0], r[1], r[2].encode("utf-8"), r[3]) for r in rows]

    def pending_receipt(self, evidence_id: str) -> PendingReceipt | None:
        rows = self._db.execute(
            "SELECT evidence_id, client_id, body, attempts FROM receipts"
            " WHERE evidence_id=? AND state='pending'",
            (evidence_id,),
        )
        if not rows:
            return None
        evidence_id, client_id, body, attempts = rows[0]
        return PendingReceipt(evidence_id, client_id, body.encode("utf-8"), attempts)

    def count_pending_receipts(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM receipts WHERE state='pending'")[0][0]

    # Receipt state changes go through the committer too: concurrent deliveries share fsyncs.
    def receipt_failed_attempt(self, evidence_id: str, error: str) -> int:
        def write(conn: sqlite3.Connection) -> int:
            conn.execute(
                "UPDATE receipts SET attempts = attempts + 1, last_error=? WHERE evidence_id=?",
                (error, evidence_id),
            )
            row = conn.execute("SELECT attempts FROM receipts WHERE evidence_id=?", (evidence_id,)).fetchone()
            return row[0] if row else 0

        return self._db.committer.run(write)

    def receipt_delivered(self, evidence_id: str) -> None:
        delivered_at = utc_now()
        self._db.committer.run(
            lambda conn: conn.execute(
                "UPDATE receipts SET state='delivered', attempts = attempts + 1, delivered_at=?,"
                " last_error=NULL WHERE evidence_id=?",
                (delivered_at, evidence_id),
            )
        )

    def receipt_given_up(self, evidence_id: str) -> None:
        self._db.committer.run(
            lambda conn: conn.execute(
                "UPDATE receipts SET state='failed' WHERE evidence_id=?", (evidence_id,)
            )
        )

    # -- client callbacks --------------------------------------------------------------------
    def callback(self, client_id: str) -> tuple[str | None, str | None]:
        rows = self._db.execute("SELECT url, base_url FROM client_callbacks WHERE client_id=?", (client_id,))
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    def set_callback(self, client_id: str, url: str | None, base_url: str | None) -> None:
        self._db.execute(
            "INSERT INTO client_callbacks(client_id, url, base_url) VALUES (?,?,?)"
            " ON CONFLICT(client_id) DO UPDATE SET url=excluded.url, base_url=excluded.base_url",
            (client_id, url, base_url),
        )

    # -- admin -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget evidence, idempotency records and receipts (client callbacks stay)."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM evidence")
            conn.execute("DELETE FROM receipts")
            self.ledger.reset()

    # -- ledger queries (admin): bounded pages, each an index search --------------------------
    def page(self, after: int, limit: int) -> list[tuple[int, EvidenceRecord]]:
        """Up to `limit` records stored after cursor `after`, oldest first, with their cursors."""
        rows = self._db.execute(_CURSOR_SQL + " WHERE e.rowid > ? ORDER BY e.rowid LIMIT ?", (after, limit))
        return [(row[0], _record(row[1:])) for row in rows]

    def matching(
        self, keys: list[str], digests: list[str], after: int, limit: int
    ) -> list[tuple[int, EvidenceRecord]]:
        """Records (any client) with one of these idempotency keys or document digests, after
        cursor `after`, oldest first, at most `limit`: two index searches, never a scan."""
        wanted = " UNION ".join(
            f"SELECT rowid FROM evidence WHERE {column} IN ({','.join('?' * len(values))})"
            for column, values in (("idempotency_key", keys), ("digest", digests))
            if values
        )
        rows = self._db.execute(
            _CURSOR_SQL + f" WHERE e.rowid IN ({wanted}) AND e.rowid > ? ORDER BY e.rowid LIMIT ?",
            (*keys, *digests, after, limit),
        )
        return [(row[0], _record(row[1:])) for row in rows]

    def counts(self) -> tuple[int, int]:
        """(records, distinct idempotency keys): counted on the key index, no document is read."""
        return self._db.execute("SELECT COUNT(*), COUNT(DISTINCT idempotency_key) FROM evidence")[0]

    def key_counts(self, keys: list[str]) -> dict[str, int]:
        """How many records each of these keys has (across clients), by index search."""
        if not keys:
            return {}
        rows = self._db.execute(
            "SELECT idempotency_key, COUNT(*) FROM evidence"
            f" WHERE idempotency_key IN ({','.join('?' * len(keys))}) GROUP BY idempotency_key",
            tuple(keys),
        )
        return dict(rows)
