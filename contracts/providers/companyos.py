"""COS (`companyos`) as a provider under verification, and its provider states.

COS runs standalone (every call on the pacts is answered by COS itself) with:

- a users file holding `contract-user` with a password generated for this run (written in the
  documented users-file format with COS's own `companyos.users.write_users`, since COS reads
  users at start); the "a local user exists" state hands that password to the verifier;
- `--mc-public-key` pinning an Ed25519 key generated for this run. The receipt state signs the
  pact's receipt body with it at the current time (`ReceiptSender.prepare`, MC's own signing
  code), so COS checks a genuine, fresh signature with its normal 300 s skew — no test-only
  relaxation in COS — and signs the same body with a second, unpinned key for the forged case.

Tokens come from `POST /v1/login`, accepted evidence from `POST /v1/evidence`, the enforced
pack's ETag from `GET /v1/attestation`; the local pack's digest is computed here from the pack
sources COS is started with.

Integrated: next to the standalone COS runs a second COS (`--mode integrated`) polling a real
MC (`python -m conductor`) that signs with the pinned key. The state "COS enforces the pack
revision MC serves" publishes a revision through MC's admin API and returns once that COS
reports it enforces that revision; its interactions are sent to that COS (`Running.routes`:
the verification proxy routes a request by the state the verifier just set up). MC runs
without mutations: only COS is under test.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

from companyos.policy_store import build_local_pack
from companyos.settings import DEFAULT_LOCAL_PACK_DIR
from companyos.users import write_users
from conductor.companyos_client import ReceiptSender, encode_batch
from contracts import COS, MC, examples
from contracts.dsl import canonical
from contracts.providers import Running, await_ready, spawn
from contracts.providers.stateserver import State, StateRegistry
from harness.kit.ports import LOOPBACK, free_port
from harness.kit.processes import python_module
from seam import bundle, digest, keys

MC_PACK_ENFORCED = "COS enforces the pack revision MC serves"
RELOAD_BUDGET_S = 15.0
POLL_INTERVAL_S = "0.2"


class CompanyOSStates:
    def __init__(
        self,
        base_url: str,
        passwords: dict[str, str],
        pinned_key,
        untrusted_key,
        integrated: httpx.Client | None = None,
        mc_admin: httpx.Client | None = None,
    ) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=10.0)
        self._integrated = integrated
        self._mc_admin = mc_admin
        self._passwords = passwords
        self._pinned = ReceiptSender.for_base_url(base_url, pinned_key)
        self._untrusted = ReceiptSender.for_base_url(base_url, untrusted_key)

    def registry(self) -> StateRegistry:
        return StateRegistry(
            {
                "a local user exists": State(self.user_exists),
                "the user is logged in to COS": State(self.logged_in),
                "COS enforces a policy pack": State(self.policy_enforced),
                MC_PACK_ENFORCED: State(self.mc_pack_enforced),
                "evidence was accepted under an idempotency key": State(self.evidence_accepted),
                "COS holds evidence awaiting MC's receipt": State(self.receipt_awaited, fresh=True),
                "COS holds evidence awaiting MC's receipts": State(self.receipts_awaited, fresh=True),
            }
        )

    def close(self) -> None:
        self._http.close()
        for client in (self._integrated, self._mc_admin):
            if client is not None:
                client.close()

    def _login(self, username: str) -> str:
        r = self._http.post("/v1/login", json={"username": username, "password": self._passwords[username]})
        if r.status_code != 200:
            raise RuntimeError(f"COS refused the login of {username!r}: {r.status_code} {r.text[:200]}")
        return r.json()["access_token"]

    def _submit(self, evidence: dict[str, Any], key: str) -> httpx.Response:
        body = canonical(evidence)
        r = self._http.post(
            "/v1/evidence",
            content=body,
            headers={
                "Authorization": f"Bearer {self._login(examples.USERNAME)}",
                "Content-Type": "application/json",
                "Idempotency-Key": key,
                "Content-Digest": digest.content_digest(body),
            },
        )
        if not r.is_success:
            raise RuntimeError(f"COS did not accept the evidence: {r.status_code} {r.text[:200]}")
        return r

    # -- states -----------------------------------------------------------------------------
    def user_exists(self, params: dict[str, Any]) -> dict[str, Any]:
        username = params["username"]
        self._login(username)  # proves COS knows the user with this password
        return {"password": self._passwords[username]}

    def logged_in(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"accessToken": self._login(params["username"])}

    def policy_enforced(self, params: dict[str, Any]) -> dict[str, Any]:
        r = self._http.get("/v1/attestation")
        r.raise_for_status()
        local = build_local_pack(DEFAULT_LOCAL_PACK_DIR, examples.PACK)
        return {"attestationEtag": r.headers["etag"], "packDigest": digest.sha256_hex(local)}

    def _await_attestation(self, what: str, ok: Callable[[dict[str, Any]], bool]) -> None:
        assert self._integrated is not None
        deadline, last = time.monotonic() + RELOAD_BUDGET_S, None
        while time.monotonic() < deadline:
            r = self._integrated.get("/v1/attestation")
            last = r.json() if r.status_code == 200 else r.status_code
            if isinstance(last, dict) and ok(last):
                return
            time.sleep(0.05)
        raise RuntimeError(f"integrated COS did not {what} within {RELOAD_BUDGET_S:.0f} s (last: {last})")

    def mc_pack_enforced(self, params: dict[str, Any]) -> dict[str, Any]:
        """COS first enforces what MC serves at start, then reloads the state's revision."""
        if self._integrated is None or self._mc_admin is None:
            raise RuntimeError("this COS run has no integrated instance")
        pack, revision = params["pack"], params["revision"]
        self._await_attestation("load MC's first pack", lambda a: a.get("revision") != "local")
        r = self._mc_admin.post(
            f"/admin/packs/{pack}/revisions",
            json={"revision": revision, "files": bundle.read_dir(DEFAULT_LOCAL_PACK_DIR), "signing": "valid"},
        )
        r.raise_for_status()
        self._await_attestation(f"reload revision {revision!r}", lambda a: a.get("revision") == revision)
        return {"packDigest": r.json()["digest"]}

    def evidence_accepted(self, params: dict[str, Any]) -> dict[str, Any]:
        r = self._submit(params["evidence"], params["idempotency_key"])
        return {"evidenceId": r.json()["evidence_id"]}

    def receipt_awaited(self, params: dict[str, Any]) -> dict[str, Any]:
        key = params["idempotency_key"]
        self._submit(examples.evidence(900, release=f"receipt {key}"[:128]), key)
        body, headers = self._pinned.prepare(params["receipt"])
        timestamp = float(headers["X-MC-Timestamp"])
        _, forged = self._untrusted.prepare(body, now=timestamp)
        return {
            "receiptTimestamp": headers["X-MC-Timestamp"],
            "receiptSignature": headers["X-MC-Signature"],
            "untrustedSignature": forged["X-MC-Signature"],
        }

    def receipts_awaited(self, params: dict[str, Any]) -> dict[str, Any]:
        """A batch: one accepted evidence per receipt, the batch body signed as a whole."""
        for receipt in params["receipts"]:
            key = receipt["idempotency_key"]
            self._submit(examples.evidence(900, release=f"receipt {key}"[:128]), key)
        _, headers = self._pinned.prepare(encode_batch(params["receipts"]))
        return {"receiptTimestamp": headers["X-MC-Timestamp"], "receiptSignature": headers["X-MC-Signature"]}


