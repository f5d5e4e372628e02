"""`python -m conductor` as a real process: dev-default warnings, readiness, restart durability."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from mc_helpers import ADMIN, CREDENTIALS, Receiver, content_digest, evidence_doc

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ADMIN_PORTS: dict[int, int] = {}


def admin_url(public: str) -> str:
    return f"http://127.0.0.1:{ADMIN_PORTS[int(public.rsplit(':', 1)[1])]}"


@contextmanager
def conductor(data_dir: Path, log: Path, *args: str) -> Iterator[str]:
    """A real MC on free ports; yields the public URL (the admin URL is `admin_url(public)`)."""
    port, admin_port = free_port(), free_port()
    ADMIN_PORTS[port] = admin_port
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MC_", "SEAM_"))}
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "conductor", "--port", str(port), "--admin-port", str(admin_port)),
                *("--data-dir", str(data_dir), *args),
            ],
            cwd=REPO,
            env=env,
            stdout=err,
            stderr=err,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:  # readiness, bounded: poll /readyz until 200, the process dies, or time runs out
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/readyz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "MC did not become ready: " + log.read_text()
            time.sleep(0.05)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_process_restart_keeps_evidence_and_replays(tmp_path: Path, receiver: Receiver) -> None:
    data = tmp_path / "mc-data"
    log = tmp_path / "mc.log"
    doc = evidence_doc()
    raw = json.dumps(doc).encode()
    callback = ["--callback-url", receiver.url + "/v1/callbacks/evidence-receipts"]

    with conductor(data, log, *callback) as base, httpx.Client(base_url=base, timeout=5) as c:
        token = c.post("/v1/tokens", data=CREDENTIALS).json()["access_token"]
        headers = {
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": "proc-1",
            "Content-Digest": content_digest(raw),
            "Content-Type": "application/json",
        }
        first = c.post("/v1/evidence", content=raw, headers=headers)
        assert first.status_code == 201
        assert json.loads(receiver.next().body)["evidence_id"] == first.json()["evidence_id"]
        pem = c.get("/v1/keys/signing.pem").text

    text = log.read_text()
    assert "WARNING" in text and "development default" in text
    assert "development admin token" in text  # announced by name (issue 13) ...
    assert "mc-admin-dev" not in text and "companyos-dev-secret" not in text  # ... never by value
    assert (data / "signing-key.pem").exists() and (data / "conductor.db").exists()

    with conductor(data, log) as base, httpx.Client(base_url=base, timeout=5) as c:
        assert c.get("/v1/keys/signing.pem").text == pem  # same key after restart
        token = c.post("/v1/tokens", data=CREDENTIALS).json()["access_token"]
        headers["Authorization"] = f"Bearer {token}"
        stored = c.get(first.headers["location"], headers={"Authorization": f"Bearer {token}"})
        assert stored.status_code == 200 and stored.json()["evidence"] == doc
        replay = c.post("/v1/evidence", content=raw, headers=headers)
        assert replay.status_code == 201
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == first.json()
        assert c.get("/admin/evidence", headers=ADMIN).status_code == 404  # not on the public port
        ledger = httpx.get(f"{admin_url(base)}/admin/evidence", headers=ADMIN, timeout=5).json()
        assert ledger["by_key"] == {"proc-1": 1}
        assert ledger["items"][0]["receipt"]["state"] == "delivered"
    assert receiver.requests.empty()  # the replay after restart sent no second receipt


def test_process_announces_mutations_and_rejects_unknown(tmp_path: Path) -> None:
    log = tmp_path / "mc.log"
    with conductor(tmp_path / "d", log, "--seam-mutation", "mc.etag-weak", "--allow-test-hooks") as base:
        assert httpx.get(f"{base}/healthz").status_code == 200
    assert "SEAM MUTATIONS ACTIVE" in log.read_text() and "mc.etag-weak" in log.read_text()
    bad = subprocess.run(
        [sys.executable, "-m", "conductor", "--seam-mutation", "mc.nope", "--data-dir", str(tmp_path / "x")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and "unknown MC seam mutation" in bad.stderr


def test_admin_api_is_on_its_own_loopback_listener(tmp_path: Path) -> None:
    """Issue 13: the admin API is not on the public port; its own listener answers it."""
    with conductor(tmp_path / "d", tmp_path / "mc.log") as base:
        public = httpx.get(f"{base}/admin/evidence", headers=ADMIN, timeout=5)
        assert public.status_code == 404 and public.headers["content-type"] == "application/problem+json"
        assert "/admin/reset" not in httpx.get(f"{base}/openapi.json", timeout=5).json()["paths"]
        admin = admin_url(base)
        assert httpx.get(f"{admin}/admin/evidence", headers=ADMIN, timeout=5).json()["total"] == 0
        assert httpx.get(f"{admin}/admin/evidence", timeout=5).status_code == 401  # still needs the token
        assert "/admin/reset" in httpx.get(f"{admin}/openapi.json", timeout=5).json()["paths"]
        assert httpx.get(f"{admin}/v1/keys", timeout=5).status_code == 404  # and serves nothing public
    assert "admin API on http://127.0.0.1:" in (tmp_path / "mc.log").read_text()


@pytest.mark.parametrize(
    ("flags", "exposed"),
    [
        (["--host", "0.0.0.0"], "public 0.0.0.0"),  # noqa: S104 - the bind being refused
        (["--admin-host", "0.0.0.0"], "admin 0.0.0.0"),  # noqa: S104
    ],
)
def test_dev_credentials_are_refused_on_a_non_loopback_bind(
    tmp_path: Path, flags: list[str], exposed: str
) -> None:
    """Issue 13: the public dev secret/admin token never serve beyond loopback by accident."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MC_", "SEAM_"))}
    argv = [sys.executable, "-m", "conductor", "--data-dir", str(tmp_path / "d"), "--port", "0", *flags]
    refused = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2, refused.stderr
    assert (
        f"refusing to serve the development client secret and admin token on the non-loopback bind {exposed}"
        in (refused.stderr)
    )
    assert "--insecure-dev-credentials" in refused.stderr
    assert "mc-admin-dev" not in refused.stderr and "companyos-dev-secret" not in refused.stderr


