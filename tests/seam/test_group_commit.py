"""seam/group_commit.py: concurrent writes share a transaction; a bad write sinks only itself;
a failed commit (a really full volume) fails its whole batch and releases the keys it held."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import Future, wait
from pathlib import Path

import pytest

from seam import idempotency, storage
from seam.group_commit import Batch, GroupCommitter, StoreClosed
from tests.disk_full import fill, tiny_volume_fixture  # noqa: F401 - the tiny_volume fixture

SCHEMA = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v BLOB NOT NULL)"


class Store:
    """A WAL database with the ledger and a committer, as COS's outbox and MC's store build them."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "store.sqlite3"
        self.conn = idempotency.connect(str(self.path))
        self.lock = threading.RLock()
        self.ledger = idempotency.IdempotencyLedger(self.conn, self.lock)
        self.health = storage.WriteHealth(directory)
        self.conn.execute(SCHEMA)
        self.committer = GroupCommitter(self.conn, self.lock, self.health, name="test")
        self.batches: list[Batch] = []
        self.committer.observe(self.batches.append)

    def insert(self, key: str, value: bytes = b"v") -> Future:
        return self.committer.submit(
            lambda conn: conn.execute("INSERT INTO t(k, v) VALUES (?, ?)", (key, value)).rowcount, rows=1
        )

    def begin(self, key: str) -> Future:
        def undo(outcome: idempotency.Outcome) -> None:
            if isinstance(outcome, idempotency.Fresh):
                self.ledger.abandon(key)

        return self.committer.submit(lambda _conn: self.ledger.begin(key, "digest"), undo=undo)

    def committed_keys(self) -> set[str]:
        """What another connection (another process after a crash) sees: only committed rows."""
        with sqlite3.connect(self.path) as other:
            return {k for (k,) in other.execute("SELECT k FROM t")}

    def close(self) -> None:
        self.committer.close()
        self.conn.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path)
    yield s
    s.close()


def results(futures: list[Future]) -> list[object]:
    done, not_done = wait(futures, timeout=10)
    assert not not_done, f"{len(not_done)} writes never resolved"
    return [f.exception() or f.result() for f in futures]


def test_a_burst_shares_transactions_and_each_future_waits_for_its_commit(store: Store) -> None:
    # While the store's lock is held (a commit in progress elsewhere), 50 writers queue up.
    with store.lock:
        futures = [store.insert(f"k{i}") for i in range(50)]
        assert not any(f.done() for f in futures), "a write resolved before any commit could happen"
    assert results(futures) == [1] * 50
    assert store.committed_keys() == {f"k{i}" for i in range(50)}
    stats = store.committer.stats
    assert stats.rows == 50 and stats.writes == 50
    assert stats.commits <= 2, f"50 queued writes took {stats.commits} commits"
    # how the 50 split between the (at most) two commits depends on when the committer thread took
    # its first batch (on a loaded machine: while this thread was still queueing); the counter
    # must name the larger one
    assert stats.largest_batch == max(b.rows for b in store.batches)
    assert sum(b.rows for b in store.batches) == 50 and len(store.batches) == stats.commits


def test_concurrent_writers_on_threads_get_fewer_commits_than_rows(store: Store) -> None:
    start = threading.Barrier(40)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        start.wait(timeout=10)
        try:
            for i in range(5):
                store.committer.run(
                    lambda conn, k=f"t{n}-{i}": conn.execute("INSERT INTO t(k, v) VALUES (?, 'v')", (k,)),
                    rows=1,
                )
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert len(store.committed_keys()) == 200
    stats = store.committer.stats
    assert stats.rows == 200
    assert stats.commits < stats.rows, f"200 rows from 40 concurrent writers took {stats.commits} commits"


