"""A Pact Broker client over the broker's HAL API, used only when `PACT_BROKER_BASE_URL` is set.

Every request starts from the broker's index (`GET /`) and follows a relation by name, as the
broker's own clients do, so a broker mounted under a path prefix works too:

| what | index relation | request |
| --- | --- | --- |
| publish pacts | `pb:publish-contracts` | `POST /contracts/publish` (version, branch, tags, base64 pacts) |
| select pacts | `pb:provider-pacts-for-verification` | `POST /pacts/provider/{provider}/for-verification` |
| fetch a pact | the selected pact's `self` link | `GET /pacts/provider/…/pact-version/{sha}` |
| provider branch | `pb:pacticipant-branch-version` | `PUT /pacticipants/{p}/branches/{branch}/versions/{v}` |
| publish a result | the pact's `pb:publish-verification-results` | `POST …/verification-results` |
| can-i-deploy | `pb:can-i-deploy-pacticipant-version-to-environment` (or `-to-tag`) | `GET /can-i-deploy?…` |

Why the pacts are fetched here rather than by pact-python's `Verifier.broker_source(...)`: the
Rust verifier would fetch and verify in one call, leaving no moment to resolve the
response-side provider-state values (`contracts/render.py`). Fetched here, a broker's pact is
written to a file and verified by exactly the code that verifies a committed pact
(`contracts.verify.verify_provider`), and the result is published back to the pact's own
`pb:publish-verification-results` link. Auth: `PACT_BROKER_TOKEN` (bearer) or
`PACT_BROKER_USERNAME` / `PACT_BROKER_PASSWORD`.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from contracts import PACT_DIR, pactfile, versions

TIMEOUT_S = 30.0
HAL = "application/hal+json, application/json"
# Keys the broker adds around a pact's content when it serves it (PactDecorator, Timestamps).
BROKER_KEYS = ("_links", "_embedded", "createdAt", "updatedAt")


class BrokerError(RuntimeError):
    """The broker refused a request, or lacks a relation this client needs."""


def configured() -> bool:
    return bool(os.environ.get("PACT_BROKER_BASE_URL"))


def _auth() -> dict[str, Any]:
    token = os.environ.get("PACT_BROKER_TOKEN")
    if token:
        return {"headers": {"Authorization": f"Bearer {token}", "Accept": HAL}}
    user, password = os.environ.get("PACT_BROKER_USERNAME"), os.environ.get("PACT_BROKER_PASSWORD")
    return {"headers": {"Accept": HAL}, **({"auth": (user, password)} if user and password else {})}


def selectors(branch: str | None) -> list[dict[str, Any]]:
    """The consumer versions a provider verifies: each consumer's main branch, whatever is
    deployed or released, and on a branch the consumers' pacts from the same-named branch."""
    chosen: list[dict[str, Any]] = [{"mainBranch": True}, {"deployedOrReleased": True}]
    if branch:
        chosen.append({"matchingBranch": True})
    return chosen


@dataclass
class Published:
    consumer: str
    version: str
    status: int
    notices: str


@dataclass
class BrokerPact:
    """One pact the broker selected for verification, with the broker's reasons."""

    url: str
    description: str
    pending: bool
    notices: list[str]
    doc: dict[str, Any] = field(repr=False)

    def contract(self) -> dict[str, Any]:
        """The pact itself, without the links and timestamps the broker wraps it in."""
        return {k: v for k, v in self.doc.items() if k not in BROKER_KEYS}

    def link(self, rel: str) -> dict[str, Any]:
        found = (self.doc.get("_links") or {}).get(rel)
        if not isinstance(found, dict) or not found.get("href"):
            raise BrokerError(f"the pact at {self.url} has no {rel!r} link")
        return found

    @property
    def consumer_version(self) -> str | None:
        try:
            return self.link("pb:consumer-version").get("name")
        except BrokerError:
            return None


