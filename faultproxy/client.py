"""A small synchronous client for Toxiproxy's HTTP API, used by the suite's steps and the harness.

Why its own client: the steps must run unchanged against this package's server and against a real
Toxiproxy (`backend=external`), so the client uses only requests every Toxiproxy 2.x accepts:
updates go by POST (PATCH only exists from 2.6 on), `/version` may be JSON (newer) or plain text
(2.1.x), and error bodies are parsed whatever their Content-Type (Toxiproxy sends its JSON errors
as text/plain). Proxies and toxics come back as Toxiproxy's JSON dicts, unchanged.

    tp = ToxiproxyClient("http://127.0.0.1:8474")
    tp.create_proxy("mc", listen="127.0.0.1:18700", upstream="127.0.0.1:8700")
    with tp.toxic("mc", "latency", {"latency": 500}):
        ...                      # COS -> MC now takes 500 ms longer
    with tp.down("mc"):
        ...                      # MC unreachable through the proxy
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx

Json = dict[str, Any]
JsonList = list[Json]  # module-level alias: inside the class `list` is the method below


class ToxiproxyError(Exception):
    """The API answered with an error status; `status` and `message` are Toxiproxy's."""

    def __init__(self, status: int, message: str, method: str, path: str) -> None:
        super().__init__(f"{method} {path}: {status} {message}")
        self.status = status
        self.message = message


class ToxiproxyClient:
    def __init__(self, base_url: str = "http://127.0.0.1:8474", timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout_s, headers={"User-Agent": "faultproxy-client"}
        )

    # --- plumbing -----------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ToxiproxyClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, body: object = None) -> httpx.Response:
        if body is None:
            response = self._http.request(method, path)
        else:
            response = self._http.request(method, path, json=body)
        if response.status_code >= 400:
            message = response.text.strip()
            with contextlib.suppress(ValueError, AttributeError):
                message = str(json.loads(message)["error"])
            raise ToxiproxyError(response.status_code, message, method, path)
        return response

    # --- server -------------------------------------------------------------------------------
    def version(self) -> str:
        text = self._request("GET", "/version").text.strip()
        try:
            return str(json.loads(text)["version"])
        except (ValueError, KeyError, TypeError):
            return text  # Toxiproxy 2.1.x answers with the bare version string

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._request("POST", "/reset")

    # --- proxies ------------------------------------------------------------------------------
    def proxies(self) -> dict[str, Json]:
        """Every proxy, by name, each with its toxics."""
        result: dict[str, Json] = self._request("GET", "/proxies").json()
        return result

    def create_proxy(self, name: str, listen: str, upstream: str, enabled: bool = True) -> Json:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        result: Json = self._request("POST", "/proxies", body).json()
        return result

    def populate(self, proxies: Iterable[Mapping[str, object]]) -> JsonList:
        """Create each proxy, or replace it if its listen/upstream differ; idempotent."""
        result: JsonList = self._request("POST", "/populate", [dict(p) for p in proxies]).json()["proxies"]
        return result

    def get_proxy(self, name: str) -> Json:
        result: Json = self._request("GET", f"/proxies/{name}").json()
        return result

    def update_proxy(self, name: str, **fields: object) -> Json:
        """Change `listen`, `upstream` and/or `enabled`; fields left out keep their values."""
        result: Json = self._request("POST", f"/proxies/{name}", fields).json()
        return result

    def set_enabled(self, name: str, enabled: bool) -> Json:
        """False takes the proxy down: live connections close and new ones are refused."""
        return self.update_proxy(name, enabled=enabled)

    def delete_proxy(self, name: str) -> None:
        self._request("DELETE", f"/proxies/{name}")

    # --- toxics -------------------------------------------------------------------------------
    def toxics(self, proxy: str) -> JsonList:
        result: JsonList = self._request("GET", f"/proxies/{proxy}/toxics").json()
        return result

    def add_toxic(
        self,
        proxy: str,
        toxic_type: str,
        attributes: Mapping[str, int] | None = None,
        *,
        stream: str = "downstream",
        toxicity: float = 1.0,
        name: str | None = None,
    ) -> Json:
        """Add a toxic; `name` defaults to `<type>_<stream>` (server side, as in Toxiproxy)."""
        body: Json = {
            "type": toxic_type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": dict(attributes or {}),
        }
        if name is not None:
            body["name"] = name
        result: Json = self._request("POST", f"/proxies/{proxy}/toxics", body).json()
        return result

    def get_toxic(self, proxy: str, toxic: str) -> Json:
        result: Json = self._request("GET", f"/proxies/{proxy}/toxics/{toxic}").json()
        return result

    def update_toxic(
        self,
        proxy: str,
        toxic: str,
        attributes: Mapping[str, int] | None = None,
        toxicity: float | None = None,
    ) -> Json:
        """Change some attributes (others keep their values) and/or the toxicity."""
        body: Json = {}
        if attributes is not None:
            body["attributes"] = dict(attributes)
        if toxicity is not None:
            body["toxicity"] = toxicity
        result: Json = self._request("POST", f"/proxies/{proxy}/toxics/{toxic}", body).json()
        return result

    def remove_toxic(self, proxy: str, toxic: str) -> None:
        self._request("DELETE", f"/proxies/{proxy}/toxics/{toxic}")

    # --- scoped faults, for steps that must always clean up ------------------------------------
    @contextlib.contextmanager
    def toxic(
        self,
        proxy: str,
        toxic_type: str,
        attributes: Mapping[str, int] | None = None,
        *,
        stream: str = "downstream",
        toxicity: float = 1.0,
        name: str | None = None,
    ) -> Iterator[Json]:
        """Add a toxic for the duration of a `with` block, then remove it (if still there)."""
        added = self.add_toxic(proxy, toxic_type, attributes, stream=stream, toxicity=toxicity, name=name)
        try:
            yield added
        finally:
            try:
                self.remove_toxic(proxy, str(added["name"]))
            except ToxiproxyError as exc:
                if exc.status != 404:
                    raise

    @contextlib.contextmanager
    def down(self, proxy: str) -> Iterator[None]:
        """Disable a proxy for the duration of a `with` block, then enable it again."""
        self.set_enabled(proxy, False)
        try:
            yield
        finally:
            self.set_enabled(proxy, True)

    list = proxies  # the name other Toxiproxy clients use for "every proxy"
