"""Pact Broker support, used only when `PACT_BROKER_BASE_URL` is set (no broker is reachable here).

- Consumer side: `publish_pacts()` publishes the committed pacts with each consumer's version
  and branch through the broker's `POST /contracts/publish` API (what `pact-broker publish`
  does). Auth: `PACT_BROKER_TOKEN` (bearer) or `PACT_BROKER_USERNAME` / `PACT_BROKER_PASSWORD`.
- Provider side: `contracts.verify.verify_from_broker()` — pact-python's
  `Verifier.broker_source(...)` with consumer-version selectors and `set_publish_options(...)`,
  so verification results are published to the broker.
- `can-i-deploy` against a broker is the broker's own CLI; offline, `python -m contracts
  can-i-deploy` answers from the file matrix (contracts/matrix.py).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

import httpx

from contracts import PACT_DIR, pactfile, versions


def configured() -> bool:
    return bool(os.environ.get("PACT_BROKER_BASE_URL"))


def _auth() -> dict[str, object]:
    token = os.environ.get("PACT_BROKER_TOKEN")
    if token:
        return {"headers": {"Authorization": f"Bearer {token}"}}
    user, password = os.environ.get("PACT_BROKER_USERNAME"), os.environ.get("PACT_BROKER_PASSWORD")
    return {"auth": (user, password)} if user and password else {}


@dataclass
class Published:
    consumer: str
    version: str
    status: int
    notices: str


def publish_pacts(tags: list[str] | None = None) -> list[Published]:
    base = os.environ["PACT_BROKER_BASE_URL"].rstrip("/")
    by_consumer: dict[str, list[dict[str, str]]] = {}
    for path in pactfile.committed(PACT_DIR):
        doc = pactfile.load(path)
        consumer, provider = pactfile.parties(doc)
        by_consumer.setdefault(consumer, []).append(
            {
                "consumerName": consumer,
                "providerName": provider,
                "specification": "pact",
                "contentType": "application/json",
                "content": base64.b64encode(path.read_bytes()).decode("ascii"),
            }
        )
    out: list[Published] = []
    auth = _auth()
    with httpx.Client(timeout=30.0, **auth) as http:  # type: ignore[arg-type]
        for consumer, contracts in by_consumer.items():
            body = {
                "pacticipantName": consumer,
                "pacticipantVersionNumber": versions.version_of(consumer),
                "branch": versions.branch(),
                "tags": tags or [],
                "contracts": contracts,
            }
            r = http.post(f"{base}/contracts/publish", json={k: v for k, v in body.items() if v is not None})
            notices = "; ".join(n.get("text", "") for n in (r.json().get("notices", []) if r.content else []))
            out.append(Published(consumer, body["pacticipantVersionNumber"], r.status_code, notices))
    return out
