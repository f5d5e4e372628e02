"""A small OpenAPI 3.1 document generated from the app's own route table.

Generated, not hand-written, so `/openapi.json` cannot forget a route: every
`Route` contributes its path, methods and the first docstring line of its
endpoint as the summary. Request/response schemas live in docs/seam.md.
"""

from __future__ import annotations

import inspect
from typing import Any

from starlette.routing import BaseRoute, Route

from companyos import __version__

_PUBLIC = {
    "/v1/login",
    "/v1/attestation",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/v1/callbacks/evidence-receipts",
}


def document(routes: list[BaseRoute]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route):
            continue
        doc = inspect.getdoc(route.endpoint) or route.name
        summary, _, description = doc.partition("\n")
        for method in sorted(route.methods or []):
            if method == "HEAD":
                continue
            op: dict[str, Any] = {
                "operationId": f"{route.name}_{method.lower()}",
                "summary": summary.strip(),
                "responses": {"default": {"description": "see docs/seam.md"}},
            }
            if description.strip():
                op["description"] = description.strip()
            if route.path not in _PUBLIC:
                op["security"] = [{"bearer": []}]
            paths.setdefault(route.path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "CompanyOS (COS)", "version": __version__},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        },
    }
