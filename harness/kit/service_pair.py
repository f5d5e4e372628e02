"""MC and a COS integrated with it, as processes on free loopback ports.

Why here: the measurement scripts (scripts/bench.py's integrated row, scripts/seam_traffic.py)
and tests that need a plain integrated pair all start the same two processes the same way;
the suite's own environments do more (fault proxy, pinned key, restarts) and live in
harness/env/backends/process.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.kit.ports import LOOPBACK, free_port
from harness.kit.processes import ManagedProcess, python_module
from harness.kit.readiness import http_ready, wait_until

READY_BUDGET_S = 30.0
RECEIPT_PATH = "/v1/callbacks/evidence-receipts"


@dataclass
class IntegratedPair:
    mc: ManagedProcess
    cos: ManagedProcess
    mc_url: str
    mc_admin_url: str  # MC's admin listener (its own port)
    cos_url: str

    def stop(self) -> None:
        self.cos.stop()
        self.mc.stop()


def start_integrated_pair(
    root: Path,
    logs: Path,
    *,
    env: dict[str, str] | None = None,
    receipts: bool = True,
    cos_args: tuple[str, ...] = ("--log-level", "warning"),
) -> IntegratedPair:
    """MC (receipts to the COS unless `receipts=False`), then COS in integrated mode, both ready."""
    mc_port, admin_port, cos_port = free_port(), free_port(), free_port()
    mc_url, cos_url = f"http://{LOOPBACK}:{mc_port}", f"http://{LOOPBACK}:{cos_port}"
    callback = ("--callback-url", f"{cos_url}{RECEIPT_PATH}") if receipts else ()
    mc = ManagedProcess(
        "conductor",
        python_module(
            "conductor",
            *("--host", LOOPBACK, "--port", str(mc_port), "--admin-port", str(admin_port)),
            *("--data-dir", str(root / "mc"), *callback),
        ),
        logs / "conductor.log",
        env=dict(env or {}),
    ).start()
    cos = ManagedProcess(
        "companyos",
        python_module(
            "companyos",
            *("--host", LOOPBACK, "--port", str(cos_port), "--data-dir", str(root / "cos")),
            *("--mode", "integrated", "--mc-url", mc_url, *cos_args),
        ),
        logs / "companyos.log",
        env=dict(env or {}),
    )
    pair = IntegratedPair(mc, cos, mc_url, f"http://{LOOPBACK}:{admin_port}", cos_url)
    try:
        wait_until("MC", http_ready(f"{mc_url}/readyz"), READY_BUDGET_S, alive=mc.alive)
        cos.start()
        wait_until("integrated COS", http_ready(f"{cos_url}/readyz"), READY_BUDGET_S, alive=cos.alive)
    except BaseException:
        pair.stop()
        raise
    return pair
