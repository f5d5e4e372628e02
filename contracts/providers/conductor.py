"""MC (`maestro-conductor`) as a provider under verification, and its provider states.

MC runs with credentials made for this run only: a random admin token and a random secret for
the `companyos` client (both via environment, never logged), and with the documented test-only
`--test-evidence-delay-ms`, which holds every new evidence request in flight for a moment so the
"still in flight" state can be produced for real. Tokens come from MC's admin API (`POST
/admin/tokens`, also expired and under-scoped ones), pack revisions from `POST
/admin/packs/{pack}/revisions`, accepted evidence from MC's own `POST /v1/evidence`.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from contracts import MC, REPO, render
from contracts.dsl import canonical
from contracts.providers import Running, launch
from contracts.providers.stateserver import State, StateRegistry
from harness.kit.ports import LOOPBACK, free_port
from harness.kit.processes import python_module
from seam import bundle, digest, dsse, keys

CLIENT_ID = "companyos"
IN_FLIGHT_DELAY_MS = 300
IN_FLIGHT_HEAD_START_S = 0.03
POLICY_DIR = REPO / "policy" / "policy-pack-v0"


class ConductorStates:
    def __init__(
        self, base_url: str, admin_url: str, admin_token: str, client_secret: str, signing_key
    ) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=10.0)
        # State setup goes through MC's admin listener (its own port); the pact is about the public one.
        self._admin_http = httpx.Client(
            base_url=admin_url, timeout=10.0, headers={"Authorization": f"Bearer {admin_token}"}
        )
        self._secret = client_secret
        self._key = signing_key
        self._held: list[threading.Thread] = []
        self._published: dict[tuple[str, str], dict[str, Any]] = {}

    def registry(self) -> StateRegistry:
        return StateRegistry(
            {
                "MC knows the client": State(self.client_known),
                "the client holds a token": State(self.token),
                "the client holds an expired token": State(self.expired_token),
                "MC serves a revision of the pack": State(self.pack_revision),
                "MC attests that revision with its signing key": State(self.attestation),
                "evidence was accepted under an idempotency key": State(self.evidence_accepted),
                "a publish under an idempotency key is still in flight": State(self.in_flight, fresh=True),
            }
        )

    def close(self) -> None:
        for thread in self._held:
            thread.join(timeout=5)
        self._http.close()
        self._admin_http.close()

    # -- helpers ----------------------------------------------------------------------------
    def _mint(self, scopes: list[str], lifetime_s: int) -> str:
        r = self._admin_http.post(
            "/admin/tokens", json={"client_id": CLIENT_ID, "scopes": scopes, "lifetime_s": lifetime_s}
        )
        r.raise_for_status()
        body = r.json()
        # The admin API answers in the public token shape; read either spelling so that a broken
        # token shape is reported by the token interaction, not as a failed state setup.
        return body.get("access_token") or body["token"]

    def _publish(self, evidence: dict[str, Any], key: str) -> httpx.Response:
        body = canonical(evidence)
        return self._http.post(
            "/v1/evidence",
            content=body,
            headers={
                "Authorization": f"Bearer {self._mint(['evidence:write'], 600)}",
                "Content-Type": "application/json",
                "Idempotency-Key": key,
                "Content-Digest": digest.content_digest(body),
            },
        )

    # -- states -----------------------------------------------------------------------------
    def client_known(self, params: dict[str, Any]) -> dict[str, Any]:
        client_id = params.get("client_id", CLIENT_ID)
        r = self._http.post(
            "/v1/tokens",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": self._secret},
        )
        if r.status_code != 200:
            raise RuntimeError(f"MC does not accept the credentials of client {client_id!r}: {r.status_code}")
        return {"clientSecret": self._secret}

    def token(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"accessToken": self._mint(params["scope"].split(), 600)}

    def expired_token(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"accessToken": self._mint(params["scope"].split(), 0)}

    def pack_revision(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (params["pack"], params["revision"])
        if key not in self._published:
            self._published[key] = self._publish_revision(params)
        return self._published[key]

    def _publish_revision(self, params: dict[str, Any]) -> dict[str, Any]:
        r = self._admin_http.post(
            f"/admin/packs/{params['pack']}/revisions",
            json={"revision": params["revision"], "files": bundle.read_dir(POLICY_DIR), "signing": "valid"},
        )
        r.raise_for_status()
        hex_digest = r.json()["digest"]
        b64 = base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")
        return {"packDigest": hex_digest, "packContentDigest": f"{digest.ALGORITHM}=:{b64}:"}

    def attestation(self, params: dict[str, Any]) -> dict[str, Any]:
        """The envelope COS must get for that revision, computed here, not read from MC.

        The pact states the expected in-toto statement with `${packDigest}` where the digest
        of the published revision goes; it is encoded as canonical JSON (what MC signs), signed
        with the key MC was started with (Ed25519 is deterministic, so there is exactly one right
        signature), and the envelope's ETag and Content-Digest follow from its canonical bytes.
        """
        pack_digest = self.pack_revision(params)["packDigest"]
        statement = render.substitute_all(params["statement"], {"packDigest": pack_digest})
        payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode("utf-8")
        envelope = dsse.sign(statement, self._key)
        if envelope["payload"] != base64.b64encode(payload).decode("ascii"):
            raise RuntimeError("dsse.sign does not encode the statement as canonical JSON")
        body = json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode("utf-8")
        return {
            "attestationPayload": envelope["payload"],
            "attestationSignature": envelope["signatures"][0]["sig"],
            "signingKeyId": keys.key_id(self._key.public_key()),
            "attestationEtag": digest.etag_for(body),
            "attestationContentDigest": digest.content_digest(body),
        }

    def evidence_accepted(self, params: dict[str, Any]) -> dict[str, Any]:
        r = self._publish(params["evidence"], params["idempotency_key"])
        if not r.is_success:
            raise RuntimeError(f"MC did not accept the evidence: {r.status_code} {r.text[:200]}")
        body = r.json()
        return {
            "evidenceId": body.get("evidence_id")
            or body.get("evidenceId")
            or Path(r.headers["location"]).name
        }

    def in_flight(self, params: dict[str, Any]) -> dict[str, Any]:
        """Hold a publish under the key in flight (MC delays new evidence), and return once MC
        itself says so: a probe with the same key and body gets 409 while the first is held."""
        evidence, key = params["evidence"], params["idempotency_key"]
        body = canonical(evidence)
        headers = {
            "Authorization": f"Bearer {self._mint(['evidence:write'], 600)}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "Content-Digest": digest.content_digest(body),
        }

        sent = threading.Event()

        def hold() -> None:
            hooks = {"request": [lambda request: sent.set()]}
            with httpx.Client(base_url=str(self._http.base_url), timeout=10.0, event_hooks=hooks) as http:
                http.post("/v1/evidence", content=body, headers=headers)

        thread = threading.Thread(target=hold, name="mc-in-flight", daemon=True)
        thread.start()
        self._held.append(thread)
        if not sent.wait(timeout=5):
            raise RuntimeError("the held publish was never sent")
        time.sleep(IN_FLIGHT_HEAD_START_S)  # so the held request, not a probe, reaches MC first
        deadline = time.monotonic() + IN_FLIGHT_DELAY_MS / 1000 / 2
        while time.monotonic() < deadline:
            probe = self._http.post("/v1/evidence", content=body, headers=headers)
            if probe.status_code == 409:
                return {}
            if probe.is_success:
                break  # the held request already finished: too late to observe it in flight
            time.sleep(0.01)
        raise RuntimeError(f"could not observe a publish under {key!r} in flight at MC")


@contextmanager
def running(root: Path, mutations: str) -> Iterator[Running]:
    port, admin_port = free_port(), free_port()
    base_url, admin_url = f"http://{LOOPBACK}:{port}", f"http://{LOOPBACK}:{admin_port}"
    admin_token, client_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    signing_key = keys.generate()
    key_file = root / "mc-signing-key.pem"
    key_file.write_bytes(keys.private_pem(signing_key))
    argv = python_module(
        "conductor",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--admin-port",
        str(admin_port),
        "--data-dir",
        str(root / "mc"),
        "--test-evidence-delay-ms",
        str(IN_FLIGHT_DELAY_MS),
        "--signing-key",
        str(key_file),
        "--allow-test-hooks",  # the delay above, and SEAM_MUTATIONS for the mutation proof
    )
    env = {"MC_ADMIN_TOKEN": admin_token, "MC_CLIENT_SECRET": client_secret, "SEAM_MUTATIONS": mutations}
    proc = launch(MC, argv, env, f"{base_url}/readyz", f"{MC}{'-' + mutations if mutations else ''}")
    states = ConductorStates(base_url, admin_url, admin_token, client_secret, signing_key)
    try:
        yield Running(MC, base_url, states.registry(), proc)
    finally:
        states.close()
        proc.stop()
