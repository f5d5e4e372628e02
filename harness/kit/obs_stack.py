"""Prometheus, Pushgateway and Alertmanager on loopback, for the length of a stage.

`running()` renders observability/prometheus.yml and alertmanager.yml into a temporary
folder (free ports, the rules of observability/alerts.yml, the webhook receiver's URL),
starts Debian's binaries bound to 127.0.0.1 only, waits for each `/-/ready`, and stops them
all on exit. Their lifetime is bounded twice: each runs under `timeout` (killed after
`lifetime_s` whatever happens) and as a ManagedProcess (killed if the harness dies).
Alertmanager's gossip listener, which binds every interface by default, is turned off.

The GitHub workflow's chat webhook (secret ALERT_WEBHOOK_URL) is added as a second
receiver URL; it lives only in the temporary config, and the logs copied to reports/ have
it replaced, so no artifact carries it.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from string import Template

import httpx
import yaml

from harness.kit import debian_tools, readiness
from harness.kit.alert_receiver import WebhookReceiver
from harness.kit.ports import LOOPBACK, free_port
from harness.kit.processes import ManagedProcess

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "observability"
RULES = CONFIG_DIR / "alerts.yml"
READY_BUDGET_S = 30.0
REDACTED = "<ALERT_WEBHOOK_URL>"


@dataclass
class ObsStack:
    prometheus_url: str
    pushgateway_url: str
    alertmanager_url: str
    receiver: WebhookReceiver
    startup_s: float
    processes: list[ManagedProcess] = field(default_factory=list)

    def query(self, expr: str) -> list[dict]:
        """Prometheus's instant-query result for `expr` (the `result` list)."""
        answer = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=5)
        answer.raise_for_status()
        return answer.json()["data"]["result"]

    def rules_evaluated_since(self, unix_s: float) -> bool:
        """Every rule group was evaluated after `unix_s` (so a series scraped before then was judged)."""
        answer = httpx.get(f"{self.prometheus_url}/api/v1/rules", timeout=5)
        answer.raise_for_status()
        groups = answer.json()["data"]["groups"]
        return bool(groups) and all(_unix(g.get("lastEvaluation", "")) > unix_s for g in groups)

    def alive(self) -> bool:
        return all(p.alive() for p in self.processes)


def _unix(rfc3339: str) -> float:
    try:
        return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def render_prometheus(rules: Path, pushgateway: str, alertmanager: str) -> str:
    template = Template((CONFIG_DIR / "prometheus.yml").read_text())
    return template.substitute(RULES=str(rules), PUSHGATEWAY=pushgateway, ALERTMANAGER=alertmanager)


def render_alertmanager(webhook_url: str, extra_webhook: str | None = None) -> str:
    """alertmanager.yml with the local receiver; the chat webhook (if any) as a second URL."""
    config = yaml.safe_load(
        Template((CONFIG_DIR / "alertmanager.yml").read_text()).substitute(WEBHOOK_URL=webhook_url)
    )
    if extra_webhook:
        hooks = config["receivers"][0]["webhook_configs"]
        hooks.append({**hooks[0], "url": extra_webhook})
    return yaml.safe_dump(config, sort_keys=False)


def _bounded(lifetime_s: float, argv: list[str]) -> list[str]:
    """argv under coreutils `timeout`: TERM after `lifetime_s`, KILL 5 s later."""
    return ["timeout", "-k", "5", f"{lifetime_s:.0f}", *argv]


@contextmanager
def running(
    logs_to: Path | None = None, *, lifetime_s: float = 300.0, extra_webhook: str | None = None
) -> Iterator[ObsStack]:
    """The three servers and the webhook receiver, ready; all stopped (and logs copied) on exit."""
    binaries = {tool: debian_tools.require(tool) for tool in ("prometheus", "pushgateway", "alertmanager")}
    work = Path(tempfile.mkdtemp(prefix="obs-stack-"))
    ports = {name: free_port() for name in ("prometheus", "pushgateway", "alertmanager")}
    addr = {name: f"{LOOPBACK}:{port}" for name, port in ports.items()}
    processes: list[ManagedProcess] = []
    started = time.monotonic()
    with WebhookReceiver() as receiver:
        try:
            (work / "prometheus.yml").write_text(
                render_prometheus(RULES, addr["pushgateway"], addr["alertmanager"])
            )
            (work / "alertmanager.yml").write_text(render_alertmanager(receiver.url, extra_webhook))
            argvs = {
                "pushgateway": [binaries["pushgateway"], f"--web.listen-address={addr['pushgateway']}"],
                "alertmanager": [
                    binaries["alertmanager"],
                    f"--config.file={work / 'alertmanager.yml'}",
                    f"--storage.path={work / 'alertmanager-data'}",
                    f"--web.listen-address={addr['alertmanager']}",
                    "--cluster.listen-address=",  # no gossip port on every interface
                ],
                "prometheus": [
                    binaries["prometheus"],
                    f"--config.file={work / 'prometheus.yml'}",
                    f"--storage.tsdb.path={work / 'prometheus-data'}",
                    f"--web.listen-address={addr['prometheus']}",
                    "--storage.tsdb.retention.time=1h",
                    "--rules.alert.resend-delay=1s",
                ],
            }
            for name, argv in argvs.items():
                processes.append(
                    ManagedProcess(name, _bounded(lifetime_s, argv), work / f"{name}.log").start()
                )
            for proc in processes:
                url = f"http://{addr[proc.name]}/-/ready"
                readiness.wait_until(
                    f"{proc.name} ready at {url}", readiness.http_ready(url), READY_BUDGET_S, 0.1, proc.alive
                )
            stack = ObsStack(
                prometheus_url=f"http://{addr['prometheus']}",
                pushgateway_url=f"http://{addr['pushgateway']}",
                alertmanager_url=f"http://{addr['alertmanager']}",
                receiver=receiver,
                startup_s=0.0,
                processes=processes,
            )
            # Ready means scraping: Prometheus applies its targets only after a few seconds, and a
            # push before its first scrape of the Pushgateway would be timed from the wrong moment.
            readiness.wait_until(
                "Prometheus scraping the Pushgateway (up == 1)",
                lambda: any(r["value"][1] == "1" for r in stack.query('up{job="pushgateway"}')),
                READY_BUDGET_S,
                0.1,
                stack.alive,
            )
            stack.startup_s = time.monotonic() - started
            yield stack
        finally:
            for proc in processes:
                proc.stop(grace_s=3.0)
            if logs_to is not None:
                _copy_logs(processes, logs_to, extra_webhook)
            shutil.rmtree(work, ignore_errors=True)


def _copy_logs(processes: list[ManagedProcess], target: Path, secret: str | None) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for proc in processes:
        text = proc.log_tail(200_000)
        (target / f"{proc.name}.log").write_text(text.replace(secret, REDACTED) if secret else text)
