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
pack's ETag from `GET /v1/attestation`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

from companyos.users import write_users
from conductor.companyos_client import ReceiptSender
from contracts import COS, examples
from contracts.dsl import canonical
from contracts.providers import Running, launch
from contracts.providers.stateserver import State, StateRegistry
from harness.ports import LOOPBACK, free_port
from harness.processes import python_module
from seam import digest, keys


class CompanyOSStates:
    def __init__(self, base_url: str, passwords: dict[str, str], pinned_key, untrusted_key) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=10.0)
        self._passwords = passwords
        self._pinned = ReceiptSender.for_base_url(base_url, pinned_key)
        self._untrusted = ReceiptSender.for_base_url(base_url, untrusted_key)

    def registry(self) -> StateRegistry:
        return StateRegistry(
            {
                "a local user exists": State(self.user_exists),
                "the user is logged in to COS": State(self.logged_in),
                "COS enforces a policy pack": State(self.policy_enforced),
                "evidence was accepted under an idempotency key": State(self.evidence_accepted),
                "COS holds evidence awaiting MC's receipt": State(self.receipt_awaited, fresh=True),
            }
        )

    def close(self) -> None:
        self._http.close()

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
        return {"attestationEtag": r.headers["etag"]}

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


@contextmanager
def running(root: Path, mutations: str) -> Iterator[Running]:
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    password = secrets.token_urlsafe(18)
    users_file = root / "users.json"
    write_users(
        users_file,
        {examples.USERNAME: {"password_hash": PasswordHasher().hash(password), "roles": examples.ROLES}},
    )
    pinned, untrusted = keys.generate(), keys.generate()
    pin_file = root / "mc-signing.pem"
    pin_file.write_text(keys.public_pem(pinned.public_key()))
    argv = python_module(
        "companyos",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--data-dir",
        str(root / "cos"),
        "--users-file",
        str(users_file),
        "--mc-public-key",
        str(pin_file),
    )
    proc = launch(
        COS,
        argv,
        {"SEAM_MUTATIONS": mutations},
        f"{base_url}/readyz",
        f"{COS}{'-' + mutations if mutations else ''}",
    )
    states = CompanyOSStates(base_url, {examples.USERNAME: password}, pinned, untrusted)
    try:
        yield Running(COS, base_url, states.registry(), proc)
    finally:
        states.close()
        proc.stop()
