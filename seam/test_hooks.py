"""Test hooks that cannot be switched on by accident.

Both services take test-only switches — seam mutations (`SEAM_MUTATIONS`, docs/mutations.md),
COS's added latency (`COS_TEST_LATENCY_MS`), MC's evidence delay (`MC_TEST_EVIDENCE_DELAY_MS`).
An environment variable can leak into a real deployment, so a requested hook takes effect only
when the service is started with the explicit `--allow-test-hooks` flag *and* binds a loopback
address; otherwise the service refuses to start and says why (a loud failure beats a production
service that quietly breaks its own contract). Active hooks are listed in `/healthz` and exported
as the `test_hooks_active` gauge, so a report or a dashboard shows them.
"""

from __future__ import annotations

import ipaddress

FLAG = "--allow-test-hooks"


class TestHooksRefused(SystemExit):
    """Test hooks were requested where they may not run; the message says what to change."""

    __test__ = False  # not a pytest test class, whatever its name


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def guard(service: str, hooks: list[str], allowed: bool, host: str) -> tuple[str, ...]:
    """The hooks that may run, or TestHooksRefused naming them and what is missing."""
    if not hooks:
        return ()
    listed = ", ".join(hooks)
    if not allowed:
        raise TestHooksRefused(
            f"{service}: test hooks requested ({listed}) without {FLAG}: refusing to start. "
            f"Unset them, or pass {FLAG} on a loopback bind for a test run."
        )
    if not is_loopback(host):
        raise TestHooksRefused(
            f"{service}: test hooks ({listed}) run only on a loopback bind, not on {host}: refusing to start."
        )
    return tuple(hooks)
