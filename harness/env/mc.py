"""The suite's own line to MC: admin actions and direct API calls.

Used to set scenes (publish a revision, mint an expired token) and to read
the ledger of what MC stored. It talks to MC directly, never through the
fault proxy, so a fault injected between COS and MC does not blind the suite.
Admin calls go to MC's admin listener (`Endpoints.mc_admin_url`, its own port);
the public port serves no /admin route.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from harness.env.environments import Environment
from harness.kit.recorder import Recorder

QUERY_MAX = 1000  # keys, and digests, per ledger query (MC's bound: conductor/models.py)
MAX_PAGES = 1000  # of one ledger query: a bound on the loop, far above any scenario's records


@dataclass(frozen=True)
class Reply:
    status: int
    headers: httpx.Headers
    body: Any
    raw: bytes


def _reply(resp: httpx.Response) -> Reply:
    body: Any = resp.content
    if "json" in resp.headers.get("content-type", ""):
        try:
            body = resp.json()
        except ValueError:
            pass
    return Reply(resp.status_code, resp.headers, body, resp.content)


class Conductor:
    def __init__(self, env: Environment, recorder: Recorder | None = None) -> None:
        if not env.endpoints.mc_url:
            raise RuntimeError(f"the {env.mode} environment has no MC")
        self.env = env
        hooks = recorder.event_hooks() if recorder else {}
        self.http = httpx.Client(base_url=env.endpoints.mc_url, timeout=10, event_hooks=hooks)
        self.admin = httpx.Client(
            base_url=env.endpoints.mc_admin_url or env.endpoints.mc_url,
            timeout=10,
            event_hooks=hooks,
            headers={"Authorization": f"Bearer {env.credentials.mc_admin_token}"},
        )

    def close(self) -> None:
        self.http.close()
        self.admin.close()

    # --- credentials ---------------------------------------------------------
    def token(self, scopes: list[str] | None = None, secret: str | None = None) -> Reply:
        c = self.env.credentials
        data = {
            "grant_type": "client_credentials",
            "client_id": c.mc_client_id,
            "client_secret": secret if secret is not None else c.mc_client_secret,
        }
        if scopes is not None:
            data["scope"] = " ".join(scopes)
        return _reply(self.http.post("/v1/tokens", data=data))

    def access_token(self, scopes: list[str]) -> str:
        reply = self.token(scopes)
        if reply.status != 200:
            raise AssertionError(f"MC refused client credentials: {reply.status} {reply.body}")
        return reply.body["access_token"]

    def minted_token(self, scopes: list[str], lifetime_s: int) -> str:
        resp = self.admin.post(
            "/admin/tokens",
            json={"client_id": self.env.credentials.mc_client_id, "scopes": scopes, "lifetime_s": lifetime_s},
        )
        resp.raise_for_status()
        return resp.json()["access_token"]

    # --- packs ---------------------------------------------------------------
    def get(
        self, path: str, token: str | None, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> Reply:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        return _reply(self.http.request(method, path, headers=h))

    def publish_revision(
        self, pack: str, revision: str, files: dict[str, str], signing: str = "valid"
    ) -> dict:
        resp = self.admin.post(
            f"/admin/packs/{pack}/revisions",
            json={"revision": revision, "files": files, "signing": signing},
        )
        if resp.status_code != 201:
            raise AssertionError(f"MC refused to publish {pack}@{revision}: {resp.status_code} {resp.text}")
        return resp.json()

    # --- evidence ------------------------------------------------------------
    def ledger(self) -> dict[str, Any]:
        """The first page of everything MC holds, with the whole store's counts (diagnostics)."""
        resp = self.admin.get("/admin/evidence")
        resp.raise_for_status()
        return resp.json()

    def ledger_of(self, keys: list[str], digests: list[str]) -> list[dict[str, Any]]:
        """MC's records (any client) with one of these idempotency keys or document digests.

        What a ledger check reads: MC answers by index, so the check costs the same on a sandbox
        holding a million old records. Sent in slices of QUERY_MAX names, every page followed.
        """
        found: dict[str, dict[str, Any]] = {}  # by cursor: a record may match in two slices
        for start in range(0, max(len(keys), len(digests)), QUERY_MAX):
            query = {"keys": keys[start : start + QUERY_MAX], "digests": digests[start : start + QUERY_MAX]}
            after = None
            for _ in range(MAX_PAGES):
                resp = self.admin.post("/admin/evidence/query", json={**query, "after": after})
                if resp.status_code != 200:
                    raise AssertionError(f"MC's ledger query failed: {resp.status_code} {resp.text}")
                page = resp.json()
                found.update((item["cursor"], item) for item in page["items"])
                after = page["next"]
                if after is None:
                    break
            else:
                raise AssertionError(f"MC's ledger query still had pages after {MAX_PAGES}")
        return [found[c] for c in sorted(found, key=int)]

    def post_evidence(self, body: bytes, key: str | None, token: str, content_digest: str | None) -> Reply:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        if content_digest is not None:
            headers["Content-Digest"] = content_digest
        return _reply(self.http.post("/v1/evidence", content=body, headers=headers))

    def graphql(self, query: str, variables: dict[str, Any], token: str) -> Reply:
        return _reply(
            self.http.post(
                "/graphql",
                content=json.dumps({"query": query, "variables": variables}),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
        )