@dataclass
class Deployability:
    """The broker's can-i-deploy answer (its matrix resource, reduced)."""

    pacticipant: str
    version: str
    target: str
    deployable: bool
    reason: str
    rows: list[dict[str, Any]]

    def render(self) -> str:
        lines = [
            f"can-i-deploy {self.pacticipant} {self.version} to {self.target} (Pact Broker)",
            "| consumer | version | provider | version | success |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in self.rows:
            consumer, provider = row.get("consumer") or {}, row.get("provider") or {}
            result = row.get("verificationResult") or {}
            lines.append(
                f"| {consumer.get('name') or '?'} | {(consumer.get('version') or {}).get('number') or '-'} "
                f"| {provider.get('name') or '?'} | {(provider.get('version') or {}).get('number') or '-'} "
                f"| {result.get('success', 'no result')} |"
            )
        lines.append(self.reason)
        lines.append("Computer says yes \\o/" if self.deployable else "Computer says no ¯\\_(ツ)_/¯")
        return "\n".join(lines)


class Broker:
    """One broker, its index read once. Use as a context manager (it owns an HTTP client)."""

    def __init__(self, base_url: str, **client: Any) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(timeout=TIMEOUT_S, **client)
        self._index: dict[str, Any] | None = None

    @classmethod
    def from_env(cls) -> Broker:
        return cls(os.environ["PACT_BROKER_BASE_URL"], **_auth())

    def __enter__(self) -> Broker:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def request(self, method: str, url: str, *, check: bool = True, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise BrokerError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        if check and not response.is_success:
            raise BrokerError(f"{method} {url}: HTTP {response.status_code} {response.text[:500]}")
        return response

    def link(self, rel: str, **values: str) -> str:
        """The index relation `rel`, its URI template filled with `values` (each escaped)."""
        if self._index is None:
            self._index = self.request("GET", self.base_url + "/").json()
        found = (self._index.get("_links") or {}).get(rel)
        if not isinstance(found, dict) or not found.get("href"):
            raise BrokerError(f"the broker at {self.base_url} has no {rel!r} relation in its index")
        href = str(found["href"])
        for name, value in values.items():
            href = href.replace("{" + name + "}", quote(value, safe=""))
        return href

    # -- consumer side ---------------------------------------------------------------------------

    def publish_pacts(self, tags: list[str] | None = None) -> list[Published]:
        """The committed pacts, one `POST /contracts/publish` per consumer, with its version and
        branch. Answers are returned, not raised: the caller decides what a refusal means."""
        url = self.link("pb:publish-contracts")
        by_consumer: dict[str, list[dict[str, str]]] = {}
        for path in pactfile.committed(PACT_DIR):
            consumer, provider = pactfile.parties(pactfile.load(path))
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
        for consumer, contracts in by_consumer.items():
            body: dict[str, Any] = {
                "pacticipantName": consumer,
                "pacticipantVersionNumber": versions.version_of(consumer),
                "branch": versions.branch(),
                "tags": tags or [],
                "contracts": contracts,
            }
            r = self.request("POST", url, check=False, json={k: v for k, v in body.items() if v is not None})
            notices = _notices(r)
            out.append(Published(consumer, body["pacticipantVersionNumber"], r.status_code, notices))
        return out

    # -- provider side ---------------------------------------------------------------------------

    def pacts_for_verification(self, provider: str, branch: str | None) -> list[BrokerPact]:
        """The pacts the broker selects for `provider` (with pending status), each fetched."""
        body: dict[str, Any] = {"consumerVersionSelectors": selectors(branch), "includePendingStatus": True}
        if branch:
            body["providerVersionBranch"] = branch
        url = self.link("pb:provider-pacts-for-verification", provider=provider)
        listed = self.request("POST", url, json=body).json()
        out = []
        for item in (listed.get("_embedded") or {}).get("pacts") or []:
            self_link = (item.get("_links") or {}).get("self") or {}
            props = item.get("verificationProperties") or {}
            href = self_link.get("href")
            if not href:
                raise BrokerError(f"a pact selected for {provider} has no self link: {item}")
            out.append(
                BrokerPact(
                    url=href,
                    description=str(item.get("shortDescription") or self_link.get("name") or href),
                    pending=bool(props.get("pending")),
                    notices=[str(n.get("text", "")) for n in props.get("notices") or []],
                    doc=self.request("GET", href).json(),
                )
            )
        return out

    def record_branch(self, pacticipant: str, branch: str, version: str) -> None:
        """Put `version` on `branch` (the provider's branch, before its results are published)."""
        url = self.link(
            "pb:pacticipant-branch-version", pacticipant=pacticipant, branch=branch, version=version
        )
        self.request("PUT", url, json={})

    def publish_result(
        self, pact: BrokerPact, provider_version: str, success: bool, test_results: list[dict[str, Any]]
    ) -> None:
        body = {
            "success": success,
            "providerApplicationVersion": provider_version,
            "verifiedBy": {"implementation": "cos-pact-e2e contracts.verify (pact-python)"},
            "testResults": test_results,
        }
        self.request("POST", str(pact.link("pb:publish-verification-results")["href"]), json=body)

    # -- deployment --------------------------------------------------------------------------------

    def can_i_deploy(
        self, pacticipant: str, version: str, *, environment: str | None = None, tag: str | None = None
    ) -> Deployability:
        """The broker's answer for `pacticipant` at `version` going to `environment` (or to the
        environment a legacy `tag` names); the broker needs exactly one of the two."""
        if bool(environment) == bool(tag):
            raise ValueError("can-i-deploy against a broker needs exactly one of an environment or a tag")
        if environment:
            rel, target = "pb:can-i-deploy-pacticipant-version-to-environment", {"environment": environment}
        else:
            rel, target = "pb:can-i-deploy-pacticipant-version-to-tag", {"tag": tag or ""}
        url = self.link(rel, pacticipant=pacticipant, version=version, **target)
        answer = self.request("GET", url).json()
        summary = answer.get("summary") or {}
        return Deployability(
            pacticipant=pacticipant,
            version=version,
            target=environment or f"tag {tag}",
            deployable=summary.get("deployable") is True,
            reason=str(summary.get("reason", "")),
            rows=list(answer.get("matrix") or []),
        )


def _notices(response: httpx.Response) -> str:
    try:
        body = response.json() if response.content else {}
    except ValueError:
        return response.text[:300]
    items = body.get("notices") if isinstance(body, dict) else None
    return "; ".join(str(n.get("text", "")) for n in items or [] if isinstance(n, dict))


def publish_pacts(tags: list[str] | None = None) -> list[Published]:
    """Publish the committed pacts to the broker `PACT_BROKER_BASE_URL` names."""
    with Broker.from_env() as broker:
        return broker.publish_pacts(tags)
