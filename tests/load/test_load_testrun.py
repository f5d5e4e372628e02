"""Load beyond one machine: the k6-operator TestRun judges the budgets of features/load.feature.

Offline proof (there is no cluster here): render the TestRun and its archive from the feature's
sentence, then ask the real k6 what each runner pod will enforce — `k6 inspect` on the archive,
given the execution segment the operator hands runner i of N (through k6's config file, which is
where `k6 inspect` accepts it) and re-archived with the runtime env the TestRun passes, exactly as
the operator's initializer does (`k6 archive … -e …` then `k6 inspect --execution-requirements`).
One slow test runs two segments for real against the recording stand-in.
"""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import httpx
import pytest
import yaml

from harness.load.runner import k6_binary, parse_load_sentence
from harness.load.testrun import (
    ARCHIVE,
    ARCHIVE_ENV,
    RUNTIME_ENV,
    DistributedLoad,
    render,
    segment_args,
    sentence_from_feature,
)
from harness.load.verdicts import collect, verdicts_in_text

SENTENCE = sentence_from_feature()  # the one in features/load.feature: 1000 req/s, 60 s, 80 % reads
READ_P95 = "http_req_duration{kind:read,phase:measure}"
WRITE_P95 = "http_req_duration{kind:write,phase:measure}"
DROPPED_READS = "dropped_iterations{scenario:reads}"
DROPPED_WRITES = "dropped_iterations{scenario:writes}"


def _budget(thresholds: dict, metric: str) -> list[str]:
    """The budget expressions on `metric`, without the always-true observation ones."""
    return [e for e in thresholds.get(metric, []) if not e.endswith((">=0",))]


def _segment(text: str) -> tuple[Fraction, ...]:
    return tuple(Fraction(part) for part in text.split(":"))


def _k6(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(k6_binary()), *args], capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _runtime_env(testrun: dict) -> dict[str, str]:
    """The runner env as a pod sees it (secrets and the downward API filled in with stand-ins)."""
    env = {}
    for var in testrun["spec"]["runner"]["env"]:
        value = var.get("value", f"<{var['name']}>")
        env[var["name"]] = value.replace("$(RUNNER_POD)", "cos-load-1-abcde")
    return env


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[int, Path]:
    """The kustomization directory for the feature's sentence on 1 and on 4 runners."""
    profile, budgets = parse_load_sentence(SENTENCE)
    out = {}
    for runners in (1, 4):
        out[runners] = tmp_path_factory.mktemp(f"testrun-{runners}")
        render(DistributedLoad(profile, budgets, runners), SENTENCE, out[runners])
    return out


def _runner_options(directory: Path, index: int, runners: int, tmp: Path) -> dict:
    """What runner `index` of `runners` enforces: the operator's initializer path, then its segment."""
    testrun = yaml.safe_load((directory / "testrun.yaml").read_text())
    # The initializer re-archives the script with the runner env as -e values, then inspects it.
    rearchived = tmp / f"initializer-{runners}-{index}.tar"
    env_args = [a for k, v in _runtime_env(testrun).items() for a in ("-e", f"{k}={v}")]
    _k6("archive", str(directory / ARCHIVE), *env_args, "-O", str(rearchived))
    config = tmp / f"segment-{runners}-{index}.json"
    segment = dict(a.removeprefix("--").split("=", 1) for a in segment_args(index, runners))
    config.write_text(
        json.dumps(
            {
                "executionSegment": segment.get("execution-segment"),
                "executionSegmentSequence": segment.get("execution-segment-sequence"),
            }
        )
    )
    return json.loads(_k6("inspect", "--execution-requirements", "-c", str(config), str(rearchived)))


def test_the_testrun_runs_the_feature_sentence_on_n_runners(rendered) -> None:
    for runners, directory in rendered.items():
        testrun = yaml.safe_load((directory / "testrun.yaml").read_text())
        assert testrun["spec"]["parallelism"] == runners
        archived = dict(line.split("=", 1) for line in (directory / ARCHIVE_ENV).read_text().splitlines())
        assert archived == {
            "RATE": "1000",
            "DURATION": "60s",
            "WARMUP": "6s",
            "READ_RATIO": "0.8",
            "READ_P95_MS": "350",
            "WRITE_P95_MS": "700",
            "MAX_ERROR_RATE": "0.01",
            "MAX_DROPPED_RATIO": "0.01",
            "RUNNERS": str(runners),
        }
        runtime = [v["name"] for v in testrun["spec"]["runner"]["env"]]
        assert sorted(runtime) == sorted(RUNTIME_ENV)
        assert not set(runtime) & set(archived), (
            "a budget or rate set at runtime would not reach the thresholds"
        )
        kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
        assert kustomization["configMapGenerator"] == [{"name": "cos-load-script", "files": [ARCHIVE]}]
        assert 0 < (directory / ARCHIVE).stat().st_size < 1024 * 1024


