"""The notification steps can fail, on the real stack; the receiver refuses what is not a notification.

features/notifications.feature proves a broken contract run notifies and a green run does not.
These show its two Then steps are not true of everything: on a broken run "no notification"
fails, on a green run "a notification names the gate" fails (bounded: it times out).
"""

from __future__ import annotations

import http.client
import json
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from harness.domain import notifications  # noqa: E402
from harness.kit import debian_tools, obs_stack, readiness  # noqa: E402
from harness.kit.alert_receiver import WebhookReceiver  # noqa: E402


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    for tool in ("prometheus", "pushgateway", "alertmanager"):
        if reason := debian_tools.skip_reason(tool):
            pytest.skip(reason)
    reports, notifications.REPORTS = notifications.REPORTS, tmp_path_factory.mktemp("reports")
    try:
        with obs_stack.running(tmp_path_factory.mktemp("obs-logs"), lifetime_s=120) as running_stack:
            yield running_stack
    finally:
        notifications.REPORTS = reports


@pytest.mark.slow
def test_the_no_notification_step_fails_on_a_broken_run(stack):
    run = notifications.push(stack, notifications.broken_contract_run())
    with pytest.raises(AssertionError, match="ContractGateFailed|notified"):
        notifications.expect_no_notification(stack, run)


@pytest.mark.slow
def test_the_notification_step_fails_on_a_green_run(stack):
    run = notifications.push(stack, notifications.green_run())
    started = time.monotonic()
    with pytest.raises(readiness.NotReady, match="naming gate 'contracts'"):
        notifications.expect_notification(stack, run, "contracts", within_s=6)
    assert time.monotonic() - started < 10  # bounded: it gives up at its budget
    assert notifications.about(stack, run) == []


@pytest.mark.slow
def test_the_servers_listen_on_loopback_only(stack):
    for url in (stack.prometheus_url, stack.pushgateway_url, stack.alertmanager_url):
        assert url.startswith("http://127.0.0.1:"), url
    for proc in stack.processes:
        assert proc.argv[:2] == ["timeout", "-k"], proc.argv  # bounded lifetime
    alertmanager = next(p for p in stack.processes if p.name == "alertmanager")
    assert "--cluster.listen-address=" in alertmanager.argv  # no gossip port on 0.0.0.0


def test_the_receiver_refuses_a_body_that_is_not_a_notification():
    with WebhookReceiver() as rx:
        answer = httpx.post(rx.url, content=b"[1, 2]", headers={"Content-Type": "application/json"})
        assert answer.status_code == 400
        assert answer.headers["content-type"] == "application/problem+json"
        assert "not a JSON object" in answer.json()["detail"]
        bad = httpx.post(rx.url, content=b"{nope")
        assert bad.status_code == 400 and "not JSON" in bad.json()["detail"]
        host_port = rx.url.split("/")[2]
        conn = http.client.HTTPConnection(host_port, timeout=5)  # httpx refuses to send a bad length
        conn.putrequest("POST", "/alerts")
        conn.putheader("Content-Length", "two")
        conn.endheaders(b"{}")
        length = conn.getresponse()
        assert length.status == 400 and b"Content-Length" in length.read()
        conn.close()
        ok = httpx.post(
            rx.url,
            content=json.dumps({"alerts": [{"status": "firing", "labels": {"alertname": "X", "gate": "g"}}]}),
        )
        assert ok.status_code == 200
        assert [(n.alertname, n.gate) for n in rx.notifications()] == [("X", "g")]


def test_only_the_real_run_reaches_the_team_webhook(monkeypatch, tmp_path):
    """The scenarios' made-up broken runs must not page the team: their stacks get no chat webhook."""
    seen: dict[str, object] = {}

    class Recorder:
        def __init__(self, logs_to, *, lifetime_s, extra_webhook):
            seen[str(logs_to)] = extra_webhook

        def __enter__(self):
            return None

        def __exit__(self, *exc):
            return False

    monkeypatch.setenv("ALERT_WEBHOOK_URL", "https://chat.invalid/hook")
    monkeypatch.setattr(notifications, "running", Recorder)
    with notifications.observability_stack(tmp_path / "scenario", notify_team=False):
        pass
    with notifications.observability_stack(tmp_path / "run", notify_team=True):
        pass
    assert list(seen.values()) == [None, "https://chat.invalid/hook"], seen
