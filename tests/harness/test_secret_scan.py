"""Secrets never in artifacts (issue 13): the scan finds each kind of planted secret without
printing it, lets redaction markers through, gates every stage of harness/gates/stages.py, and the
services' own startup logs name their development defaults without their values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from harness.gates import secret_scan, stages
from harness.gates.secret_scan import CREDENTIAL, JWT, PRIVATE_KEY, SECRET_FIELD, known_secrets, scan_tree
from harness.kit.ports import LOOPBACK, free_port
from harness.kit.processes import ManagedProcess, python_module
from harness.kit.readiness import http_ready, wait_until
from seam import keys

REPO = Path(__file__).resolve().parents[2]
REAL_SECRET = "s3cr3t-from-a-real-vault-9f2c"


def _token() -> str:
    now = int(time.time())
    return jwt.encode({"iss": "companyos", "sub": "qa", "exp": now + 600}, keys.generate(), algorithm="EdDSA")


def _pem() -> str:
    return (
        keys.generate()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )


def _plant(root: Path) -> dict[str, str]:
    """One file per kind of secret; returns file → the secret written into it."""
    planted = {
        "load/summary.json": _token(),
        "logs/mc/signing-key.pem": _pem(),
        "logs/standalone/cos.log": "qa-dev-password",
        "allure-results/x-attachment.json": REAL_SECRET,
    }
    (root / "load").mkdir(parents=True)
    (root / "load/summary.json").write_text(
        json.dumps({"setup_data": {"tokens": [planted["load/summary.json"]]}})
    )
    (root / "logs/mc").mkdir(parents=True)
    (root / "logs/mc/signing-key.pem").write_text(planted["logs/mc/signing-key.pem"])
    (root / "logs/standalone").mkdir(parents=True)
    (root / "logs/standalone/cos.log").write_text("INFO start\nWARNING password 'qa-dev-password'\n")
    (root / "allure-results").mkdir()
    (root / "allure-results/x-attachment.json").write_text(
        json.dumps({"client_secret": REAL_SECRET}, indent=2)
    )
    return planted


def _clean(root: Path) -> None:
    """What a healthy run leaves: redaction markers, DSSE payloads, token-like noise."""
    (root / "allure-results").mkdir(parents=True, exist_ok=True)
    (root / "allure-results/ok-attachment.txt").write_text(
        "> authorization: <redacted>\n"
        "grant_type=client_credentials&client_id=companyos&client_secret=<redacted>\n"
        '{"access_token": "<redacted>", "token_type": "Bearer", "password": "***"}\n'
        # a DSSE payload: base64url JSON, but no dots, so no token
        "eyJfdHlwZSI6ICJodHRwczovL2luLXRvdG8uaW8vU3RhdGVtZW50L3YxIn0\n"
        # three base64url segments that do not decode to JSON objects (CSS class names, hashes)
        "eyJustAWord.styles_size_l__qdpXc.styles_buttonIcon\n"
    )
    (root / "k6-command.txt").write_text("k6 run -e COS_USERNAME=qa -e COS_PASSWORD=*** k6/load.js\n")


def test_each_planted_secret_is_found_by_file_and_kind_and_never_printed(tmp_path) -> None:
    planted = _plant(tmp_path)
    _clean(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "harness.gates.secret_scan", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found = {(f.path, f.kind) for f in scan_tree(tmp_path)}
    assert found == {
        ("load/summary.json", JWT),
        ("logs/mc/signing-key.pem", PRIVATE_KEY),
        ("logs/standalone/cos.log", CREDENTIAL),
        ("allure-results/x-attachment.json", SECRET_FIELD),
    }, found
    for path, kind in found:
        assert f"{path}:" in proc.stdout and f": {kind}: " in proc.stdout, proc.stdout
    assert "logs/standalone/cos.log:2: credential: development cos password" in proc.stdout
    for secret in planted.values():
        for piece in secret.splitlines()[1:2] or [secret]:  # the PEM's body line, else the whole value
            assert piece not in proc.stdout + proc.stderr, "the scan printed a secret"
    assert proc.stdout.strip().endswith("4 finding(s) in 4 file(s)"), proc.stdout


def test_redaction_markers_and_token_shaped_noise_pass(tmp_path) -> None:
    _clean(tmp_path)
    assert scan_tree(tmp_path) == []
    assert secret_scan.main([str(tmp_path)]) == 0


@pytest.mark.parametrize(
    "line, leaks",
    [
        (f'{{"client_secret": "{REAL_SECRET}"}}', True),
        (f"{{'password': '{REAL_SECRET}'}}", True),  # a Python repr in a log
        (f"grant_type=client_credentials&client_secret={REAL_SECRET}&scope=x", True),
        (f"python -m conductor --admin-token={REAL_SECRET}", True),
        (f"GET /v1/pack?access_token={REAL_SECRET}", True),
        (f"settings password='{REAL_SECRET}'", True),
        ('{"client_secret": "<redacted>", "token_type": "Bearer", "token": ""}', False),
        ("k6 run -e COS_PASSWORD=*** -e TOKENS=4 k6/load.js", False),
        ("token_ttl_s=600 expires_in=600 kx.prototype.renderToken=function(e){}", False),
    ],
)
def test_a_secret_named_field_leaks_unless_its_value_is_a_marker(tmp_path, line: str, leaks: bool) -> None:
    (tmp_path / "x.log").write_text(line + "\n")
    found = [f.kind for f in scan_tree(tmp_path, secrets={})]
    assert found == ([SECRET_FIELD] if leaks else []), (line, found)


def test_the_scan_knows_both_services_dev_defaults_and_secrets_from_the_environment() -> None:
    from companyos import settings as cos_settings
    from companyos import users as cos_users
    from conductor import settings as mc_settings

    secrets = known_secrets({"MC_ADMIN_TOKEN": REAL_SECRET, "COS_PASSWORD": "short"})
    for value in (
        cos_users.DEV_PASSWORD,
        cos_settings.DEV_CLIENT_SECRET,
        mc_settings.DEV_CLIENT_SECRET,
        mc_settings.DEV_ADMIN_TOKEN,
    ):
        assert value in secrets, value
    assert secrets[REAL_SECRET] == "value of $MC_ADMIN_TOKEN"
    assert "short" not in secrets  # below MIN_SECRET_LEN: would match innocent text


def test_a_stage_whose_reports_hold_a_secret_fails_naming_file_and_kind(
    tmp_path, monkeypatch, capsys
) -> None:
    token = _token()

    def leaky() -> stages.StageResult:
        (tmp_path / "load").mkdir(exist_ok=True)
        (tmp_path / "load" / "summary.json").write_text(json.dumps({"tokens": [token]}))
        return stages.StageResult("leaky", "passed", 0.1, passed=3)

    def clean() -> stages.StageResult:
        (tmp_path / "clean.log").write_text("all good\n")
        return stages.StageResult("clean", "passed", 0.1, passed=2)

    stale = tmp_path / "logs" / "old-cos.log"  # an earlier run's file, still uploaded by CI
    stale.parent.mkdir()
    stale.write_text("WARNING password 'qa-dev-password'\n")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    monkeypatch.setattr(stages, "REPORTS", tmp_path)
    monkeypatch.setattr(stages, "STAGES", {"leaky": leaky, "clean": clean})
    monkeypatch.setattr(stages, "export_metrics", lambda: None)  # writes the repo's reports/, not ours
    code = stages.main(["--keep-going"])
    out = capsys.readouterr().out
    assert code == 1, out
    result = {s["name"]: s for s in json.loads((tmp_path / "stages.json").read_text())}
    assert result["leaky"]["status"] == "failed" and result["leaky"]["failed"] >= 1, result
    assert "load/summary.json (jwt)" in result["leaky"]["note"], result
    assert "logs/old-cos.log (credential, left by an earlier run)" in result["leaky"]["note"], result
    assert result["clean"]["status"] == "passed", result  # the same leak fails only the stage that left it
    assert "load/summary.json:1: jwt: JWT" in out, out
    assert f"secret scan of {tmp_path}: 2 file(s), 2 new finding(s)" in out, out  # the leak + the stale log
    # + clean.log and stages.json (the stage table is written after every stage)
    assert f"secret scan of {tmp_path}: 4 file(s), 0 new finding(s)" in out, out
    assert token not in out and token not in (tmp_path / "stages.json").read_text()


@pytest.mark.slow
def test_startup_warnings_name_the_dev_defaults_without_their_values(tmp_path) -> None:
    """MC and an integrated COS on every development default: the warnings are there, the values not."""
    logs = tmp_path / "logs"
    mc_port, cos_port = free_port(), free_port()
    defaults = {name: "" for name in secret_scan.SECRET_ENV}  # whatever the developer's shell exports
    mc = ManagedProcess(
        "mc",
        python_module(
            "conductor",
            *("--host", LOOPBACK, "--port", str(mc_port), "--admin-port", "0"),
            *("--data-dir", str(tmp_path / "mc")),
        ),
        logs / "mc.log",
        env=defaults,
    )
    cos = ManagedProcess(
        "cos",
        python_module(
            "companyos",
            *("--host", LOOPBACK, "--port", str(cos_port), "--data-dir", str(tmp_path / "cos")),
            *("--mode", "integrated", "--mc-url", f"http://{LOOPBACK}:{mc_port}"),
        ),
        logs / "cos.log",
        env=defaults,
    )
    try:
        mc.start()
        wait_until("MC ready", http_ready(f"http://{LOOPBACK}:{mc_port}/readyz"), 30, alive=mc.alive)
        cos.start()
        wait_until("COS ready", http_ready(f"http://{LOOPBACK}:{cos_port}/readyz"), 30, alive=cos.alive)
    finally:
        cos.stop()
        mc.stop()
    mc_log, cos_log = (logs / "mc.log").read_text(), (logs / "cos.log").read_text()
    assert "development client secret" in mc_log and "development admin token" in mc_log, mc_log
    assert "DEVELOPMENT user 'qa'" in cos_log and "development client credentials" in cos_log, cos_log
    findings = scan_tree(logs)
    assert findings == [], "\n".join(f.describe() for f in findings)


def test_redacting_secret_fields_leaves_a_file_the_scan_passes():
    """The fuzz stage keeps schemathesis's events (generated logins carry passwords) only redacted."""
    event = (
        b'{"value":{"method":"POST","path":"/v1/login","body":{"password":"correct horse","ttl_s":300,'
        b'"username":"qa"},"headers":{"Authorization":"[Filtered]"}},"client_secret":"s3cr3t-value"}\n'
    )
    assert {f.kind for f in secret_scan.scan_bytes(event, "events.ndjson", {})} == {secret_scan.SECRET_FIELD}
    redacted = secret_scan.redact_fields(event)
    assert secret_scan.scan_bytes(redacted, "events.ndjson", {}) == []
    assert b'"username":"qa"' in redacted and b'"password":"REDACTED"' in redacted
    json.loads(redacted)  # still one JSON document per line


def test_redact_removes_known_credentials_too():
    """The fuzz stage's output can quote the dev credentials (the fuzzer replays code constants)."""
    secrets = secret_scan.known_secrets({})
    password = next(v for v, label in secrets.items() if "cos password" in label)
    line = (
        f'curl -X POST -d \'{{"username": "qa", "pw": "{password}"}}\' http://127.0.0.1/v1/login\n'.encode()
    )
    assert secret_scan.scan_bytes(line, "schemathesis.txt", secrets)
    assert secret_scan.scan_bytes(secret_scan.redact(line, secrets), "schemathesis.txt", secrets) == []
