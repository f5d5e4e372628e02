"""What /healthz and /readyz report, from the runtime facts the tasks record.

`RuntimeStatus` is the small mutable record the fetcher and publisher update
(MC reachability, last reload, last fetch error); the functions here turn it
plus the active policy and the outbox into the documented health body.
Status is `degraded` in integrated mode whenever COS is not enforcing a pack
from MC or cannot currently reach MC — it still serves, from LKG or local.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from companyos.policy_engine import ActivePolicy, rfc3339


@dataclass
class RuntimeStatus:
    mode: str
    started_at: float = field(default_factory=time.time)
    mc_reachable: bool | None = None  # None: never contacted (or standalone)
    mc_last_contact: float | None = None
    last_reload: dict[str, Any] | None = None
    last_fetch_error: dict[str, Any] | None = None
    fetch_backoff_s: float = 0.0
    publisher_backoff: bool = False
    trust: dict[str, Any] | None = None  # set by companyos/key_watch.py: MC no longer signs with the pin
    hide_degraded: bool = False  # test-only mutation cos.degraded-not-reported
    test_hooks: tuple[str, ...] = ()  # switched on with --allow-test-hooks (seam/test_hooks.py)

    def mc_ok(self) -> None:
        self.mc_reachable = True
        self.mc_last_contact = time.time()

    def mc_down(self) -> None:
        self.mc_reachable = False

    def reload(self, outcome: str, **details: Any) -> None:
        self.last_reload = {"outcome": outcome, "at": rfc3339(time.time()), **details}


def healthz(
    status: RuntimeStatus, policy: ActivePolicy | None, outbox_depth: int | None, callback_url: str | None
) -> dict[str, Any]:
    integrated = status.mode == "integrated"
    degraded = policy is None or outbox_depth is None
    if integrated:
        degraded = degraded or status.mc_reachable is not True or policy is None or policy.source != "mc"
        degraded = degraded or status.trust is not None
    if status.hide_degraded:
        degraded = False
    body: dict[str, Any] = {
        "status": "degraded" if degraded else "ok",
        "mode": status.mode,
        "pack": policy.describe() if policy else None,
        "digest_age_s": round(time.time() - policy.loaded_at, 3) if policy else None,
        "last_reload": status.last_reload,
        "mc_reachable": status.mc_reachable if integrated else None,
        "outbox_depth": outbox_depth,
        "uptime_s": round(time.time() - status.started_at, 3),
    }
    if status.test_hooks:  # only ever on a loopback test run; never part of a production answer
        body["test_hooks"] = list(status.test_hooks)
    if integrated:
        body["mc_last_contact"] = rfc3339(status.mc_last_contact) if status.mc_last_contact else None
        body["last_fetch_error"] = status.last_fetch_error
        body["fetch_backoff_s"] = round(status.fetch_backoff_s, 3)
        body["callback_url"] = callback_url
        body["trust"] = status.trust
    return body


def ready(policy: ActivePolicy | None, storage_ok: bool) -> tuple[bool, dict[str, Any]]:
    return policy is not None and storage_ok, {
        "ready": policy is not None and storage_ok,
        "pack_loaded": policy is not None,
        "storage_open": storage_ok,
    }
