"""COS's outbox queries are index searches (issue 16, "Cost that grows with history").

The outbox keeps every acknowledged entry, so a query that scans or sorts the whole table gets
slower with every run on a long-lived sandbox. Each statement the outbox runs for a lookup, the
publisher's due list and the listing filtered by state must search an index; only the due list
may sort, and it sorts the pending entries that are due (the backlog), not the history.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from companyos.outbox import Outbox

DUE = "SELECT * FROM outbox WHERE state='pending' AND next_attempt_at<=? ORDER BY seq LIMIT ?"
QUERIES = [
    ("lookup by id or key", "SELECT * FROM outbox WHERE evidence_id=? OR idempotency_key=?", ("k", "k")),
    ("due entries", DUE, (0, 10)),
    ("listing by state", "SELECT * FROM outbox WHERE state=? ORDER BY seq LIMIT ? OFFSET ?", ("x", 5, 0)),
    ("depth", "SELECT COUNT(*) FROM outbox WHERE state='pending'", ()),
]


@pytest.mark.parametrize(("what", "sql", "params"), QUERIES, ids=[q[0] for q in QUERIES])
def test_outbox_queries_search_an_index(tmp_path: Path, what: str, sql: str, params: tuple) -> None:
    box = Outbox(tmp_path)
    try:
        plan = [row[3] for row in box.conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
    finally:
        box.close()
    assert any(p.startswith("SEARCH") for p in plan), f"{what}: {plan}"
    assert not [p for p in plan if p.startswith("SCAN")], f"{what}: {plan}"
    if sql != DUE:
        assert not [p for p in plan if "TEMP B-TREE" in p], f"{what}: {plan}"
