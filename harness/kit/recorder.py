"""Every HTTP exchange a scenario makes, redacted, for the report.

The Allure report shows what the suite actually sent and received. Secrets
must never reach it: Authorization values, passwords, client secrets and
tokens in bodies are replaced by `<redacted>` before anything is stored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import httpx

REDACTED = "<redacted>"
_SECRET_HEADERS = {"authorization", "cookie", "set-cookie", "x-mc-signature", "proxy-authorization"}
_SECRET_FIELDS = re.compile(r"(password|secret|token|access_token|client_secret)", re.I)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_MAX_BODY = 4000


def _redact_value(value: object) -> object:
    if isinstance(value, dict):
        return {k: (REDACTED if _SECRET_FIELDS.search(k) else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    if isinstance(value, str):
        return _JWT.sub(REDACTED, value)
    return value


def redact_body(raw: bytes, content_type: str) -> str:
    if not raw:
        return ""
    if "json" in content_type:
        try:
            return json.dumps(_redact_value(json.loads(raw)), indent=2)[:_MAX_BODY]
        except (ValueError, RecursionError):  # not JSON, or nested too deep to walk (bad-input scenarios)
            pass
    if "x-www-form-urlencoded" in content_type:
        pairs = [p.split("=", 1) for p in raw.decode("latin-1").split("&") if p]
        return "&".join(
            f"{k}={REDACTED if _SECRET_FIELDS.search(k) else v}" for k, *rest in pairs for v in (rest or [""])
        )
    if content_type.startswith("text/") or not content_type:
        return _JWT.sub(REDACTED, raw.decode("utf-8", "replace"))[:_MAX_BODY]
    return f"<{len(raw)} bytes of {content_type}>"


def redact_headers(headers: httpx.Headers) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}


@dataclass
class Recorder:
    exchanges: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request, response: httpx.Response) -> None:
        self.record(request, response)

    def record(self, request: httpx.Request, response: httpx.Response) -> None:
        req_body = redact_body(
            request.content if hasattr(request, "_content") else b"", request.headers.get("content-type", "")
        )
        resp_body = redact_body(response.content, response.headers.get("content-type", ""))
        lines = [f"> {request.method} {request.url}"]
        lines += [f"> {k}: {v}" for k, v in redact_headers(request.headers).items()]
        if req_body:
            lines += [">", req_body]
        lines += [f"< {response.status_code} {response.reason_phrase}"]
        lines += [f"< {k}: {v}" for k, v in redact_headers(response.headers).items()]
        if resp_body:
            lines += ["<", resp_body]
        self.exchanges.append("\n".join(lines))

    def event_hooks(self) -> dict[str, list]:
        """httpx event hooks that record every response of a client."""

        def on_response(response: httpx.Response) -> None:
            response.read()
            self.record(response.request, response)

        return {"response": [on_response]}

    def drain(self) -> str:
        text = "\n\n".join(self.exchanges)
        self.exchanges.clear()
        return text
