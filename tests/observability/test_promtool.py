"""The alert rules and the stack's configs, checked by Prometheus's and Alertmanager's own tools.

`promtool check rules` (syntax, templates), `promtool test rules` (observability/alerts.test.yml:
each rule fires on its failure, names gate and run, and a green run fires nothing),
`promtool check config` and `amtool check-config` on the configs harness/kit/obs_stack.py renders.
Skipped only when the tools are absent and scripts/install-debian-tools.sh never ran here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from harness.kit import debian_tools, obs_stack  # noqa: E402

OBS = REPO / "observability"


def tool(name: str) -> str:
    if reason := debian_tools.skip_reason(name):
        pytest.skip(reason)
    return debian_tools.require(name)


def run(*argv: str, cwd: Path = OBS) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_promtool_checks_the_alert_rules():
    proc = run(tool("promtool"), "check", "rules", str(OBS / "alerts.yml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 5 rules found" in proc.stdout, proc.stdout


def test_promtool_unit_tests_of_the_rules_pass():
    proc = run(tool("promtool"), "test", "rules", "alerts.test.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_rule_tests_fail_when_a_rule_is_broken(tmp_path):
    """The unit tests can fail: a contract rule that needs 3 failures misses the 2-failure run."""
    promtool = tool("promtool")
    shutil.copy(OBS / "alerts.test.yml", tmp_path)
    rules = (OBS / "alerts.yml").read_text()
    assert "expr: contract_test_failures > 0" in rules
    (tmp_path / "alerts.yml").write_text(
        rules.replace("contract_test_failures > 0", "contract_test_failures > 2")
    )
    proc = run(promtool, "test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert proc.returncode != 0, proc.stdout
    assert "alertname: ContractGateFailed" in proc.stdout + proc.stderr


def test_the_rendered_prometheus_config_passes_promtool(tmp_path):
    config = tmp_path / "prometheus.yml"
    config.write_text(obs_stack.render_prometheus(OBS / "alerts.yml", "127.0.0.1:9091", "127.0.0.1:9093"))
    proc = run(tool("promtool"), "check", "config", str(config))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_the_rendered_alertmanager_config_passes_amtool(tmp_path):
    tool("alertmanager")  # amtool ships with it
    amtool = shutil.which("amtool")
    assert amtool, "amtool missing although Alertmanager is installed"
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        obs_stack.render_alertmanager("http://127.0.0.1:1/alerts", extra_webhook="https://chat.invalid/hook")
    )
    proc = run(amtool, "check-config", str(config))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 receivers" in proc.stdout, proc.stdout
    assert config.read_text().count("url:") == 2  # the local receiver and the chat webhook
