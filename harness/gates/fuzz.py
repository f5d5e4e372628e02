"""The fuzz stage: schemathesis against a running MC and an integrated COS, from their OpenAPI.

Why it exists: the pacts pin the interactions the consumers use; the OpenAPI documents promise
every operation. This stage holds each service to its own document with generated requests —
valid and deliberately invalid ones — and fails on any 5xx, any answer the document does not
describe (status, media type, headers, body schema), and any request the document forbids that
the service accepts anyway.

How: both services run as processes on free loopback ports (COS integrated with MC, so its
publisher and fetcher run under fire too). Auth is supplied per security scheme of each
operation (COS login token; MC client-credentials token, admin token) through a schemathesis
config file; a `before_call` hook (below; `SCHEMATHESIS_HOOKS=harness.gates.fuzz`) serializes the
JSON body once and signs it with a matching Content-Digest wherever an operation declares that
header; OpenAPI links drive the stateful phase (POST evidence → GET evidence/{id}). The run is
bounded (`BUDGET_S` for the whole stage) and reported under reports/fuzz/.

    python -m harness.gates.fuzz      # prints "N passed, N failed" (operations), exit 1 on any failure
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.gates import secret_scan
from harness.kit.ports import free_port
from harness.kit.processes import ManagedProcess, python_module
from harness.kit.readiness import http_ready, wait_until

ROOT = Path(__file__).resolve().parents[2]
REPORT_DIR = ROOT / "reports" / "fuzz"
LOOPBACK = "127.0.0.1"
BUDGET_S = 60.0  # the whole stage: start, fuzz both services, report
SLACK_S = 16.0  # schemathesis ends its scenario past --max-time (seen: 5 s); then stop and report
READY_BUDGET_S = 15.0
REQUEST_TIMEOUT_S = 10  # an answer slower than this is reported as an error (a stall under load included)
MAX_EXAMPLES = 12  # per operation and phase; the seed makes a run repeatable
SEED = 14
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "ignored_auth",
)
# 5xx answers the documents promise about the environment (502 client_unreachable, 503 not
# ready/no policy/storage, 507 storage full) are answers, not crashes; any other 5xx fails.
ENVIRONMENT_5XX = ("502", "503", "507")
ST = Path(sys.executable).with_name("st")


@dataclass
class Target:
    """One service under fuzz: where it listens and a bearer token per security scheme."""

    name: str
    base_url: str
    tokens: dict[str, str]
    headers_by_operation: dict[str, dict[str, str]] = field(default_factory=dict)  # operationId → headers
    env: dict[str, str] = field(default_factory=dict)  # for the hook (e.g. MC's key to sign receipts)


@dataclass
class ServiceResult:
    name: str
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)  # label → cases, failures
    seconds: float = 0.0
    exit_code: int = 0
    output: str = ""

    @property
    def operation_labels(self) -> list[str]:
        """The documents' operations ("METHOD /path"), without the stateful phase's scenarios."""
        return sorted(label for label in self.operations if " /" in label)

    @property
    def cases(self) -> int:
        return sum(op["cases"] for op in self.operations.values())

    @property
    def failed(self) -> list[str]:
        return sorted(label for label, op in self.operations.items() if op["failures"])

    @property
    def ok(self) -> bool:
        # A non-zero exit with no failing operation is an error of the run itself: still a failure.
        return not self.failed and self.exit_code == 0 and bool(self.operations)


# -- the schemathesis hook -------------------------------------------------------------------
MC_KEY_ENV = "FUZZ_MC_SIGNING_KEY"  # MC's private key file, so receipts to COS can be signed


def _declares(operation: Any, header: str) -> bool:
    return any(p.name.lower() == header.lower() for p in operation.headers)


def _json_bytes(case: Any, kwargs: dict[str, Any]) -> bytes | None:
    """Serialize the JSON body once and send exactly those bytes; None when it is not JSON."""
    if "data" in kwargs:
        return kwargs["data"]
    if case.media_type != "application/json":
        return None
    try:
        raw = json.dumps(case.body, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError):
        return None  # not JSON (a negative case): the service must refuse it whatever the headers say
    kwargs["data"] = raw
    case.headers["Content-Type"] = "application/json"
    return raw


def _sign_body(case: Any, kwargs: dict[str, Any]) -> None:
    """Send the JSON body as exactly the bytes its Content-Digest names."""
    from seam.digest import content_digest  # the services' own function: one definition of the header

    if case.headers is None or "Content-Digest" not in case.headers:
        return  # a generated case without the header (missing_required_header) stays without it
    raw = _json_bytes(case, kwargs)
    if raw is not None:
        case.headers["Content-Digest"] = content_digest(raw)


def _sign_receipt(case: Any, kwargs: dict[str, Any], key_file: str) -> None:
    """Sign a receipt as MC does (X-MC-Timestamp, X-MC-Signature), so COS's checks past the
    signature are reached; a case generated without either header stays unsigned."""
    from seam import keys, receipts

    if case.headers is None or not {receipts.TIMESTAMP_HEADER, receipts.SIGNATURE_HEADER} <= set(
        case.headers
    ):
        return
    raw = _json_bytes(case, kwargs)
    if raw is not None:
        case.headers.update(receipts.sign(raw, keys.load_private(Path(key_file).read_bytes())))


def _register_hooks() -> None:
    import schemathesis

    @schemathesis.hook
    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        if _declares(case.operation, "Content-Digest"):
            _sign_body(case, kwargs)
        key_file = os.environ.get(MC_KEY_ENV)
        if key_file and _declares(case.operation, "X-MC-Signature"):
            _sign_receipt(case, kwargs, key_file)


HOOKS_MODULE = "harness.gates.fuzz"  # this module, also when it runs as __main__
if os.environ.get("SCHEMATHESIS_HOOKS") == HOOKS_MODULE and __name__ == HOOKS_MODULE:
    _register_hooks()


# -- running schemathesis --------------------------------------------------------------------
def _config(target: Target) -> str:
    statuses = ", ".join(json.dumps(s) for s in ("1XX", "2XX", "3XX", "4XX", *ENVIRONMENT_5XX))
    lines = [f"seed = {SEED}", "", "[generation]", f"max-examples = {MAX_EXAMPLES}", ""]
    lines += ["[checks.not_a_server_error]", f"expected-statuses = [{statuses}]", ""]
    for scheme, token in sorted(target.tokens.items()):
        lines += [f"[auth.openapi.{scheme}]", f"bearer = {json.dumps(token)}", ""]
    for operation_id, headers in sorted(target.headers_by_operation.items()):
        pairs = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in sorted(headers.items()))
        lines += [
            "[[operations]]",
            f"include-operation-id = {json.dumps(operation_id)}",
            f"headers = {{ {pairs} }}",
            "",
        ]
    return "\n".join(lines)


def _operations_from_ndjson(path: Path) -> dict[str, dict[str, Any]]:
    """Per operation label: cases sent and failures found, from schemathesis' event stream."""
    ops: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return ops
    for line in path.read_text("utf-8").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        for kind, body in event.items():
            if kind != "ScenarioFinished" or not isinstance(body, dict):
                continue
            recorder = body.get("recorder") or {}
            label = str(recorder.get("label") or "?")
            if recorder.get("cases") is None:
                continue  # skipped (no operation of that kind for this phase)
            entry = ops.setdefault(label, {"cases": 0, "failures": []})
            entry["cases"] += len(recorder["cases"])
            for checks in (recorder.get("checks") or {}).values():
                for check in checks:
                    if str(check.get("status", "")).lower() in ("success", "skip", "skipped"):
                        continue
                    failure = (check.get("failure_info") or {}).get("failure") or {}
                    # Name the operation that answered wrongly (a stateful scenario spans several).
                    where = ops.setdefault(
                        str(failure.get("operation") or label), {"cases": 0, "failures": []}
                    )
                    text = f"{check.get('name')}: {failure.get('title') or check.get('status')}"
                    if text not in where["failures"]:
                        where["failures"].append(text)
    return ops


