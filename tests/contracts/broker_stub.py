"""A recording Pact Broker on 127.0.0.1: enough of the broker's HAL API for `contracts.broker`.

It keeps what a broker keeps — published pacts by content, the provider versions put on
branches, the verification results — and answers from it: the index with the relations the
client navigates by, `POST /contracts/publish`, `POST /pacts/provider/{p}/for-verification`, the
pact URLs that returns (each with its `pb:publish-verification-results` link), result
publication, `PUT` branch versions and `GET /can-i-deploy`. Every request is recorded (method,
path as sent, query, JSON body, headers) so a test can assert exactly what a real broker would
have been asked. Bad requests get a 400 problem+json naming the field, as the broker's own
validation does; an unknown path is a 404.

Selection is deliberately simple (every pact for the provider, one per content sha): the
selectors the client sends are recorded for the test to check, not interpreted. can-i-deploy
answers "no" unless every integration of the pacticipant at that version has a successful
result: its pacts as consumer, and the latest pact of each of its consumers verified by it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from harness.kit.loopback_server import LoopbackServer

MAX_BODY = 8 << 20


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # as sent (percent-encoded), without the query
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


@dataclass
class StoredPact:
    consumer: str
    provider: str
    consumer_version: str
    branch: str | None
    doc: dict[str, Any]
    pending: bool = False
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        self.sha = hashlib.sha1(json.dumps(self.doc, sort_keys=True).encode()).hexdigest()  # noqa: S324 - an id


class Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class BrokerStub:
    """`with BrokerStub() as broker:` — `broker.url` is the base URL for PACT_BROKER_BASE_URL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.pacts: dict[str, StoredPact] = {}
        self.branch_versions: list[tuple[str, str, str]] = []  # (pacticipant, branch, version)
        self.results: list[dict[str, Any]] = []  # body + consumer, provider, sha, consumer_version
        self._server = LoopbackServer(self._handler(), "pact-broker-stub")

    @property
    def url(self) -> str:
        return self._server.base_url

    def __enter__(self) -> BrokerStub:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    # -- what a test seeds and reads --------------------------------------------------------------

    def seed(self, doc: dict[str, Any], consumer_version: str, *, pending: bool = False) -> StoredPact:
        """A pact the broker holds already (as if published earlier by the consumer's build)."""
        stored = StoredPact(
            doc["consumer"]["name"], doc["provider"]["name"], consumer_version, None, doc, pending
        )
        with self._lock:
            self.pacts[stored.sha] = stored
        return stored

    def recorded(self, method: str | None = None, path_prefix: str = "") -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and r.path.startswith(path_prefix)
            ]

    def calls(self) -> list[str]:
        """`METHOD path` of every request, in order (the shape of the conversation)."""
        with self._lock:
            return [f"{r.method} {r.path}" for r in self.requests]

    # -- the broker's resources -----------------------------------------------------------------

    def _index(self) -> dict[str, Any]:
        base = self.url
        rels = {
            "pb:publish-contracts": "/contracts/publish",
            "pb:provider-pacts-for-verification": "/pacts/provider/{provider}/for-verification",
            "pb:pacticipant-branch-version": (
                "/pacticipants/{pacticipant}/branches/{branch}/versions/{version}"
            ),
            "pb:can-i-deploy-pacticipant-version-to-environment": (
                "/can-i-deploy?pacticipant={pacticipant}&version={version}&environment={environment}"
            ),
            "pb:can-i-deploy-pacticipant-version-to-tag": (
                "/can-i-deploy?pacticipant={pacticipant}&version={version}&to={tag}"
            ),
        }
        links: dict[str, Any] = {"self": {"href": base, "title": "Index"}}
        links.update({rel: {"href": base + path, "templated": "{" in path} for rel, path in rels.items()})
        return {"_links": links}

    def _pact_url(self, p: StoredPact) -> str:
        return f"{self.url}/pacts/provider/{p.provider}/consumer/{p.consumer}/pact-version/{p.sha}"

    def _publish(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict):
            raise Refused(400, "body must be a JSON object")
        for name in ("pacticipantName", "pacticipantVersionNumber"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise Refused(400, f"{name} is missing")
        contracts = body.get("contracts")
        if not isinstance(contracts, list) or not contracts:
            raise Refused(400, "contracts is missing")
        notices = []
        for c in contracts:
            if c.get("consumerName") != body["pacticipantName"]:
                raise Refused(400, "contracts[].consumerName must match pacticipantName")
            if c.get("specification") != "pact" or c.get("contentType") != "application/json":
                raise Refused(400, "only pacts of content type application/json are supported")
            try:
                doc = json.loads(base64.b64decode(c["content"], validate=True))
            except (KeyError, ValueError) as exc:
                raise Refused(400, f"contracts[].content is not base64 JSON: {exc}") from exc
            stored = StoredPact(
                body["pacticipantName"],
                c["providerName"],
                body["pacticipantVersionNumber"],
                body.get("branch"),
                doc,
            )
            with self._lock:
                self.pacts[stored.sha] = stored
            notices.append(
                {"type": "success", "text": f"Pact published for {stored.consumer} {stored.consumer_version}"}
            )
        return 200, {"notices": notices}

    def _for_verification(self, provider: str, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("consumerVersionSelectors"), list):
            raise Refused(400, "consumerVersionSelectors must be a list")
        with self._lock:
            chosen = [p for p in self.pacts.values() if p.provider == provider]
        pacts = [
            {
                "shortDescription": f"latest pact of {p.consumer} {p.consumer_version}",
                "verificationProperties": {
                    "pending": p.pending,
                    "notices": [
                        {
                            "when": "before_verification",
                            "text": f"selected: {p.consumer} {p.consumer_version}",
                        }
                    ],
                },
                "_links": {
                    "self": {"href": self._pact_url(p), "name": f"Pact between {p.consumer} and {p.provider}"}
                },
            }
            for p in chosen
        ]
        return 200, {
            "_embedded": {"pacts": pacts},
            "_links": {"self": {"href": f"{self.url}/pacts/provider/{provider}/for-verification"}},
        }

    def _pact(self, sha: str) -> StoredPact:
        with self._lock:
            found = self.pacts.get(sha)
        if found is None:
            raise Refused(404, f"no pact version {sha}")
        return found

    def _pact_resource(self, sha: str) -> tuple[int, dict[str, Any]]:
        p = self._pact(sha)
        links = {
            "self": {"href": self._pact_url(p)},
            "pb:consumer-version": {
                "name": p.consumer_version,
                "href": f"{self.url}/pacticipants/{p.consumer}/versions/{p.consumer_version}",
            },
            "pb:publish-verification-results": {"href": self._pact_url(p) + "/verification-results"},
        }
        return 200, {**p.doc, "createdAt": "2026-01-01T00:00:00+00:00", "_links": links}

    def _result(self, sha: str, body: Any) -> tuple[int, dict[str, Any]]:
        p = self._pact(sha)
        if not isinstance(body, dict) or not isinstance(body.get("success"), bool):
            raise Refused(400, "success must be true or false")
        if (
            not isinstance(body.get("providerApplicationVersion"), str)
            or not body["providerApplicationVersion"]
        ):
            raise Refused(400, "providerApplicationVersion is missing")
        with self._lock:
            self.results.append(
                {
                    **body,
                    "consumer": p.consumer,
                    "provider": p.provider,
                    "sha": sha,
                    "consumerVersion": p.consumer_version,
                }
            )
        return 201, {
            "success": body["success"],
            "providerApplicationVersion": body["providerApplicationVersion"],
        }

    def _can_i_deploy(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        pacticipant, version = (query.get("pacticipant") or [""])[0], (query.get("version") or [""])[0]
        if not pacticipant or not version:
            raise Refused(400, "pacticipant and version are required")
        if bool(query.get("environment")) == bool(query.get("to")):
            raise Refused(400, "specify exactly one of environment or to")
        with self._lock:
            # as consumer: its pacts at that version; as provider: the latest pact of each consumer,
            # verified by this provider version. Every integration needs a successful result.
            latest = {(p.consumer, p.provider): p for p in self.pacts.values() if p.provider == pacticipant}
            chosen = [
                p for p in self.pacts.values() if p.consumer == pacticipant and p.consumer_version == version
            ]
            rows = []
            for p in chosen + list(latest.values()):
                results = [r for r in self.results if r["sha"] == p.sha]
                if p.provider == pacticipant:
                    results = [r for r in results if r["providerApplicationVersion"] == version]
                last = results[-1] if results else None
                rows.append(
                    {
                        "consumer": {"name": p.consumer, "version": {"number": p.consumer_version}},
                        "provider": {
                            "name": p.provider,
                            "version": {"number": last["providerApplicationVersion"] if last else None},
                        },
                        "verificationResult": {"success": last["success"]} if last else None,
                    }
                )
        ok = sum(1 for r in rows if r["verificationResult"] and r["verificationResult"]["success"])
        failed = sum(1 for r in rows if r["verificationResult"] and not r["verificationResult"]["success"])
        unknown = len(rows) - ok - failed
        deployable = bool(rows) and ok == len(rows)
        reason = (
            "All required verification results are published and successful"
            if deployable
            else (
                f"{failed} failed, {unknown} missing verification results"
                if rows
                else f"no pacts for {pacticipant} {version}"
            )
        )
        summary = {
            "deployable": deployable,
            "reason": reason,
            "success": ok,
            "failed": failed,
            "unknown": unknown,
        }
        return 200, {"summary": summary, "notices": [], "matrix": rows}

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, dict[str, Any]]:
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        match (method, parts):
            case ("GET", []):
                return 200, self._index()
            case ("POST", ["contracts", "publish"]):
                return self._publish(body)
            case ("POST", ["pacts", "provider", provider, "for-verification"]):
                return self._for_verification(provider, body)
            case ("GET", ["pacts", "provider", provider, "for-verification"]):
                # the broker's older query-string form; HAL clients GET a relation before POSTing
                return self._for_verification(provider, {"consumerVersionSelectors": []})
            case ("GET", ["pacts", "provider", _, "consumer", _, "pact-version", sha]):
                return self._pact_resource(sha)
            case (
                "POST",
                ["pacts", "provider", _, "consumer", _, "pact-version", sha, "verification-results"],
            ):
                return self._result(sha, body)
            case ("PUT", ["pacticipants", pacticipant, "branches", branch, "versions", version]):
                with self._lock:
                    self.branch_versions.append((pacticipant, branch, version))
                return 201, {"number": version, "branch": branch}
            case ("GET", ["can-i-deploy"]):
                return self._can_i_deploy(query)
        raise Refused(404, f"the stub broker has no {method} {path}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                split = urlsplit(self.path)
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    raw = self.rfile.read(length) if 0 < length <= MAX_BODY else b""
                    body = json.loads(raw) if raw else None
                except ValueError:
                    return self._send(
                        400, {"title": "bad request", "detail": "body is not JSON"}, problem=True
                    )
                query = parse_qs(split.query)
                with stub._lock:  # noqa: SLF001 - the stub owns this handler
                    stub.requests.append(
                        Recorded(self.command, split.path, query, body, dict(self.headers.items()))
                    )
                try:
                    status, answer = stub._route(self.command, split.path, query, body)  # noqa: SLF001
                except Refused as exc:
                    return self._send(
                        exc.status,
                        {"title": "refused", "status": exc.status, "detail": exc.detail},
                        problem=True,
                    )
                self._send(status, answer)

            do_GET = do_POST = do_PUT = _serve  # noqa: N815 - http.server's names

            def _send(self, status: int, body: dict[str, Any], problem: bool = False) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header(
                    "Content-Type", "application/problem+json" if problem else "application/hal+json"
                )
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:  # quiet: the recording is the log
                pass

        return Handler
