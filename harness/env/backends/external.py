"""`backend=external`: someone else runs COS (and MC); the suite starts nothing."""

from __future__ import annotations

from harness.env.environments import BackendError, Credentials, Endpoints, Environment, NoControl


def external_environment(mode: str, userdata: dict[str, str]) -> Environment:
    cos_url = userdata.get("cos_url")
    if not cos_url:
        raise BackendError("backend=external needs -D cos_url=… (and -D mc_url=… for integrated)")
    mc_url = userdata.get("mc_url")
    if mode == "integrated" and not mc_url:
        raise BackendError("backend=external in integrated mode needs -D mc_url=… and -D mc_admin_url=…")
    defaults = Credentials()
    creds = Credentials(
        cos_user=userdata.get("cos_user", defaults.cos_user),
        cos_password=userdata.get("cos_password", defaults.cos_password),
        mc_client_id=userdata.get("mc_client_id", defaults.mc_client_id),
        mc_client_secret=userdata.get("mc_client_secret", defaults.mc_client_secret),
        mc_admin_token=userdata.get("mc_admin_token", defaults.mc_admin_token),
    )
    endpoints = Endpoints(
        cos_url=cos_url.rstrip("/"),
        mc_url=mc_url.rstrip("/") if mc_url else None,
        mc_admin_url=userdata["mc_admin_url"].rstrip("/") if userdata.get("mc_admin_url") else None,
        toxiproxy_url=userdata.get("toxiproxy_url"),
        mc_proxy_name=userdata.get("toxiproxy_proxy", "mc") if userdata.get("toxiproxy_url") else None,
    )
    return Environment(
        mode=mode, backend="external", endpoints=endpoints, credentials=creds, control=NoControl()
    )
