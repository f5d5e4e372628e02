"""Reading a distributed run's verdict back from runner logs: every runner must have passed its
own share, and a missing, duplicated or mis-archived runner fails the run even if the others passed.
(A real two-runner run writes these lines in test_load_testrun.py; here the combinations.)"""

from __future__ import annotations

import json

from harness.load.verdicts import collect, main, verdicts_in_text

READ_P95 = "http_req_duration{kind:read,phase:measure}"


def _line(segment: str, *, p95: float = 12.5, runners: int = 2) -> str:
    ok = p95 < 350
    doc = {
        "verdict": "PASS" if ok else "FAIL",
        "runner": {"runners": runners, "segment": segment, "problems": []},
        "thresholds": [{"metric": READ_P95, "expr": "p(95)<350", "ok": ok, "measured": p95}],
        "kinds": {"read": {"requests": 100, "achieved_rate": 10, "target_rate": 10, "p95_ms": p95}},
    }
    # kubectl logs --prefix puts the pod in front of every line
    return f"[pod/cos-load-1-abcde/k6] K6_VERDICT {json.dumps(doc)}"


def _collect(tmp_path, lines: list[str], runners: int = 2):
    log = tmp_path / "runners.log"
    log.write_text("COS load: PASS\nreports: …\n" + "\n".join(lines) + "\n")
    return collect([log], expected_runners=runners), log


def test_all_runners_passing_their_share_pass_the_run(tmp_path) -> None:
    result, log = _collect(tmp_path, [_line("0:1/2"), _line("1/2:1")])
    assert result.passed, result.describe()
    assert main(["--runners", "2", str(log)]) == 0


def test_one_runner_over_budget_fails_the_run_and_names_the_threshold(tmp_path, capsys) -> None:
    result, log = _collect(tmp_path, [_line("0:1/2"), _line("1/2:1", p95=412.5)])
    assert not result.passed
    assert f"{READ_P95} p(95)<350 (measured 412.5)" in result.describe()
    assert main(["--runners", "2", str(log)]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_a_missing_duplicated_or_misarchived_runner_fails_the_run(tmp_path) -> None:
    missing, _ = _collect(tmp_path, [_line("0:1/2")])
    assert not missing.passed and "1 runner verdict(s) for 2 runners" in missing.problems
    twice, _ = _collect(tmp_path, [_line("0:1/2"), _line("0:1/2")])
    assert not twice.passed and any("duplicate segments" in p for p in twice.problems)
    other, _ = _collect(tmp_path, [_line("0:1/2", runners=4), _line("1/2:1")])
    assert not other.passed and any("RUNNERS=4" in p for p in other.problems)


def test_no_verdict_at_all_is_its_own_exit_code(tmp_path) -> None:
    log = tmp_path / "empty.log"
    log.write_text('level=error msg="setup failed"\n')
    assert verdicts_in_text(log.read_text()) == []
    assert main(["--runners", "4", str(log)]) == 2
