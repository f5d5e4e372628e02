"""contracts/checks.py: what the verification proxy refuses, and that it forwards honest answers."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt

from contracts import checks
from seam import digest, keys


def test_content_digest_must_be_of_the_body_sent() -> None:
    body = b'{"ok":true}'
    assert (
        checks.content_digest_problem("GET", 200, {"content-digest": digest.content_digest(body)}, body)
        is None
    )
    problem = checks.content_digest_problem("GET", 200, {"content-digest": digest.content_digest(b"x")}, body)
    assert problem and digest.content_digest(body) in problem
    # HEAD and 304 carry no body to compare with.
    assert (
        checks.content_digest_problem("HEAD", 200, {"content-digest": digest.content_digest(b"x")}, b"")
        is None
    )


def _token(lifetime: int, scope: str) -> str:
    now = int(time.time())
    claims = {"sub": "companyos", "iat": now, "exp": now + lifetime, "scope": scope}
    return jwt.encode(claims, keys.generate(), algorithm="EdDSA")


def test_token_lifetime_and_scopes_are_checked_inside_the_jwt() -> None:
    asked = b"grant_type=client_credentials&scope=policy%3Aread"
    good = {"access_token": _token(600, "policy:read"), "expires_in": 600}
    assert checks.token_problem(asked, good) is None
    too_long = {"access_token": _token(3600, "policy:read"), "expires_in": 3600}
    assert "3600 s > 900 s" in (checks.token_problem(asked, too_long) or "")
    lying = {"access_token": _token(900, "policy:read"), "expires_in": 600}
    assert "expires_in 600 != exp - iat 900" in (checks.token_problem(asked, lying) or "")
    wider = {"access_token": _token(600, "policy:read evidence:write"), "expires_in": 600}
    assert "not exactly the requested" in (checks.token_problem(asked, wider) or "")


class _Upstream(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        body = json.dumps({"path": self.path}).encode()
        claimed = digest.content_digest(body if self.path == "/honest" else b"other")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Digest", claimed)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_the_proxy_forwards_honest_answers_and_marks_a_wrong_digest() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        upstream = f"http://127.0.0.1:{server.server_address[1]}"
        with checks.CheckingProxy(upstream) as proxy, httpx.Client(base_url=proxy.url) as client:
            honest = client.get("/honest")
            assert honest.json() == {"path": "/honest"}
            assert honest.headers["content-digest"] == digest.content_digest(honest.content)
            lying = client.get("/lying")
            assert lying.json() == {"path": "/lying"}
            assert lying.headers["content-digest"].startswith(checks.MARK)
            assert len(proxy.violations) == 1 and "GET /lying" in proxy.violations[0]
    finally:
        server.shutdown()
        server.server_close()


class _Counting(_Upstream):
    hits: list[str]

    def do_GET(self) -> None:  # noqa: N802
        self.hits.append(self.path)
        super().do_GET()


def test_a_routed_state_sends_the_next_request_to_its_instance_once() -> None:
    from contracts.providers.stateserver import State, StateRegistry

    hits: list[list[str]] = [[], []]
    handlers = [type("Counting", (_Counting,), {"hits": h}) for h in hits]
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), h) for h in handlers]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    default, other = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    registry = StateRegistry({"integrated": State(lambda p: {})}, routes={"integrated": other})
    seen: list[str | None] = []

    def choose() -> str | None:
        seen.append(registry.take_route())
        return seen[-1]

    try:
        with checks.CheckingProxy(default, [other], choose) as proxy, httpx.Client(base_url=proxy.url) as c:
            registry.note_setup("integrated")
            assert c.get("/honest").status_code == 200
            assert c.get("/honest").status_code == 200
        assert seen == [other, None], "the route applies to the one request after the state's setup"
        assert hits == [["/honest"], ["/honest"]], "one request reached each instance"
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
