"""Helpers for the COS tests: ports, bounded waits, evidence documents, real MC/COS processes.

Everything listens on 127.0.0.1 only. Readiness is always a bounded poll,
never a bare sleep, and a wait that runs out fails saying what it last saw.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": "Bearer mc-admin-dev"}
PACK = "policy-pack-v0"
QA = ("qa", "qa-dev-password")
RECEIPT_PATH = "/v1/callbacks/evidence-receipts"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float = 10.0, interval_s: float = 0.05) -> Any:
    """Poll `probe` until it returns something truthy; fail with the last value after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while True:
        try:
            last = probe()
        except (httpx.TransportError, OSError) as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last: {last!r}")
        time.sleep(interval_s)


def evidence_doc(**overrides: Any) -> dict[str, Any]:
    nonce = uuid.uuid4().hex
    doc: dict[str, Any] = {
        "release": f"2026.11.{nonce[:6]}",
        "kind": "test-report",
        "subject": {"name": "payments-api", "digest": {"sha256": hashlib.sha256(nonce.encode()).hexdigest()}},
        "produced_at": "2026-11-26T06:00:00Z",
        "payload": {"passed": 12, "failed": 0},
    }
    doc.update(overrides)
    return doc


def new_key() -> str:
    return f"test-{uuid.uuid4()}"


def login(url: str, user: tuple[str, str] = QA) -> str:
    r = httpx.post(f"{url}/v1/login", json={"username": user[0], "password": user[1]}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def metric(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    """Sum of the samples of `name` whose labels include `labels` (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        base, _, label_text = series.partition("{")
        if base != name:
            continue
        if labels and not all(f'{k}="{v}"' in label_text for k, v in labels.items()):
            continue
        total += float(value)
    return total


def scrape(url: str, name: str, labels: dict[str, str] | None = None) -> float:
    return metric(httpx.get(f"{url}/metrics", timeout=5).text, name, labels)


def rego_with_frozen(frozen: list[str]) -> dict[str, str]:
    """The example pack's files with a different `frozen_actions` list (changes decisions)."""
    files = {p.name: p.read_text() for p in (REPO / "policy" / PACK).iterdir()}
    data = json.loads(files["data.json"])
    data["frozen_actions"] = frozen
    files["data.json"] = json.dumps(data)
    return files


@dataclass
class Proc:
    """A service subprocess with its log file; stopped with SIGTERM or SIGKILL by pid."""

    name: str
    url: str
    port: int
    data_dir: Path
    popen: subprocess.Popen
    log_path: Path
    admin_url: str | None = None  # MC only: the admin API's own listener

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait_ready(self, timeout_s: float = 20.0) -> None:
        def ready() -> bool:
            if not self.alive():
                raise AssertionError(f"{self.name} exited early:\n{self.log()}")
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200

        wait_for(f"{self.name} /readyz", ready, timeout_s)

    def kill9(self) -> None:
        if self.alive():
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def log(self) -> str:
        try:
            return self.log_path.read_text()[-4000:]
        except OSError:
            return ""


def start_proc(
    name: str, module: str, port: int, data_dir: Path, args: list[str], env: dict | None = None
) -> Proc:
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"{name}-{port}.log"
    fh = log_path.open("ab")
    popen = subprocess.Popen(
        [
            sys.executable,
            "-m",
            module,
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--allow-test-hooks",
            *args,
        ],
        cwd=REPO,
        stdout=fh,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    fh.close()
    return Proc(name, f"http://127.0.0.1:{port}", port, data_dir, popen, log_path)


def wait_drained(cos_url: str, timeout_s: float) -> None:
    """Bounded wait until a (restarted) COS reports an empty outbox."""
    wait_for(
        "the restarted COS to drain its outbox",
        lambda: httpx.get(f"{cos_url}/healthz").json()["outbox_depth"] == 0,
        timeout_s=timeout_s,
        interval_s=0.1,
    )


def start_mc(
    data_dir: Path, port: int | None = None, *, callback_url: str | None = None, extra: list[str] = ()
) -> Proc:
    port, admin_port = port or free_port(), free_port()
    args = [
        *(["--callback-url", callback_url] if callback_url else []),
        "--admin-port",
        str(admin_port),
        *extra,
    ]
    proc = start_proc("mc", "conductor", port, data_dir, args)
    proc.admin_url = f"http://127.0.0.1:{admin_port}"
    proc.wait_ready()
    return proc


def start_cos_proc(
    data_dir: Path, port: int, mc_url: str, *, extra: list[str] = (), wait: bool = True
) -> Proc:
    args = [
        "--mode",
        "integrated",
        "--mc-url",
        mc_url,
        "--poll-interval",
        "0.5",
        "--max-backoff",
        "1",
        *extra,
    ]
    proc = start_proc("cos", "companyos", port, data_dir, args)
    if wait:
        proc.wait_ready()
    return proc


@dataclass
class MC:
    """Admin view of a running MC (admin calls go to its admin listener)."""

    url: str
    proc: Proc | None = None
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    @property
    def admin_url(self) -> str:
        assert self.proc is not None and self.proc.admin_url, "an MC started by start_mc"
        return self.proc.admin_url

    def reset(self) -> None:
        r = self.http.post(f"{self.admin_url}/admin/reset", headers=ADMIN)
        assert r.status_code == 200, r.text

    def set_callback(self, cos_url: str) -> None:
        r = self.http.put(
            f"{self.admin_url}/admin/clients/companyos/callback",
            headers=ADMIN,
            json={"url": cos_url + RECEIPT_PATH},
        )
        assert r.status_code == 200, r.text

    def publish(self, revision: str, files: dict[str, str], signing: str = "valid") -> dict[str, Any]:
        r = self.http.post(
            f"{self.admin_url}/admin/packs/{PACK}/revisions",
            headers=ADMIN,
            json={"revision": revision, "files": files, "signing": signing},
        )
        assert r.status_code == 201, r.text
        return r.json()

    def evidence(self) -> dict[str, Any]:
        r = self.http.get(f"{self.admin_url}/admin/evidence", headers=ADMIN)
        assert r.status_code == 200, r.text
        return r.json()

    def signing_pem(self) -> str:
        return self.http.get(f"{self.url}/v1/keys/signing.pem").text