def test_runtime_env_cannot_move_the_archived_budgets(rendered, tmp_path) -> None:
    """k6 takes an archive's options as archived: a RATE or budget passed at run time is ignored."""
    archive = rendered[4] / ARCHIVE
    plain = json.loads(_k6("inspect", str(archive)))
    overridden = json.loads(
        _k6("inspect", "-e", "RATE=5000", "-e", "READ_P95_MS=1", "-e", "RUNNERS=1", str(archive))
    )
    assert overridden["thresholds"] == plain["thresholds"]
    assert overridden["scenarios"] == plain["scenarios"]
    assert _budget(plain["thresholds"], READ_P95) == ["p(95)<350"]


@pytest.mark.parametrize("runners", [1, 4])
def test_every_runner_enforces_the_sentence_budgets_on_its_own_share(rendered, tmp_path, runners) -> None:
    per_runner = {1: (480, 120), 4: (120, 30)}[runners]  # 1 % of (800, 200)/s × 60 s / runners
    total_vus = None
    for index in range(1, runners + 1):
        options = _runner_options(rendered[runners], index, runners, tmp_path)
        t = options["thresholds"]
        # latency and error budgets: the sentence's numbers, unchanged per runner
        assert _budget(t, READ_P95) == ["p(95)<350"] and _budget(t, WRITE_P95) == ["p(95)<700"]
        assert _budget(t, "http_req_failed{phase:measure}") == ["rate<=0.01"]
        assert _budget(t, "checks{phase:measure}") == ["rate>=0.99"]
        # dropped iterations: 1 % of this runner's share of the planned iterations
        assert (_budget(t, DROPPED_READS), _budget(t, DROPPED_WRITES)) == (
            [f"count<={per_runner[0]}"],
            [f"count<={per_runner[1]}"],
        )
        # the scenarios carry the whole test's rate; k6 runs this runner's segment of it
        sc = options["scenarios"]
        assert (sc["reads"]["rate"], sc["writes"]["rate"], sc["reads"]["timeUnit"]) == (800, 200, "1s")
        if runners == 1:
            assert options["executionSegment"] is None
        else:  # k6 normalises 2/4 to 1/2: compare the numbers
            assert _segment(options["executionSegment"]) == (
                Fraction(index - 1, runners),
                Fraction(index, runners),
            )
        # k6's execution requirements for this segment: 1/N of the archive's whole VU pool
        archive = rendered[runners] / ARCHIVE
        total_vus = (
            total_vus or json.loads(_k6("inspect", "--execution-requirements", str(archive)))["maxVUs"]
        )
        assert options["maxVUs"] * runners == total_vus, (options["maxVUs"], total_vus)


def test_per_runner_tolerances_add_up_to_the_single_machine_one(rendered, tmp_path) -> None:
    def tolerances(runners: int) -> list[tuple[int, int]]:
        out = []
        for index in range(1, runners + 1):
            t = _runner_options(rendered[runners], index, runners, tmp_path)["thresholds"]
            out.append(tuple(int(_budget(t, m)[0].split("<=")[1]) for m in (DROPPED_READS, DROPPED_WRITES)))
        return out

    (single,) = tolerances(1)
    four = tolerances(4)
    assert single == (480, 120)
    assert (sum(r for r, _ in four), sum(w for _, w in four)) == single


def test_segment_args_match_the_operator() -> None:
    """k6-operator pkg/segmentation.NewCommandFragments, for runner 2 of 4 and a single runner."""
    assert segment_args(2, 4) == [
        "--execution-segment=1/4:2/4",
        "--execution-segment-sequence=0,1/4,2/4,3/4,1",
    ]
    assert segment_args(4, 4)[0] == "--execution-segment=3/4:1"
    assert segment_args(1, 1) == []
    with pytest.raises(ValueError):
        segment_args(5, 4)
    with pytest.raises(ValueError):
        DistributedLoad(*parse_load_sentence(SENTENCE), runners=0)


