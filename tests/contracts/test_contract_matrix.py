"""can-i-deploy answers from the file matrix: yes only when every integration is verified."""

from __future__ import annotations

from contracts import COS, MC, SDK, matrix


def _row(consumer, cv, provider, pv, success=True, at="2026-01-01T00:00:00Z") -> matrix.Row:
    return matrix.Row(consumer, cv, provider, pv, "sha", success, 10, 0 if success else 1, at)


def test_yes_when_every_integration_of_the_version_is_verified() -> None:
    rows = [_row(COS, "c1", MC, "m1"), _row(MC, "m1", COS, "c1"), _row(SDK, "s1", COS, "c1")]
    answer = matrix.can_i_deploy(COS, "c1", rows=rows)
    assert answer.deployable, answer.render()
    assert "Computer says yes" in answer.render()


def test_no_when_an_integration_is_unverified() -> None:
    rows = [_row(COS, "c1", MC, "m1"), _row(SDK, "s1", COS, "c1")]
    answer = matrix.can_i_deploy(COS, "c1", rows=rows)
    assert not answer.deployable
    assert any("maestro-conductor → companyos" in r for r in answer.reasons), answer.reasons


def test_the_latest_result_counts_and_a_counterpart_can_be_pinned() -> None:
    rows = [
        _row(COS, "c1", MC, "m1", True, "2026-01-01T00:00:00Z"),
        _row(COS, "c1", MC, "m2", False, "2026-01-02T00:00:00Z"),
    ]
    assert not matrix.can_i_deploy(COS, "c1", rows=rows, pact_dir=_only(COS, MC)).deployable
    assert matrix.can_i_deploy(COS, "c1", {MC: "m1"}, rows=rows, pact_dir=_only(COS, MC)).deployable


def test_record_upserts_by_versions_and_pact(tmp_path) -> None:
    path = tmp_path / "m.json"
    matrix.record([_row(COS, "c1", MC, "m1", False)], path)
    matrix.record([_row(COS, "c1", MC, "m1", True)], path)
    rows = matrix.load(path)
    assert len(rows) == 1 and rows[0].success


def _only(consumer: str, provider: str):
    import tempfile
    from pathlib import Path

    from contracts import PACT_DIR, pactfile

    tmp = Path(tempfile.mkdtemp())
    name = pactfile.file_name(consumer, provider)
    (tmp / name).write_text((PACT_DIR / name).read_text())
    return tmp


def test_a_matrix_restored_from_an_earlier_run_still_answers_for_its_versions(tmp_path) -> None:
    """CI: the previous run's matrix (cache/artifact) is merged in, so c0 stays answerable."""
    earlier = tmp_path / "earlier" / "matrix.json"
    rows = [_row(COS, "c0", MC, "m0"), _row(MC, "m0", COS, "c0"), _row(SDK, "s0", COS, "c0")]
    matrix.record(rows, earlier)
    current = tmp_path / "current" / "matrix.json"
    matrix.record([_row(COS, "c1", MC, "m1", at="2026-02-01T00:00:00Z")], current)
    assert not matrix.can_i_deploy(COS, "c0", rows=matrix.load(current)).deployable
    matrix.merge([earlier, tmp_path / "missing.json"], current)
    merged = matrix.load(current)
    assert {r.consumer_version for r in merged if r.consumer == COS} == {"c0", "c1"}
    assert matrix.can_i_deploy(COS, "c0", rows=merged).deployable


def test_merge_keeps_the_most_recent_result_of_the_same_verification(tmp_path) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    matrix.record([_row(COS, "c1", MC, "m1", True, "2026-01-01T00:00:00Z")], old)
    matrix.record([_row(COS, "c1", MC, "m1", False, "2026-01-02T00:00:00Z")], new)
    matrix.merge([old], new)
    [row] = matrix.load(new)
    assert not row.success
    matrix.merge([new], old)
    [row] = matrix.load(old)
    assert not row.success
