"""Metrics from the files a run leaves, the dashboard built on them, and the CI workflow that ships them.

- `export()` turns hand-made reports (suite summary, behave JSON, retries, cold starts,
  stages, load and contract results) into `metrics.prom`, merging with what is there;
- with PUSHGATEWAY_URL it pushes to a (local, recording) Pushgateway;
- every PromQL expression of observability/grafana-dashboard.json names only metrics
  `metrics_export` emits;
- .github/workflows/acceptance.yml runs the stages as jobs in order and uploads the reports.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # plain `pytest` as well as `python -m pytest`
    sys.path.insert(0, str(REPO))
# noqa: E402
from harness.records import metrics_export  # noqa: E402

DASHBOARD = REPO / "observability" / "grafana-dashboard.json"
ALERTS = REPO / "observability" / "alerts.yml"
WORKFLOW = REPO / ".github" / "workflows" / "acceptance.yml"
STAGE_ORDER = ["contracts", "unit", "fuzz", "e2e", "faults", "mutations", "load", "compose", "observability"]
NO_PUSH: dict[str, str] = {}


def scenario(line: int, name: str, status: str, *tags: str, backend: str = "process") -> dict:
    mode = next((t for t in tags if t in ("standalone", "integrated")), "none")
    return {
        "type": "scenario",
        "name": name,
        "location": f"features/demo.feature:{line}",
        "tags": [*tags, f"allure.label.mode:{mode}", f"allure.label.backend:{backend}"],
        "status": status,
        "steps": [],
    }


def write(path: Path, value: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))
    return path


def behave_run(
    reports: Path, first: list[dict], rerun: list[dict] | None = None, wall_s: float = 12.5
) -> None:
    write(reports / "behave.json", [{"name": "Demo", "tags": [], "elements": first}])
    if rerun is not None:
        write(reports / "behave-rerun.json", [{"name": "Demo", "tags": [], "elements": rerun}])
    write(reports / "suite-summary.json", {"passed": 0, "failed": 0, "wall_s": wall_s, "flaky": []})


def samples(path: Path) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(path.read_text())
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """A reports dir as a full CI run would leave it."""
    r = tmp_path / "reports"
    behave_run(
        r,
        [
            scenario(3, "steady", "passed", "standalone"),
            scenario(6, "wobbly", "failed", "integrated"),
            scenario(9, "broken", "failed", "integrated"),
            scenario(12, "parked", "failed", "integrated", "quarantine", "quarantine-since:2020-01-01"),
            scenario(15, "elsewhere", "skipped", "integrated"),
            scenario(18, "retrying", "passed", "integrated", "flaky"),
        ],
        [
            scenario(6, "wobbly", "passed", "integrated"),
            scenario(9, "broken", "failed", "integrated"),
            scenario(12, "parked", "failed", "integrated", "quarantine", "quarantine-since:2020-01-01"),
        ],
        wall_s=84.8,
    )
    write(
        r / "flaky-retries.json",
        {
            "retries": 2,
            "at": 0,
            "records": [
                {"scenario": "retrying", "step": "Then x", "attempt": 1, "reason": "a"},
                {"scenario": "retrying", "step": "Then x", "attempt": 2, "reason": "b"},
            ],
        },
    )
    write(
        r / "cold-starts.json",
        {
            "standalone": {"launch_to_ready_s": 0.5, "launch_to_first_verified_decision_s": 0.7},
            "integrated": {"launch_to_ready_s": 1.3, "launch_to_first_verified_decision_s": 1.5},
        },
    )
    write(
        r / "stages.json",
        [
            {"name": "unit", "status": "passed", "seconds": 60.5, "passed": 300, "failed": 0, "note": ""},
            {"name": "e2e", "status": "failed", "seconds": 90.0, "passed": 3, "failed": 1, "note": "flaky 1"},
            {"name": "faults", "status": "absent", "seconds": 0.0, "passed": 0, "failed": 0, "note": "n/a"},
        ],
    )
    write(
        r / "load-results.json",
        [
            {"mode": "integrated", "backend": "process", "breaches": ["old"], "read_p95_ms": 999.0},
            {
                "mode": "integrated",
                "backend": "process",
                "breaches": ["http_req_duration{kind:read,phase:measure} p(95)<350 (measured 401)"],
                "read_p95_ms": 401.0,
                "write_p95_ms": 250.5,
                "read_budget_ms": 350,
                "write_budget_ms": 700,
                "dropped_iterations": 3,
            },
        ],
    )
    write(
        r / "contract-results.json",
        {"failures": 2, "steps": [{"step": "scrub", "ok": True}, {"step": "verify companyos", "ok": False}]},
    )
    return r


def test_export_writes_every_documented_metric_with_mode_and_backend_labels(reports):
    path = metrics_export.export(reports, env=NO_PUSH, now=1700000000.0)
    assert path == reports / "metrics.prom"
    found = samples(path)
    names = {name for name, _ in found}
    assert names == metrics_export.METRIC_NAMES  # every metric, nothing undeclared

    e2e = {"suite": "e2e", "backend": "process"}
    integrated = {**e2e, "mode": "integrated"}
    assert value(found, "contract_test_failures") == 2
    assert value(found, "contract_gate_step_passed", step="verify companyos") == 0
    assert value(found, "e2e_suite_duration_seconds", mode="all", **e2e) == 84.8
    assert {
        status: value(found, "e2e_scenarios", status=status, **integrated)
        for status in metrics_export.SCENARIO_STATUSES
    } == {"passed": 1, "flaky": 1, "failed": 1, "quarantined": 1, "skipped": 1}
    assert value(found, "e2e_scenarios", status="passed", mode="standalone", **e2e) == 1
    assert value(found, "scenario_reruns", **integrated) == 3
    assert value(found, "flaky_scenarios", **integrated) == 1
    assert value(found, "quarantined_failures", **integrated) == 1
    assert value(found, "flaky_step_retries", **integrated) == 2
    assert value(found, "flaky_step_retries", mode="standalone", **e2e) == 0
    assert value(found, "quarantined_scenarios", **e2e) == 1
    assert value(found, "quarantine_max_age_seconds", **e2e) > 365 * 86400

    load = {"mode": "integrated", "backend": "process"}
    assert value(found, "k6_threshold_breaches", **load) == 1  # the last entry, not the first
    assert value(found, "k6_http_req_duration_p95_seconds", kind="read", **load) == 0.401
    assert value(found, "k6_http_req_duration_p95_seconds", kind="write", **load) == 0.2505
    assert value(found, "k6_http_req_duration_p95_budget_seconds", kind="read", **load) == 0.35
    assert value(found, "k6_dropped_iterations", **load) == 3

    assert value(found, "cold_start_seconds", mode="standalone", backend="process", phase="ready") == 0.5
    assert (
        value(found, "cold_start_seconds", mode="integrated", backend="process", phase="first_decision")
        == 1.5
    )

    assert value(found, "ci_stage_duration_seconds", stage="unit") == 60.5
    assert value(found, "ci_stage_passed", stage="unit") == 1
    assert value(found, "ci_stage_passed", stage="e2e") == 0
    assert value(found, "ci_stage_tests", stage="unit", result="passed") == 300
    assert ("ci_stage_passed", frozenset({("stage", "faults")})) not in found  # absent stages are not zeros
    assert value(found, "metrics_export_timestamp_seconds") == 1700000000.0


def test_an_empty_reports_dir_gives_only_the_timestamp(tmp_path):
    found = samples(metrics_export.export(tmp_path / "nothing-yet", env=NO_PUSH))
    assert {name for name, _ in found} == {"metrics_export_timestamp_seconds"}


def test_a_stale_rerun_file_from_an_earlier_run_is_ignored(tmp_path):
    behave_run(tmp_path, [scenario(6, "wobbly", "failed", "integrated")], [scenario(6, "wobbly", "passed")])
    behave_json = tmp_path / "behave.json"
    rerun = tmp_path / "behave-rerun.json"
    os.utime(rerun, (behave_json.stat().st_mtime - 60,) * 2)
    found = samples(metrics_export.export(tmp_path, env=NO_PUSH))
    labels = {"suite": "e2e", "mode": "integrated", "backend": "process"}
    assert value(found, "e2e_scenarios", status="failed", **labels) == 1
    assert value(found, "scenario_reruns", **labels) == 0


def test_the_suite_label_comes_from_the_scenarios_tags(tmp_path):
    behave_run(tmp_path, [scenario(3, "kill mc", "passed", "integrated", "faults")])
    found = samples(metrics_export.export(tmp_path, env=NO_PUSH))
    assert value(
        found, "e2e_scenarios", suite="faults", mode="integrated", backend="process", status="passed"
    )


def test_runs_of_different_stages_merge_into_one_file(tmp_path):
    behave_run(tmp_path, [scenario(3, "a", "passed", "standalone"), scenario(4, "b", "failed", "integrated")])
    write(tmp_path / "stages.json", [{"name": "e2e", "status": "failed", "seconds": 5.0}])
    metrics_export.export(tmp_path, env=NO_PUSH)

    # the faults stage overwrites the suite files and stages.json …
    behave_run(tmp_path, [scenario(3, "kill mc", "passed", "integrated", "faults")])
    write(tmp_path / "stages.json", [{"name": "faults", "status": "passed", "seconds": 9.0}])
    found = samples(metrics_export.export(tmp_path, env=NO_PUSH))

    # … and the e2e series survive beside the faults ones
    e2e = {"suite": "e2e", "mode": "integrated", "backend": "process"}
    assert value(found, "e2e_scenarios", status="failed", **e2e) == 1
    faults = {"suite": "faults", "mode": "integrated", "backend": "process"}
    assert value(found, "e2e_scenarios", status="passed", **faults) == 1
    assert value(found, "ci_stage_passed", stage="e2e") == 0
    assert value(found, "ci_stage_passed", stage="faults") == 1

    # a new e2e run replaces all of its statuses: yesterday's failure does not linger
    behave_run(tmp_path, [scenario(4, "b", "passed", "integrated")])
    found = samples(metrics_export.export(tmp_path, env=NO_PUSH))
    assert value(found, "e2e_scenarios", status="failed", **e2e) == 0
    assert value(found, "e2e_scenarios", status="passed", **e2e) == 1

    fresh = samples(metrics_export.export(tmp_path, fresh=True, env=NO_PUSH))
    assert not any(dict(labels).get("suite") == "faults" for _, labels in fresh)


def test_contract_failures_fall_back_to_the_gate_step_list(tmp_path):
    write(
        tmp_path / "contracts" / "gate.json", [{"step": "scrub", "ok": True}, {"step": "drift", "ok": False}]
    )
    found = samples(metrics_export.export(tmp_path, env=NO_PUSH))
    assert value(found, "contract_test_failures") == 1
    assert value(found, "contract_gate_step_passed", step="drift") == 0


def test_a_corrupt_input_is_skipped_not_fatal(tmp_path, capsys):
    (tmp_path / "stages.json").write_text("{not json")
    write(tmp_path / "contract-results.json", {"failures": 0})
    found = samples(metrics_export.export(tmp_path, env=NO_PUSH))
    assert value(found, "contract_test_failures") == 0
    assert "ignoring" in capsys.readouterr().err


def test_the_cli_writes_the_file(reports, monkeypatch, capsys):
    monkeypatch.delenv("PUSHGATEWAY_URL", raising=False)
    assert metrics_export.main(["--reports", str(reports)]) == 0
    assert "series in" in capsys.readouterr().out
    assert (reports / "metrics.prom").exists()


# --- Pushgateway -------------------------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    requests: list[tuple[str, str, bytes]] = []

    def do_PUT(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.requests.append((self.command, self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args):
        pass


@pytest.fixture
def pushgateway():
    _Recorder.requests = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.requests
    finally:
        server.shutdown()
        server.server_close()


def test_with_a_pushgateway_url_the_metrics_are_pushed_grouped_by_branch_and_ci_job(reports, pushgateway):
    url, received = pushgateway
    env = {"PUSHGATEWAY_URL": url, "GITHUB_REF_NAME": "main", "METRICS_INSTANCE": "e2e-standalone"}
    metrics_export.export(reports, env=env)
    ((method, path, body),) = received
    assert method == "PUT"
    assert path == "/metrics/job/cos-pact-e2e/branch/main/ci_job/e2e-standalone"
    assert b"contract_test_failures 2.0" in body


def test_grouping_key_follows_the_ci_environment():
    assert metrics_export.grouping_key({}) == {}
    pr = {"GITHUB_HEAD_REF": "feature/x", "GITHUB_REF_NAME": "12/merge", "GITHUB_JOB": "load"}
    assert metrics_export.grouping_key(pr) == {"branch": "feature/x", "ci_job": "load"}
    push = {"GITHUB_HEAD_REF": "", "GITHUB_REF_NAME": "main", "GITHUB_RUN_ID": "42"}
    assert metrics_export.grouping_key(push) == {"branch": "main"}
    assert metrics_export.grouping_key({**push, "PUSHGATEWAY_GROUP_BY_RUN": "1"}) == {
        "branch": "main",
        "ci_run": "42",
    }
    gitlab = {"CI_COMMIT_REF_NAME": "dev", "CI_JOB_NAME": "e2e", "METRICS_BRANCH": "override"}
    assert metrics_export.grouping_key(gitlab) == {"branch": "override", "ci_job": "e2e"}


def test_an_unreachable_pushgateway_is_reported_and_the_file_still_written(reports, capsys):
    path = metrics_export.export(reports, env={"PUSHGATEWAY_URL": "http://127.0.0.1:9"})
    assert path.exists()
    assert "push to http://127.0.0.1:9 failed" in capsys.readouterr().err


# --- the Grafana dashboard --------------------------------------------------------------------------

PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or"}
PROMQL_WORDS |= {"unless", "inf", "nan"}


def promql_metric_names(expr: str) -> set[str]:
    """Identifiers in a PromQL expression that are metric names (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\$\{?\w+\}?", "", text)  # Grafana variables
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\boffset\s+[0-9a-z]+", "", text)  # offset modifiers (offset 1h)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        follows = text[match.end() :].lstrip()[:1]
        if follows == "(" or word.lower() in PROMQL_WORDS:
            continue
        names.add(word)
    return names


def test_every_alert_rule_names_only_metrics_the_export_emits():
    import yaml

    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    assert len(rules) >= 4
    for rule in rules:
        names = promql_metric_names(rule["expr"])
        assert names, f"{rule['alert']}: no metric in {rule['expr']!r}"
        unknown = names - metrics_export.METRIC_NAMES
        assert not unknown, f"alert {rule['alert']} watches metrics nobody emits: {sorted(unknown)}"
        assert rule["labels"].get("gate"), f"alert {rule['alert']} names no gate"
        assert "ci_run" in rule["annotations"]["summary"], f"alert {rule['alert']} does not name the run"


def test_promtool_accepts_every_metric_the_export_writes(reports):
    """`promtool check metrics` lints names and types: counts without _total, base units."""
    from harness.kit import debian_tools

    if reason := debian_tools.skip_reason("promtool"):
        pytest.skip(reason)
    path = metrics_export.export(reports, env=NO_PUSH, now=1700000000.0)
    proc = debian_tools.run("promtool", "check", "metrics", stdin=path.read_text())
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_promql_name_extractor_ignores_functions_labels_and_variables():
    expr = 'time() - max by (stage) (rate(ci_stage_passed{branch=~"$branch", x="a b"}[5m])) > bool 0'
    assert promql_metric_names(expr) == {"ci_stage_passed"}
    assert promql_metric_names("avg_over_time(flaky_scenarios[7d] offset 1h)") == {"flaky_scenarios"}


def dashboard_panels(dashboard: dict) -> list[dict]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found += panel.get("panels", [])
    return found


def test_the_dashboard_parses_and_uses_the_prometheus_datasource_variable():
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    for panel in dashboard_panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
    ids = [p["id"] for p in dashboard_panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"


def test_every_dashboard_query_names_only_metrics_the_export_emits():
    dashboard = json.loads(DASHBOARD.read_text())
    used: set[str] = set()
    for panel in dashboard_panels(dashboard):
        for target in panel.get("targets", []):
            names = promql_metric_names(target["expr"])
            assert names, f"{panel['title']!r}: no metric in {target['expr']!r}"
            unknown = names - metrics_export.METRIC_NAMES
            assert not unknown, f"{panel['title']!r} queries metrics nobody emits: {sorted(unknown)}"
            used |= names
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            metric = re.fullmatch(r"label_values\((\w+),\s*\w+\)", query)
            assert metric and metric.group(1) in metrics_export.METRIC_NAMES, query
    required = {
        "contract_test_failures",
        "e2e_suite_duration_seconds",
        "e2e_scenarios",
        "flaky_scenarios",
        "scenario_reruns",
        "flaky_step_retries",
        "k6_http_req_duration_p95_seconds",
        "k6_http_req_duration_p95_budget_seconds",
        "k6_threshold_breaches",
        "cold_start_seconds",
    }
    assert required <= used, f"trend panels missing for {sorted(required - used)}"


# --- the GitHub workflow -----------------------------------------------------------------------------


def workflow_jobs(text: str) -> dict[str, dict[str, object]]:
    """Job ids → {needs, body} from the workflow's text: a line-based reading (PyYAML is not a dependency)."""
    jobs: dict[str, dict[str, object]] = {}
    in_jobs, current = False, None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            in_jobs, current = line.rstrip() == "jobs:", None
            continue
        if not in_jobs:
            continue
        job = re.fullmatch(r"  ([A-Za-z0-9_-]+):\s*", line)
        if job:
            current = job.group(1)
            jobs[current] = {"needs": [], "body": []}
            continue
        assert current, f"unexpected line under jobs: {line!r}"
        jobs[current]["body"].append(line)  # type: ignore[union-attr]
        needs = re.fullmatch(r"    needs:\s*\[?([^\]]*)\]?\s*", line)
        if needs:
            jobs[current]["needs"] = [n.strip() for n in needs.group(1).split(",") if n.strip()]
    return jobs


def test_the_workflow_runs_the_stages_as_jobs_in_order():
    text = WORKFLOW.read_text()
    assert "\t" not in text, "YAML must be indented with spaces"
    jobs = workflow_jobs(text)
    assert list(jobs) == STAGE_ORDER
    for before, after in zip(STAGE_ORDER, STAGE_ORDER[1:], strict=False):
        assert jobs[after]["needs"] == [before], f"{after} must need {before}"
    assert jobs[STAGE_ORDER[0]]["needs"] == []
    for name, job in jobs.items():
        body = "\n".join(job["body"])  # type: ignore[arg-type]
        assert f"python -m harness.gates.stages --only {name}" in body, name
        assert "python -m harness.records.metrics_export --reports reports" in body, name
        assert "hashFiles('requirements.txt')" in body and "path: .venv" in body, f"{name}: venv cache"
        assert "reports/metrics.prom" in body, f"{name}: metrics artifact"


def test_the_workflow_matrix_caches_and_artifacts():
    jobs = workflow_jobs(WORKFLOW.read_text())

    def body(name: str) -> str:
        return "\n".join(jobs[name]["body"])  # type: ignore[arg-type]

    assert re.search(r"mode:\s*\[standalone, integrated\]", body("e2e"))
    assert "E2E_MODE: ${{ matrix.mode }}" in body("e2e")
    for name in ("e2e", "faults", "load", "compose"):
        assert "hashFiles('package-lock.json')" in body(name), f"{name}: npm cache"
        assert "reports/allure-report/" in body(name), f"{name}: Allure report artifact"
    assert "contracts/pacts/" in body("contracts")
    assert "reports/load/" in body("load")


def test_every_stage_of_the_stage_runner_has_a_job():
    from harness.gates import stages

    assert set(stages.STAGES) <= set(workflow_jobs(WORKFLOW.read_text()))


def test_the_workflow_is_valid_yaml_when_pyyaml_is_available():
    yaml = pytest.importorskip(
        "yaml", reason="PyYAML is not a project dependency; the line-based checks cover it"
    )
    data = yaml.safe_load(WORKFLOW.read_text())
    assert list(data["jobs"]) == STAGE_ORDER
    assert data["jobs"]["e2e"]["strategy"]["matrix"]["mode"] == ["standalone", "integrated"]


def test_contract_gate_verdicts_become_contract_test_failures_total(tmp_path):
    from contracts.gate import StepResult
    from harness.domain import contracts as contract_steps
    from harness.records import metrics_export

    contract_steps.record(StepResult("drift", True, 1.0, ""), tmp_path)
    contract_steps.record(StepResult("scrub", False, 0.1, ""), tmp_path)
    contract_steps.record(StepResult("scrub", False, 0.2, ""), tmp_path)  # re-recorded, not doubled
    text = metrics_export.export(tmp_path).read_text()
    line = next(x for x in text.splitlines() if x.startswith("contract_test_failures"))
    assert line.endswith(" 1.0"), line


def test_merge_from_folds_every_jobs_metrics_into_one_file(tmp_path):
    """CI's observability job downloads each job's artifact and pushes one file holding the whole run."""
    jobs = tmp_path / "jobs"
    contracts, load = jobs / "contracts-reports", jobs / "load-reports"
    write(contracts / "contract-results.json", {"failures": 1, "steps": [{"step": "scrub", "ok": False}]})
    write(load / "load-results.json", [{"mode": "integrated", "backend": "process", "breaches": ["x", "y"]}])
    metrics_export.export(contracts, env=NO_PUSH, now=1.0)
    metrics_export.export(load, env=NO_PUSH, now=2.0)
    run = tmp_path / "reports"
    assert metrics_export.main(["--reports", str(run), "--merge-from", str(jobs), "--no-push"]) == 0
    found = samples(run / "metrics.prom")
    assert value(found, "contract_test_failures") == 1
    assert value(found, "contract_gate_step_passed", step="scrub") == 0
    assert value(found, "k6_threshold_breaches", mode="integrated", backend="process") == 2
