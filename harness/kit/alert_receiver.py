"""The notification channel of the local observability stack: Alertmanager's webhook, received.

A small HTTP server on 127.0.0.1 (free port) that records every notification Alertmanager
POSTs (webhook payload version 4), with the monotonic time it arrived, so a scenario can
say *which* alerts reached QA/Engineering, naming which gate and run, and how long after
the run's metrics were pushed. Anything that is not a JSON object is answered 400 with a
problem+json reason (and not recorded).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from harness.kit.loopback_server import LoopbackServer

MAX_BODY = 1 << 20


@dataclass(frozen=True)
class Notification:
    """One alert out of a webhook POST (Alertmanager groups several into one POST)."""

    received_at: float  # time.monotonic()
    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def gate(self) -> str:
        return self.labels.get("gate", "")

    @property
    def run(self) -> str:
        return self.labels.get("ci_run", "")

    def describe(self) -> str:
        return f"{self.alertname} gate={self.gate} run={self.run}: {self.annotations.get('summary', '')}"


class WebhookReceiver:
    """Start with `with WebhookReceiver() as rx:`; `rx.url` is what Alertmanager posts to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Notification] = []
        self._server = LoopbackServer(self._handler(), "alert-receiver")

    @property
    def url(self) -> str:
        return f"{self._server.base_url}/alerts"

    def __enter__(self) -> WebhookReceiver:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    def notifications(self) -> list[Notification]:
        with self._lock:
            return list(self._received)

    def _record(self, payload: dict) -> None:
        now = time.monotonic()
        found = [
            Notification(
                received_at=now,
                status=str(alert.get("status", payload.get("status", ""))),
                labels={str(k): str(v) for k, v in (alert.get("labels") or {}).items()},
                annotations={str(k): str(v) for k, v in (alert.get("annotations") or {}).items()},
            )
            for alert in payload.get("alerts") or []
            if isinstance(alert, dict)
        ]
        with self._lock:
            self._received.extend(found)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    return self._problem(400, "Content-Length is not a number")
                if length < 0 or length > MAX_BODY:
                    return self._problem(413, "notification larger than 1 MiB (or a negative length)")
                try:
                    payload = json.loads(self.rfile.read(length) or b"null")
                except (ValueError, UnicodeDecodeError) as exc:
                    return self._problem(400, f"body is not JSON: {exc}")
                if not isinstance(payload, dict):
                    return self._problem(400, "body is not a JSON object (Alertmanager webhook payload)")
                receiver._record(payload)  # noqa: SLF001 - the receiver owns this handler
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _problem(self, status: int, detail: str) -> None:
                body = json.dumps(
                    {"type": "about:blank", "title": "bad notification", "status": status, "detail": detail}
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/problem+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:  # quiet: the stage log shows what arrived
                pass

        return Handler
