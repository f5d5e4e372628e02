"""MC's admin API on its own listener in every deployment we ship (issue 13).

Compose publishes it on the host's loopback only and never hands MC the dev credentials on its
0.0.0.0 bind by default; Kubernetes keeps it on the pod's loopback, out of the Service and the
NetworkPolicy (an operator reaches it with `kubectl port-forward`).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from conductor.__main__ import build_parser, settings_from_args

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s" / "overlays" / "integrated"


def _flags(args: list[str]) -> dict[str, str]:
    return dict(a.removeprefix("--").split("=", 1) for a in args if a.startswith("--") and "=" in a)


def test_compose_publishes_the_admin_listener_on_loopback_only() -> None:
    mc = yaml.safe_load((REPO / "compose" / "integrated.yml").read_text())["services"]["mc"]
    flags = _flags(mc["command"])
    assert flags["admin-port"] == "8790" and flags["admin-port"] != flags["port"]
    admin_ports = [p for p in mc["ports"] if p.endswith(":8790")]
    assert admin_ports == ["127.0.0.1:${MC_ADMIN_HOST_PORT:-8790}:8790"]
    # Empty by default: MC refuses its dev credentials on this bind unless someone opts in.
    assert mc["environment"]["MC_INSECURE_DEV_CREDENTIALS"] == "${MC_INSECURE_DEV_CREDENTIALS:-}"


def test_compose_mc_command_is_refused_with_dev_credentials_and_accepted_with_real_ones() -> None:
    """The compose command line, parsed by MC itself: the dev defaults do not start."""
    mc = yaml.safe_load((REPO / "compose" / "integrated.yml").read_text())["services"]["mc"]
    argv = [a for a in mc["command"] if a.startswith("--")]
    try:
        settings_from_args(build_parser().parse_args(argv))
    except ValueError as refused:
        assert "non-loopback bind public 0.0.0.0, admin 0.0.0.0" in str(refused)
    else:
        raise AssertionError("MC accepted the dev credentials on the compose bind")
    real = settings_from_args(build_parser().parse_args([*argv, "--client-secret=x1", "--admin-token=y2"]))
    assert real.admin_port == 8790


def test_kubernetes_keeps_the_admin_listener_on_the_pod_loopback() -> None:
    deployment = yaml.safe_load((K8S / "mc-deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    flags = _flags(container["args"])
    assert flags["admin-host"] == "127.0.0.1" and flags["admin-port"] == "8790"
    assert all(p["containerPort"] != 8790 for p in container["ports"])
    service = yaml.safe_load((K8S / "mc-service.yaml").read_text())
    assert [p["port"] for p in service["spec"]["ports"]] == [8700]
    policy = (K8S / "networkpolicy.yaml").read_text()
    assert "8790" not in policy
