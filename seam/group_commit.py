"""Group commit: concurrent writers share one SQLite transaction and one fsync.

Why: with `synchronous=FULL` in WAL mode every COMMIT waits for an fsync of the
WAL, and each accepted evidence paid its own (two, with the idempotency
marker). A single committer thread drains a queue of pending writes and runs
all of them in one `BEGIN IMMEDIATE … COMMIT`; while it waits for that fsync
the next writers queue up and go together in the next one. Nobody waits for a
timer: a lone writer is committed at once, a burst is committed in a few
transactions.

What a caller must know:
- a write is a function `fn(conn) -> result` run on the committer thread under
  the store's lock; its future resolves only after the transaction holding it
  has committed (durable), so a service may answer 2xx when it resolves;
- each write runs inside its own SAVEPOINT: a write that raises (a constraint,
  a value SQLite cannot bind) fails only its own future, its neighbours commit;
- a storage failure (full volume, I/O, read-only: `seam.storage.problem_for`)
  or a failed COMMIT fails every write of that batch with the same exception,
  marks the store's `WriteHealth` failed, and calls each executed write's
  `undo(result)` so it can release what it held in memory (an idempotency key);
- writes of a batch run in the order they were submitted, so two writes of
  the same key in one batch see each other exactly as they would serially.

Both services use it: COS's outbox (`companyos/outbox.py`) and MC's evidence
store (`conductor/evidence_store.py`). Counters of commits, writes and rows
are kept here and passed to observers; `CommitCounters` puts them on a
service's /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter

from seam.storage import WriteHealth, problem_for, rollback_quietly

T = TypeVar("T")
log = logging.getLogger("seam.group_commit")

MAX_BATCH = 512  # bounds the time the store's lock is held by one transaction
CLOSE_TIMEOUT_S = 10.0

Write = Callable[[sqlite3.Connection], Any]
Undo = Callable[[Any], None]
CommitObserver = Callable[["Batch"], None]


@dataclass(frozen=True)
class Batch:
    """What one committed transaction held: `writes` that succeeded, `rows` they declared."""

    writes: int
    rows: int


@dataclass
class _Pending:
    fn: Write
    future: Future
    rows: int
    undo: Undo | None


@dataclass
class Stats:
    """Totals since start (read by tests and the bench; observers get each batch)."""

    commits: int = 0
    writes: int = 0
    rows: int = 0
    failed_batches: int = 0
    largest_batch: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, batch: Batch) -> None:
        with self._lock:
            self.commits += 1
            self.writes += batch.writes
            self.rows += batch.rows
            self.largest_batch = max(self.largest_batch, batch.writes)


class CommitCounters:
    """`<prefix>_commits_total` (transactions that wrote: one WAL fsync each with synchronous=FULL),
    `<prefix>_writes_committed_total` and `<prefix>_rows_committed_total` on a service's registry.
    Pass the instance to `GroupCommitter.observe`: rows/commit is how much group commit shares."""

    def __init__(self, prefix: str, store: str, registry: CollectorRegistry) -> None:
        self.commits = Counter(
            f"{prefix}_commits", f"{store} transactions committed (one fsync each).", registry=registry
        )
        self.writes = Counter(
            f"{prefix}_writes_committed",
            f"{store} writes committed (evidence, state changes).",
            registry=registry,
        )
        self.rows = Counter(
            f"{prefix}_rows_committed", f"Evidence rows committed to the {store.lower()}.", registry=registry
        )

    def __call__(self, batch: Batch) -> None:
        self.commits.inc()
        self.writes.inc(batch.writes)
        self.rows.inc(batch.rows)


_STOP = object()


class StoreClosed(sqlite3.ProgrammingError):
    """The store was closed before this write could be committed."""


class GroupCommitter:
    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: threading.RLock,
        write_health: WriteHealth,
        *,
        name: str,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._conn = conn
        self._lock = lock
        self._health = write_health
        self._name = name
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._state = threading.Lock()  # guards _closed and _thread
        self._closed = False
        self._thread: threading.Thread | None = None
        self._observers: list[CommitObserver] = []
        self.stats = Stats()

    def observe(self, observer: CommitObserver) -> None:
        """Call `observer(batch)` after every committed transaction (on the committer thread)."""
        self._observers.append(observer)

    # -- submitting ----------------------------------------------------------------------------
    def submit(self, fn: Write, *, rows: int = 0, undo: Undo | None = None) -> Future:
        """Queue `fn` for the next group commit; the future resolves once it is durable.

        `rows` is what this write adds to the rows counter (an accepted evidence: 1; a marker
        or a state change: 0). `undo(result)` runs if `fn` succeeded but its batch did not commit.
        """
        future: Future = Future()
        with self._state:
            if self._closed:
                future.set_exception(StoreClosed(f"{self._name} is closed"))
                return future
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name=f"group-commit-{self._name}", daemon=True
                )
                self._thread.start()
            self._queue.put(_Pending(fn, future, rows, undo))
        return future

    def run(self, fn: Write, *, rows: int = 0, undo: Undo | None = None) -> Any:
        """Submit and wait (for callers on a worker thread; never on the committer thread)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a group-commit write cannot wait for its own committer")
        return self.submit(fn, rows=rows, undo=undo).result()

    async def run_async(self, fn: Write, *, rows: int = 0, undo: Undo | None = None) -> Any:
        """Submit and await without holding a worker thread, so a burst is not capped by a pool."""
        return await asyncio.wrap_future(self.submit(fn, rows=rows, undo=undo))

    def close(self) -> None:
        """Commit what was submitted before the close, then stop; later writes fail (StoreClosed)."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join(CLOSE_TIMEOUT_S)

    # -- the committer thread ------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            try:
                self._commit(batch)
            except BaseException as exc:  # never leave a waiter hanging, never kill the loop
                log.exception("group commit of %s failed unexpectedly", self._name)
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
            if stop:
                return

    def _commit(self, batch: list[_Pending]) -> None:
        # A waiter that was cancelled before its write ran (its client went away) is skipped.
        live = [p for p in batch if p.future.set_running_or_notify_cancel()]
        if not live:
            return
        done: list[tuple[_Pending, Any]] = []
        failed: list[tuple[_Pending, BaseException]] = []
        with self._lock:
            conn = self._conn
            writes = rows = 0
            try:
                conn.execute("BEGIN IMMEDIATE")
                for pending in live:
                    conn.execute("SAVEPOINT group_write")
                    before = conn.total_changes
                    try:
                        result = pending.fn(conn)
                    except Exception as exc:
                        if problem_for(exc) is not None or not conn.in_transaction:
                            raise  # the store itself failed: nothing in this batch can commit
                        conn.execute("ROLLBACK TO group_write")
                        conn.execute("RELEASE group_write")
                        failed.append((pending, exc))
                    else:
                        if conn.total_changes != before:  # a lookup (a replay) is no write
                            writes += 1
                            rows += pending.rows
                        conn.execute("RELEASE group_write")
                        done.append((pending, result))
                conn.execute("COMMIT")
            except BaseException as exc:
                rollback_quietly(conn)  # SQLITE_FULL may have rolled back already
                self._health.failed(exc)  # a full volume makes /readyz say not ready
                for pending, result in done:
                    if pending.undo is not None:
                        try:
                            pending.undo(result)
                        except Exception:  # an undo must not hide the failure it reacts to
                            log.exception("undo after a failed group commit of %s", self._name)
                for pending in live:
                    pending.future.set_exception(exc)
                self.stats.failed_batches += 1
                return
        self._health.succeeded()
        if writes:  # a transaction that changed nothing wrote no WAL frame: no fsync to count
            committed = Batch(writes=writes, rows=rows)
            self.stats.add(committed)
            for observer in self._observers:
                with contextlib.suppress(Exception):
                    observer(committed)
        for pending, result in done:
            pending.future.set_result(result)
        for pending, exc in failed:
            pending.future.set_exception(exc)