def test_real_credentials_or_the_insecure_flag_allow_a_non_loopback_bind() -> None:
    """The refusal is about the dev credentials, not the bind: both ways out are accepted."""
    from conductor.__main__ import build_parser, settings_from_args

    wide = ["--host", "0.0.0.0", "--admin-host", "0.0.0.0"]  # noqa: S104 - parsed, never bound
    real = settings_from_args(
        build_parser().parse_args([*wide, "--client-secret", "s3", "--admin-token", "a7"])
    )
    assert (
        real.non_loopback_binds() == ["public 0.0.0.0", "admin 0.0.0.0"] and not real.dev_credentials_in_use()
    )
    insecure = settings_from_args(build_parser().parse_args([*wide, "--insecure-dev-credentials"]))
    assert insecure.dev_credentials_in_use() == ["client secret", "admin token"]
    with pytest.raises(ValueError, match="development admin token"):  # one dev credential left: refused
        settings_from_args(build_parser().parse_args([*wide, "--client-secret", "s3"]))


def test_keep_alive_answers_do_not_wait_for_delayed_acks(tmp_path: Path) -> None:
    """MC binds its two listeners itself; a socket made without proto=TCP keeps Nagle on for every
    accepted connection (asyncio only sets TCP_NODELAY when the proto says TCP), so each keep-alive
    answer (head and body written apart) waited ~40 ms for the client's delayed ACK. A plain
    `/healthz` on a reused connection must take a few milliseconds, on both listeners."""
    with conductor(tmp_path / "d", tmp_path / "mc.log") as base:
        for url in (f"{base}/healthz", f"{admin_url(base)}/healthz"):
            with httpx.Client(timeout=5) as keep_alive:
                keep_alive.get(url)  # the connection, set up once
                samples = []
                for _ in range(15):
                    started = time.perf_counter()
                    assert keep_alive.get(url).status_code == 200
                    samples.append(time.perf_counter() - started)
            median_ms = sorted(samples)[len(samples) // 2] * 1000
            assert median_ms < 25, (
                f"{url}: median {median_ms:.1f} ms per keep-alive answer (delayed-ACK stall ≥ 40 ms)"
            )
