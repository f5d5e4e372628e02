"""The provider-state endpoint Pact's verifier calls before each interaction.

pact-python's own function state handlers cannot return values, but the Pact verifier uses the
JSON object a state-change endpoint answers with as *provider-state values*: it substitutes
them into request expressions such as `Bearer ${accessToken}`. So the verification runs this
small loopback HTTP server (`Verifier.state_handler(url, body=True)`) over a mapping of state
name → handler, each handler setting the state up through the provider's own interfaces and
returning the values the interaction needs.

Handlers are memoised per (state, params) for one provider run unless marked `fresh`: the
values a state produced (an evidence id, a token) must be the same when `contracts.render`
asks for them before verification and when the verifier asks again during it.

Routes: some states live on another instance of the provider (COS integrated with a real MC).
When the verifier sets up such a state, the registry notes that instance's URL and the
verification proxy (`contracts.checks.CheckingProxy`) sends the interaction's request there —
the verifier sets an interaction's states up right before sending its request, one interaction
at a time. This works the same for local pacts and pacts from a broker.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from harness.kit.loopback_server import LoopbackServer

Values = dict[str, Any]
Handler = Callable[[dict[str, Any]], Values | None]


@dataclass(frozen=True)
class State:
    handler: Handler
    fresh: bool = False  # True: set up anew at every call (e.g. a request held in flight)


@dataclass
class StateRegistry:
    states: Mapping[str, State]
    routes: dict[str, str] = field(default_factory=dict)  # state name → base URL of its instance
    _memo: dict[str, Values] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_route: str | None = None
    errors: list[str] = field(default_factory=list)

    def note_setup(self, name: str) -> None:
        """The verifier set `name` up: its interaction's request goes to that state's instance."""
        if name in self.routes:
            with self._lock:
                self._next_route = self.routes[name]

    def take_route(self) -> str | None:
        """The instance for the request being sent now (None: the default); consumed once."""
        with self._lock:
            route, self._next_route = self._next_route, None
        return route

    def setup(self, name: str, params: dict[str, Any] | None) -> Values:
        if not name:
            return {}
        state = self.states.get(name)
        if state is None:
            raise KeyError(f"no handler for provider state {name!r}")
        params = params or {}
        key = name + "\0" + json.dumps(params, sort_keys=True)
        with self._lock:
            if not state.fresh and key in self._memo:
                return self._memo[key]
        values = state.handler(params) or {}
        if not state.fresh:
            with self._lock:
                self._memo.setdefault(key, values)
                values = self._memo[key]
        return values

    def values_for(self, provider_states: list[dict[str, Any]]) -> Values:
        """Set up every state of one interaction; their values merged (later states win)."""
        merged: Values = {}
        for ps in provider_states:
            merged.update(self.setup(ps.get("name", ""), ps.get("params")))
        return merged


class _Handler(BaseHTTPRequestHandler):
    registry: StateRegistry

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("content-length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
            if request.get("action", "setup") != "setup":
                values: Values = {}
            else:
                self.registry.note_setup(request.get("state", ""))
                values = self.registry.setup(request.get("state", ""), request.get("params"))
            status, body = 200, json.dumps(values).encode("utf-8")
        except Exception as exc:  # noqa: BLE001 - reported to the verifier as a failed state
            message = f"state {request.get('state')!r} failed: {type(exc).__name__}: {exc}"
            self.registry.errors.append(message)
            status, body = 500, json.dumps({"error": message}).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class StateServer:
    """`with StateServer(registry) as url:` — the state-change URL for the verifier."""

    def __init__(self, registry: StateRegistry) -> None:
        handler = type("StateHandler", (_Handler,), {"registry": registry})
        self._server = LoopbackServer(handler, "pact-states")

    @property
    def url(self) -> str:
        return f"{self._server.base_url}/_pact/provider-states"

    def __enter__(self) -> str:
        self._server.__enter__()
        return self.url

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)