def _cos_argv(port: int, data_dir: Path, users_file: Path, pin_file: Path, *extra: str) -> list[str]:
    return python_module(
        "companyos",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--users-file",
        str(users_file),
        "--mc-public-key",
        str(pin_file),
        "--allow-test-hooks",  # SEAM_MUTATIONS for the mutation proof
        *extra,
    )


def _log_name(name: str, mutations: str) -> str:
    return f"{name}{'-' + mutations if mutations else ''}"


@contextmanager
def running(root: Path, mutations: str) -> Iterator[Running]:
    port, mc_port, integrated_port, mc_admin_port = free_port(), free_port(), free_port(), free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    mc_url, integrated_url = f"http://{LOOPBACK}:{mc_port}", f"http://{LOOPBACK}:{integrated_port}"
    password = secrets.token_urlsafe(18)
    users_file = root / "users.json"
    write_users(
        users_file,
        {examples.USERNAME: {"password_hash": PasswordHasher().hash(password), "roles": examples.ROLES}},
    )
    pinned, untrusted = keys.generate(), keys.generate()
    pin_file, key_file = root / "mc-signing.pem", root / "mc-signing-key.pem"
    pin_file.write_text(keys.public_pem(pinned.public_key()))
    key_file.write_bytes(keys.private_pem(pinned))
    admin_token, client_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    env = {"SEAM_MUTATIONS": mutations}
    mc_argv = python_module(
        "conductor", "--host", LOOPBACK, "--port", str(mc_port), "--admin-port", str(mc_admin_port),
        "--data-dir", str(root / "mc"),
        "--signing-key", str(key_file),
    )  # fmt: skip
    integrated_argv = _cos_argv(
        integrated_port, root / "cos-integrated", users_file, pin_file,
        "--mode", "integrated", "--mc-url", mc_url,
        "--poll-interval", POLL_INTERVAL_S, "--max-backoff", "0.5",
    )  # fmt: skip
    started: list = []
    try:
        # All three start side by side (the integrated COS retries MC until it answers); then
        # each must become ready.
        proc = spawn(COS, _cos_argv(port, root / "cos", users_file, pin_file), env, _log_name(COS, mutations))
        started.append(proc)
        mc_env = {"MC_ADMIN_TOKEN": admin_token, "MC_CLIENT_SECRET": client_secret, "SEAM_MUTATIONS": ""}
        started.append(spawn(MC, mc_argv, mc_env, _log_name(f"{COS}-mc", mutations)))
        integrated_env = {**env, "COS_CLIENT_SECRET": client_secret}
        integrated_log = _log_name(f"{COS}-integrated", mutations)
        started.append(spawn(f"{COS}-integrated", integrated_argv, integrated_env, integrated_log))
        for p, url in zip(started, (base_url, mc_url, integrated_url), strict=True):
            await_ready(p, f"{url}/readyz")
        states = CompanyOSStates(
            base_url,
            {examples.USERNAME: password},
            pinned,
            untrusted,
            integrated=httpx.Client(base_url=integrated_url, timeout=10.0),
            mc_admin=httpx.Client(
                base_url=f"http://{LOOPBACK}:{mc_admin_port}",  # MC's admin listener
                timeout=10.0,
                headers={"Authorization": f"Bearer {admin_token}"},
            ),
        )
        routes = {MC_PACK_ENFORCED: integrated_url}
        registry = states.registry()
        registry.routes.update(routes)
        try:
            yield Running(COS, base_url, registry, proc, routes, started[1:])
        finally:
            states.close()
    finally:
        for p in reversed(started):
            p.stop()
