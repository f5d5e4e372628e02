"""The second contract: every pact interaction checked against the provider's OpenAPI, offline.

Why: provider verification proves the provider *does* what a pact asks; it cannot tell that the
consumer relies on something the provider never *promised* (an undocumented field, status or
header that happens to be there today). This check reads each committed pact, builds the
provider's document from its code (no server), and for every interaction:

- the operation (method + path) exists in the document;
- the request is valid for it (openapi-core: parameters, body, security), when the interaction
  expects success — a 4xx interaction sends a bad request on purpose, so only its operation counts;
- the response status is documented, the body matches the documented schema (openapi-core), and
  every field and header the pact promises is declared in the document (openapi-core tolerates
  extra members and headers; a pact relying on them is the drift this check exists to catch).

`python -m contracts openapi` prints the report; the contract gate runs it as one step.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from contracts import COS, MC, PACT_DIR

HOST = "http://provider.invalid"
# Headers every HTTP answer may carry without the document listing them.
_TRANSPORT_HEADERS = {"content-type", "content-length", "date", "server", "vary", "connection"}


def _cos_document() -> dict[str, Any]:
    from companyos.app import openapi_document

    return openapi_document()


def _mc_document() -> dict[str, Any]:
    from conductor.openapi import document

    return document()


PROVIDERS: dict[str, Callable[[], dict[str, Any]]] = {COS: _cos_document, MC: _mc_document}


@dataclass
class Finding:
    pact: str
    interaction: str
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"{self.pact}: {self.interaction!r}: " + "; ".join(self.problems)


@dataclass
class Outcome:
    checked: int
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not self.findings

    def report(self) -> str:
        lines = [f"{self.checked} interactions checked against the provider OpenAPI documents"]
        lines += [f"  FAIL {f.line()}" for f in self.findings]
        if not self.findings:
            lines.append("  every interaction is documented by its provider")
        return "\n".join(lines)


def _json_loads(value: bytes, **_: Any) -> Any:
    return json.loads(value)


_CONFIG = Config(extra_media_type_deserializers={"application/problem+json": _json_loads})


def _without_required(node: Any) -> Any:
    """The document with every schema's `required` list dropped (parameters keep theirs)."""
    if isinstance(node, dict):
        return {
            k: _without_required(v) for k, v in node.items() if not (k == "required" and isinstance(v, list))
        }
    if isinstance(node, list):
        return [_without_required(v) for v in node]
    return node


@dataclass
class ProviderSpec:
    """The provider's document, as-is for requests and with members optional for answers:
    a pact names only the members its consumer reads, and that subset is what must be promised."""

    doc: dict[str, Any]
    requests: OpenAPI
    responses: OpenAPI

    @classmethod
    def of(cls, doc: dict[str, Any]) -> ProviderSpec:
        return cls(
            doc,
            OpenAPI.from_dict(doc, config=_CONFIG),
            OpenAPI.from_dict(_without_required(doc), config=_CONFIG),
        )


# -- pact → request/response -----------------------------------------------------------------
def _headers(part: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, value in (part.get("headers") or {}).items():
        out[name] = ", ".join(value) if isinstance(value, list) else str(value)
    return out


def _body(part: dict[str, Any]) -> tuple[bytes, str | None, Any]:
    """(raw bytes, media type, decoded JSON or None) of a pact v4 body."""
    body = part.get("body")
    if not body:
        return b"", None, None
    content, media = body.get("content"), body.get("contentType")
    if body.get("encoded") == "base64":
        return base64.b64decode(content or ""), media, None
    if isinstance(content, str) and not (media or "").endswith("json"):
        return content.encode("utf-8"), media, None
    return json.dumps(content).encode("utf-8"), media, content


def _request(interaction: dict[str, Any]) -> MockRequest:
    req = interaction["request"]
    raw, media, _ = _body(req)
    query = req.get("query") or {}
    headers = _headers(req)
    return MockRequest(
        HOST,
        req["method"],
        req["path"],
        args={k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in query.items()},
        headers=headers,
        data=raw or None,
        content_type=media or headers.get("Content-Type", "application/json"),
    )


def _response(interaction: dict[str, Any]) -> MockResponse:
    resp = interaction["response"]
    raw, media, _ = _body(resp)
    headers = _headers(resp)
    return MockResponse(raw, resp.get("status", 200), headers, media or headers.get("Content-Type", ""))


# -- undocumented members and headers --------------------------------------------------------
def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = doc
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def undocumented_members(value: Any, schema: dict[str, Any], doc: dict[str, Any], at: str = "$") -> list[str]:
    """JSON paths in `value` that `schema` does not declare (closed or open objects alike)."""
    schema = _resolve(schema, doc)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        found = [undocumented_members(value, o, doc, at) for o in options if _fits(value, _resolve(o, doc))]
        return min(found, key=len) if found else []
    if isinstance(value, dict) and schema.get("type") in ("object", None):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        out: list[str] = []
        for key, member in value.items():
            if props is not None and key in props:
                out += undocumented_members(member, props[key], doc, f"{at}.{key}")
            elif isinstance(extra, dict) and extra:
                out += undocumented_members(member, extra, doc, f"{at}.{key}")
            elif props is not None:  # declared members only: anything else is not promised
                out.append(f"{at}.{key}")
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [
            p
            for i, item in enumerate(value)
            for p in undocumented_members(item, schema["items"], doc, f"{at}[{i}]")
        ]
    return []


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "null": value is None,
        "string": isinstance(value, str),
    }.get(kind, True)


