"""Before the first scenario on `backend=external`: is the environment what the suite needs?

The suite does not own an external deployment, so it checks — in the order a
person would debug it — that COS (and MC) answer, in the mode the selected
scenarios need, that the credentials it was given work, that MC's receipt
callback for the COS client points at COS (set through MC's admin API: without
it evidence is never acknowledged), that MC can reach COS there, and that the
named Toxiproxy proxy exists. The first check that fails stops the run with a
message that says what to configure; every check that passed is printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from harness.env.environments import Environment
from harness.kit.readiness import NotReady, http_ready, wait_until

READY_BUDGET_S = 30.0  # the runbook starts the services in the background just before the suite
RECEIPT_PATH = "/v1/callbacks/evidence-receipts"


class PreflightError(AssertionError):
    """The environment lacks something the suite needs; the message says what to configure."""


@dataclass
class Preflight:
    lines: list[str] = field(default_factory=list)

    def ok(self, line: str) -> None:
        self.lines.append(f"  ok   {line}")
        print(f"preflight: ok   {line}", flush=True)


def run(envs: dict[str, Environment], userdata: dict[str, str]) -> Preflight:
    """Check every mode's environment; raise PreflightError at the first gap."""
    report = Preflight()
    wait_s = float(userdata.get("preflight_wait_s", READY_BUDGET_S))
    for mode, env in envs.items():
        _check_cos(env, mode, report, wait_s)
        if mode == "integrated":
            _check_mc(env, userdata, report, wait_s)
            if env.endpoints.toxiproxy_url:
                _check_toxiproxy(env, report)
    return report


def _ready(what: str, url: str, hint: str, budget_s: float) -> float:
    try:
        return wait_until(what, http_ready(url), budget_s, interval_s=0.2).seconds
    except NotReady as exc:
        raise PreflightError(f"{exc}. {hint}") from None


def _check_cos(env: Environment, mode: str, report: Preflight, wait_s: float) -> None:
    cos = env.endpoints.cos_url
    hint = "Start COS, or pass -D cos_url=… where it runs."
    seconds = _ready(f"COS at {cos}/readyz", f"{cos}/readyz", hint, wait_s)
    report.ok(f"COS ready at {cos} ({seconds:.1f}s)")
    health = _get_json(f"{cos}/healthz")
    if health.get("mode") != mode:
        raise PreflightError(
            f"COS at {cos} runs in {health.get('mode')!r} mode, but @{mode} scenarios were selected: "
            f"start COS with --mode {mode}, point -D cos_url at one that does, or select only "
            f"--tags=@{health.get('mode')}"
        )
    report.ok(f"COS runs in {mode} mode")
    c = env.credentials
    login = httpx.post(
        f"{cos}/v1/login", json={"username": c.cos_user, "password": c.cos_password}, timeout=5
    )
    if login.status_code != 200:
        raise PreflightError(
            f"COS refused the QA user {c.cos_user!r}: {login.status_code} {_reason(login)}. "
            "Pass -D cos_user=… -D cos_password=… for a user COS knows."
        )
    report.ok(f"COS accepts the QA user {c.cos_user!r}")


def _check_mc(env: Environment, userdata: dict[str, str], report: Preflight, wait_s: float) -> None:
    mc, cos, c = env.endpoints.mc_url, env.endpoints.cos_url, env.credentials
    assert mc, "integrated environments have an MC URL"
    hint = "Start MC, or pass -D mc_url=… where it runs."
    seconds = _ready(f"MC at {mc}/readyz", f"{mc}/readyz", hint, wait_s)
    report.ok(f"MC ready at {mc} ({seconds:.1f}s)")
    token = httpx.post(
        f"{mc}/v1/tokens",
        data={
            "grant_type": "client_credentials",
            "client_id": c.mc_client_id,
            "client_secret": c.mc_client_secret,
        },
        timeout=5,
    )
    if token.status_code != 200:
        raise PreflightError(
            f"MC refused the client credentials of {c.mc_client_id!r}: {token.status_code} {_reason(token)}. "
            "Pass -D mc_client_id=… -D mc_client_secret=… (the ones COS uses)."
        )
    report.ok(f"MC issues tokens to {c.mc_client_id!r}")
    if not c.mc_admin_token:
        raise PreflightError(
            "no MC admin token: the integrated scenarios publish packs and read MC's ledger through the "
            "admin API, and the suite sets MC's receipt callback with it. Pass -D mc_admin_token=…"
        )
    admin_url = env.endpoints.mc_admin_url
    if not admin_url:
        raise PreflightError(
            "no MC admin URL: MC serves its admin API on its own listener (--admin-port, default "
            "127.0.0.1:8790), not on the public port. Pass -D mc_admin_url=… where the suite reaches it."
        )
    callback = userdata.get("cos_callback_url") or f"{cos}{RECEIPT_PATH}"
    base_url = callback.removesuffix(RECEIPT_PATH)
    admin = {"Authorization": f"Bearer {c.mc_admin_token}"}
    try:
        put = httpx.put(
            f"{admin_url}/admin/clients/{c.mc_client_id}/callback",
            json={"url": callback, "base_url": base_url},
            headers=admin,
            timeout=5,
        )
    except httpx.TransportError as exc:
        raise PreflightError(
            f"no MC admin API at {admin_url}: {type(exc).__name__}. MC serves it on its own listener "
            "(--admin-port, default 127.0.0.1:8790); pass -D mc_admin_url=… where the suite reaches it."
        ) from None
    if put.status_code == 404:
        raise PreflightError(
            f"{admin_url} has no MC admin API (404): is it MC's public port? Pass -D mc_admin_url=… with "
            "MC's admin listener (--admin-port, default 8790)."
        )
    if put.status_code != 200:
        raise PreflightError(
            f"MC refused to set the receipt callback of {c.mc_client_id!r}: "
            f"{put.status_code} {_reason(put)}. "
            "Pass the right -D mc_admin_token=…, or start MC with "
            f"--callback-url {callback} and give the suite an admin token for the ledger."
        )
    report.ok(f"MC's admin API at {admin_url}; it delivers {c.mc_client_id!r} receipts to {callback}")
    reach = httpx.get(f"{admin_url}/admin/clients/{c.mc_client_id}/attestation", headers=admin, timeout=10)
    if reach.status_code != 200:
        raise PreflightError(
            f"MC cannot reach COS at {base_url}: {reach.status_code} {_reason(reach)}. Receipts would never "
            "arrive: pass -D cos_callback_url=… with COS's receipt URL as MC sees it."
        )
    report.ok(f"MC reaches COS at {base_url}")


def _check_toxiproxy(env: Environment, report: Preflight) -> None:
    url, name = env.endpoints.toxiproxy_url, env.endpoints.mc_proxy_name
    try:
        proxies = _get_json(f"{url}/proxies")
    except (httpx.HTTPError, ValueError) as exc:
        raise PreflightError(f"no Toxiproxy API at {url}: {type(exc).__name__}: {exc}") from None
    if name not in proxies:
        raise PreflightError(
            f"Toxiproxy at {url} has no proxy {name!r} (it has {sorted(proxies)}): pass "
            "-D toxiproxy_proxy=<the proxy COS reaches MC through>"
        )
    report.ok(
        f"Toxiproxy at {url} has proxy {name!r} ({proxies[name].get('listen')} → "
        f"{proxies[name].get('upstream')})"
    )


def _get_json(url: str) -> dict:
    resp = httpx.get(url, timeout=5)
    resp.raise_for_status()
    return resp.json()


def _reason(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("reason") or body)[:300]
    return str(body)[:300]