def fuzz_service(
    target: Target, out_dir: Path, budget_s: float, phases: tuple[str, ...] = ()
) -> ServiceResult:
    """Run schemathesis against one service; the result names every failing operation.

    `phases` (default: all) narrows the run to some of schemathesis's phases (examples,
    coverage, fuzzing, stateful); the stateful phase is the one that runs until `budget_s`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # Tokens, the raw event log and hypothesis's example database stay out of reports/: the
    # fuzzer replays string constants it finds in the code (the dev credentials among them).
    secrets = Path(tempfile.mkdtemp(prefix="fuzz-config-"))
    config = secrets / "schemathesis.toml"
    config.write_text(_config(target), "utf-8")
    ndjson = secrets / "events.ndjson"
    argv = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{target.base_url}/openapi.json",
        "--url",
        target.base_url,
        "--checks",
        ",".join(CHECKS),
        "--workers",
        "1",
        "--max-time",
        str(max(1, int(budget_s))),
        "--request-timeout",
        str(REQUEST_TIMEOUT_S),
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(ndjson),
        "--no-color",
        *(["--phases", ",".join(phases)] if phases else []),
    ]
    env = {**os.environ, **target.env, "SCHEMATHESIS_HOOKS": HOOKS_MODULE, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, env=env, cwd=secrets, timeout=budget_s + 30, check=False
        )
        operations = _operations_from_ndjson(ndjson)
    finally:
        shutil.rmtree(secrets, ignore_errors=True)
    result = ServiceResult(
        target.name,
        operations=operations,
        seconds=time.monotonic() - started,
        exit_code=proc.returncode,
        output=proc.stdout + proc.stderr,
    )
    output = secret_scan.redact(result.output.encode(), secret_scan.known_secrets())
    (out_dir / "schemathesis.txt").write_bytes(output)  # failing cases as curl lines, secrets redacted
    return result


# -- the services ----------------------------------------------------------------------------
@dataclass
class Services:
    root: Path  # data directories (temporary)
    logs: Path  # service logs, kept with the report
    processes: list[ManagedProcess] = field(default_factory=list)

    def start(self, name: str, argv: list[str], ready_url: str) -> None:
        log = self.logs / f"{name}.log"
        log.unlink(missing_ok=True)
        proc = ManagedProcess(name, argv, log).start()
        self.processes.append(proc)
        wait_until(f"{name} at {ready_url}", http_ready(ready_url), READY_BUDGET_S, alive=proc.alive)

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()


def _mc_token(mc_url: str) -> str:
    from conductor.settings import DEV_CLIENT_ID, DEV_CLIENT_SECRET

    answer = httpx.post(
        f"{mc_url}/v1/tokens",
        data={
            "grant_type": "client_credentials",
            "client_id": DEV_CLIENT_ID,
            "client_secret": DEV_CLIENT_SECRET,
        },
        timeout=5,
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


def _cos_token(cos_url: str) -> str:
    from companyos.users import DEV_PASSWORD, DEV_USER

    answer = httpx.post(
        f"{cos_url}/v1/login", json={"username": DEV_USER, "password": DEV_PASSWORD}, timeout=5
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


def start_services(services: Services) -> tuple[Target, Target, Target]:
    """MC (public and admin listener), then a COS integrated with it (receipts back to COS), on loopback."""
    from conductor.settings import DEV_ADMIN_TOKEN, DEV_CLIENT_ID, DEV_CLIENT_SECRET

    mc_port, cos_port, admin_port = free_port(), free_port(), free_port()
    mc_url, cos_url = f"http://{LOOPBACK}:{mc_port}", f"http://{LOOPBACK}:{cos_port}"
    services.start(
        "mc",
        python_module(
            "conductor",
            *("--host", LOOPBACK, "--port", str(mc_port), "--data-dir", str(services.root / "mc")),
            *("--admin-port", str(admin_port)),
            *("--callback-url", f"{cos_url}/v1/callbacks/evidence-receipts"),
            "--allow-test-hooks",  # a seeded defect (SEAM_MUTATIONS) must reach the service
        ),
        f"{mc_url}/readyz",
    )
    key = services.root / "mc-signing.pem"
    key.write_text(httpx.get(f"{mc_url}/v1/keys/signing.pem", timeout=5).text, "utf-8")
    services.start(
        "cos",
        python_module(
            "companyos",
            *("--host", LOOPBACK, "--port", str(cos_port), "--data-dir", str(services.root / "cos")),
            *("--mode", "integrated", "--mc-url", mc_url, "--mc-public-key", str(key)),
            *("--poll-interval", "1"),
            "--allow-test-hooks",
        ),
        f"{cos_url}/readyz",
    )
    client = base64.b64encode(f"{DEV_CLIENT_ID}:{DEV_CLIENT_SECRET}".encode()).decode("ascii")
    mc = Target(
        "maestro-conductor",
        mc_url,
        {"bearer": _mc_token(mc_url)},
        # The token endpoint is public, its client authenticates in the request: HTTP Basic.
        headers_by_operation={"issue_token": {"Authorization": f"Basic {client}"}},
    )
    # MC's admin API is its own listener with its own document (docs/conductor.md "Two listeners").
    admin = Target("maestro-conductor-admin", f"http://{LOOPBACK}:{admin_port}", {"admin": DEV_ADMIN_TOKEN})
    cos = Target(
        "companyos",
        cos_url,
        {"bearer": _cos_token(cos_url)},
        env={MC_KEY_ENV: str(services.root / "mc" / "signing-key.pem")},
    )
    return mc, admin, cos


# -- the report ------------------------------------------------------------------------------
def report(results: list[ServiceResult], wall_s: float) -> str:
    lines = [
        "# Fuzz stage (schemathesis against both OpenAPI documents)",
        "",
        f"Wall time {wall_s:.1f} s (budget {BUDGET_S:.0f} s); checks: {', '.join(CHECKS)}.",
        "",
        "| service | operation | cases | result |",
        "| --- | --- | ---: | --- |",
    ]
    for r in results:
        for label, op in sorted(r.operations.items()):
            verdict = "passed" if not op["failures"] else "FAILED: " + "; ".join(op["failures"])
            lines.append(f"| {r.name} | {label} | {op['cases']} | {verdict} |")
    lines.append("")
    for r in results:
        lines.append(
            f"- {r.name}: {len(r.operation_labels)} operations (+ stateful links), {r.cases} cases, "
            f"{len(r.failed)} failing, "
            f"{r.seconds:.1f} s, schemathesis exit {r.exit_code}"
        )
    return "\n".join(lines) + "\n"


def _write(results: list[ServiceResult], wall_s: float, out_dir: Path) -> str:
    text = report(results, wall_s)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "fuzz.md").write_text(text, "utf-8")
    summary = {
        "wall_s": round(wall_s, 2),
        "services": {
            r.name: {
                "operations": len(r.operation_labels),
                "cases": r.cases,
                "failed_operations": r.failed,
                "seconds": round(r.seconds, 2),
                "exit_code": r.exit_code,
                "per_operation": r.operations,
            }
            for r in results
        },
    }
    (out_dir / "fuzz.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    return text


def fuzz_stage(out_dir: Path = REPORT_DIR) -> tuple[int, int, str]:
    """(operations passed, operations failed, report) for MC and an integrated COS."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        services = Services(Path(tmp), out_dir)
        try:
            mc, admin, cos = start_services(services)
            # All at once (one schemathesis process each), leaving room to stop and report.
            left = BUDGET_S - (time.monotonic() - started) - SLACK_S
            targets = ((mc, "mc"), (admin, "mc-admin"), (cos, "cos"))
            with ThreadPoolExecutor(len(targets)) as pool:
                runs = [pool.submit(fuzz_service, t, out_dir / d, left) for t, d in targets]
                results = [run.result() for run in runs]
        finally:
            services.stop()
    wall = time.monotonic() - started
    text = _write(results, wall, out_dir)
    failed = sum(len(r.failed) + (0 if r.ok or r.failed else 1) for r in results)
    passed = sum(len([op for op in r.operation_labels if op not in r.failed]) for r in results)
    if wall > BUDGET_S:
        failed += 1
        text += f"\nFAILED: the stage took {wall:.1f} s, over its {BUDGET_S:.0f} s budget\n"
    return passed, failed, text


def main() -> int:
    passed, failed, text = fuzz_stage()
    print(text)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