def _documented_response(
    doc: dict[str, Any], method: str, template: str, status: int
) -> dict[str, Any] | None:
    responses = doc["paths"][template][method.lower()]["responses"]
    return responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")


def _template(doc: dict[str, Any], path: str) -> str | None:
    """The document's path template matching a concrete path (exact paths first)."""
    if path in doc["paths"]:
        return path
    parts = path.strip("/").split("/")
    for template in doc["paths"]:
        tparts = template.strip("/").split("/")
        if len(tparts) == len(parts) and all(
            t == p or (t.startswith("{") and t.endswith("}")) for t, p in zip(tparts, parts, strict=True)
        ):
            return template
    return None


# -- the check -------------------------------------------------------------------------------
def check_interaction(spec: ProviderSpec, interaction: dict[str, Any]) -> list[str]:
    """What this interaction relies on that the provider's document does not promise."""
    doc = spec.doc
    req, resp = interaction["request"], interaction["response"]
    method, status = req["method"].upper(), int(resp.get("status", 200))
    template = _template(doc, req["path"])
    if template is None or method.lower() not in doc["paths"][template]:
        return [f"{method} {req['path']} is not an operation of the provider's document"]
    problems: list[str] = []
    request = _request(interaction)
    if status < 400:
        result = spec.requests.unmarshal_request(request)
        problems += [f"request: {_error(e)}" for e in result.errors]
    documented = _documented_response(doc, method, template, status)
    if documented is None:
        return [*problems, f"response status {status} is not documented for {method} {template}"]
    declared = {h.lower() for h in documented.get("headers", {})}
    for name in _headers(resp):
        if name.lower() not in declared and name.lower() not in _TRANSPORT_HEADERS:
            problems.append(f"response header {name} is not documented for {method} {template} {status}")
    _, media, content = _body(resp)
    if media is not None and not (documented.get("content") or {}):
        problems.append(f"a {status} answer of {method} {template} is documented without a body")
    elif content is not None:
        try:
            spec.responses.validate_response(request, _response(interaction))
        except Exception as exc:  # noqa: BLE001 - openapi-core raises one error type per failure kind
            problems.append(f"response: {_error(exc)}")
        for media_type, body_doc in (documented.get("content") or {}).items():
            if media_type.split(";")[0] == (media or "").split(";")[0]:
                extra = undocumented_members(content, body_doc.get("schema", {}), doc)
                problems += [f"response member {p} is not documented" for p in extra]
    return problems


def _error(exc: BaseException) -> str:
    cause = exc.__cause__
    detail = "; ".join(str(e.message) for e in getattr(cause, "schema_errors", []) or [])
    return f"{type(exc).__name__}: {exc}" + (f" ({detail})" if detail else "")


def check_pacts(
    pact_paths: list[Path] | None = None, providers: dict[str, Callable[[], dict[str, Any]]] | None = None
) -> Outcome:
    providers = providers or PROVIDERS
    paths = pact_paths if pact_paths is not None else sorted(PACT_DIR.glob("*.json"))
    docs: dict[str, ProviderSpec] = {}
    findings: list[Finding] = []
    checked = 0
    for path in paths:
        pact = json.loads(path.read_text("utf-8"))
        provider = pact["provider"]["name"]
        if provider not in providers:
            findings.append(Finding(path.name, "*", [f"no OpenAPI document for provider {provider!r}"]))
            continue
        if provider not in docs:
            docs[provider] = ProviderSpec.of(providers[provider]())
        spec = docs[provider]
        for interaction in pact.get("interactions", []):
            if interaction.get("type", "Synchronous/HTTP") != "Synchronous/HTTP":
                continue
            checked += 1
            problems = check_interaction(spec, interaction)
            if problems:
                findings.append(Finding(path.name, interaction.get("description", "?"), problems))
    return Outcome(checked, findings)


def main() -> int:
    outcome = check_pacts()
    print(outcome.report())
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