def test_writes_of_one_batch_run_in_order_and_see_each_other(store: Store) -> None:
    with store.lock:
        first, second = store.begin("same-key"), store.begin("same-key")
    assert isinstance(first.result(timeout=10), idempotency.Fresh)
    assert isinstance(second.result(timeout=10), idempotency.InFlight)  # exactly as if serial


def test_a_failing_write_does_not_sink_its_neighbours(store: Store) -> None:
    assert store.insert("taken").result(timeout=10) == 1

    def not_bindable(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t(k, v) VALUES (?, 'v')", ("\ud800",))  # a lone surrogate

    with store.lock:
        before = store.insert("a")
        duplicate = store.insert("taken")  # UNIQUE constraint
        poison = store.committer.submit(not_bindable, rows=1)
        after = store.insert("b")
    outcomes = results([before, duplicate, poison, after])
    assert outcomes[0] == 1 and outcomes[3] == 1
    assert isinstance(outcomes[1], sqlite3.IntegrityError)
    assert isinstance(outcomes[2], UnicodeEncodeError)
    assert store.committed_keys() == {"taken", "a", "b"}
    assert store.committer.stats.rows == 3  # the failed writes are not counted
    assert store.health.problem(lambda: None) is None  # a bad row is no storage failure


def test_a_lookup_that_changes_nothing_is_no_commit(store: Store) -> None:
    assert isinstance(store.begin("k").result(timeout=10), idempotency.Fresh)
    commits = store.committer.stats.commits
    assert isinstance(store.begin("k").result(timeout=10), idempotency.InFlight)
    assert store.committer.stats.commits == commits


def test_a_full_volume_fails_the_whole_batch_and_releases_its_keys(tiny_volume: Path) -> None:
    store = Store(tiny_volume)
    try:
        assert isinstance(store.begin("before").result(timeout=10), idempotency.Fresh)
        filler = fill(tiny_volume, leave_bytes=16 * 1024)
        with store.lock:
            claims = [store.begin(f"key-{i}") for i in range(3)]
            rows = [store.insert(f"big-{i}", b"x" * 60_000) for i in range(3)]
        outcomes = results(claims + rows)
        assert all(isinstance(o, sqlite3.Error) for o in outcomes), outcomes
        assert len({id(o) for o in outcomes}) == 1, "every waiter gets the same error"
        assert storage.problem_for(outcomes[0])[:2] == (507, "insufficient_storage")  # type: ignore[index]
        assert store.health.problem(lambda: None) == "insufficient_storage"
        assert store.committer.stats.failed_batches >= 1
        # the claims of the failed batch are released: a retry is fresh, not 409 "in flight"
        filler.unlink()
        assert [type(store.begin(f"key-{i}").result(timeout=10)) for i in range(3)] == [idempotency.Fresh] * 3
        assert store.insert("after").result(timeout=10) == 1
        assert store.committed_keys() == {"after"}
    finally:
        store.close()


def test_close_commits_what_was_submitted_and_refuses_the_rest(tmp_path: Path) -> None:
    store = Store(tmp_path)
    with store.lock:
        queued = [store.insert(f"k{i}") for i in range(5)]
        closing = threading.Thread(target=store.committer.close)
        closing.start()
    closing.join(timeout=10)
    assert results(queued) == [1] * 5
    late = store.insert("late")
    with pytest.raises(StoreClosed):
        late.result(timeout=1)
    store.conn.close()
    assert store.committed_keys() == {f"k{i}" for i in range(5)}


def test_a_cancelled_waiter_is_not_written(store: Store) -> None:
    with store.lock:
        kept, dropped = store.insert("kept"), store.insert("dropped")
        assert dropped.cancel()
    assert kept.result(timeout=10) == 1
    assert store.committed_keys() == {"kept"}


def test_waiting_on_the_committer_from_its_own_thread_is_refused(store: Store) -> None:
    inner = store.committer.submit(lambda _conn: store.committer.run(lambda _c: None))
    with pytest.raises(RuntimeError, match="its own committer"):
        inner.result(timeout=10)