@pytest.mark.slow
def test_two_runners_split_the_rate_and_leave_parseable_verdicts(standin, tmp_path) -> None:
    """Two k6 processes run the archive as the operator runs it (segment flags, run tags, the
    runner env): each offers half the rate, judges its own samples and leaves its verdict on the
    shared summaries directory and on stdout. A runner handed a segment the archive was not built
    for (RUNNERS=2 archive, 1/4 segment) fails its verdict instead of judging a wrong tolerance."""
    sentence = (
        "at 40 requests per second for 2 seconds with 50% reads after a 1 second warm-up, "
        "p95 of reads stays under 1000 ms and p95 of writes under 1000 ms"
    )
    load = DistributedLoad(*parse_load_sentence(sentence), runners=2)
    render(load, sentence, tmp_path / "render", cos_url=standin.url)
    summaries, elsewhere = tmp_path / "summaries", tmp_path / "misconfigured"
    summaries.mkdir()
    elsewhere.mkdir()

    def start(index: int, segment: list[str], directory: Path = summaries) -> subprocess.Popen:
        env = {
            "COS_URL": standin.url,
            "SUMMARY_DIR": str(directory),
            "SUMMARY_PREFIX": f"cos-load-{index}-x.",
        }
        env |= {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "K6_NO_USAGE_REPORT": "true"}
        cmd = [
            str(k6_binary()),
            "run",
            "--quiet",
            "--address",
            "",
            *segment,
            str(tmp_path / "render" / ARCHIVE),
        ]
        cmd += ["--tag", f"instance_id={index}", "--tag", "testrun_name=cos-load"]
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    # the two runners of the TestRun, and (beside them, writing elsewhere) one whose segment is a
    # quarter: the archive was built for RUNNERS=2
    procs = [
        start(1, segment_args(1, 2)),
        start(2, segment_args(2, 2)),
        start(3, segment_args(1, 4), elsewhere),
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-2000:] for _, err in outputs]

    stats = httpx.get(f"{standin.url}/_stats").json()
    result = collect([summaries], expected_runners=2)
    assert result.passed, result.describe()
    assert sorted(r.segment for r in result.runners) == ["0:1/2", "1/2:1"]
    for runner in result.runners:
        for kind in ("read", "write"):
            k = runner.doc["kinds"][kind]
            assert k["target_rate"] == 10  # 40/s × 50 % / 2 runners
            assert 18 <= k["requests"] <= 22, k  # 10/s × 2 s, ± the iteration at each edge
    assert stats["evidence"] >= sum(r.doc["kinds"]["write"]["requests"] for r in result.runners)
    from_logs = [v for out, _ in outputs[:2] for v in verdicts_in_text(out)]
    assert sorted(v.segment for v in from_logs) == ["0:1/2", "1/2:1"]
    assert all(v.verdict == "PASS" for v in from_logs)

    (verdict,) = verdicts_in_text(outputs[2][0])
    assert verdict.verdict == "FAIL" and "RUNNERS=2" in verdict.problems[0], verdict.doc
    mixed = collect([summaries, elsewhere], expected_runners=2)
    assert not mixed.passed and "3 runner verdict(s) for 2 runners" in mixed.describe()


def test_a_slow_rate_still_gives_every_runner_a_vu(tmp_path) -> None:
    """1 read/s on 4 runners: a pool sized for the total rate alone (1 VU) would leave three
    segments without a VU, and they would drop every iteration of their share."""
    sentence = "at 1 request per second for 8 seconds with 100% reads, p95 of reads stays under 350 ms"
    load = DistributedLoad(*parse_load_sentence(sentence), runners=4)
    render(load, sentence, tmp_path / "render")
    for index in range(1, 5):
        options = _runner_options(tmp_path / "render", index, 4, tmp_path)
        assert options["maxVUs"] >= 1, (index, options["maxVUs"])
        # 1 % of 8 planned / 4 runners is 0.02: rounded up, each runner tolerates one drop
        assert _budget(options["thresholds"], DROPPED_READS) == ["count<=1"]
