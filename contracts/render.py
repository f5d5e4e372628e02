"""Provider-state values in *expected responses*, resolved before verification.

Pact V3+ lets a consumer say "this response value is whatever the provider state produced"
(a `ProviderState` generator: `"${evidenceId}"`). The Rust verifier inside pact-python applies
such generators to requests only, so a response value tied to a state — the evidence id a
replay must repeat, the ETag and Content-Digest of the pack revision the state published —
would otherwise be checked by its regex alone, and a provider that returns a *fresh* id on a
replay, or a digest of other bytes, would pass.

`resolve(pact, values_for)` therefore sets each such state up first (through the same
memoised handlers the verifier will call), substitutes the values into a copy of the pact, and
drops the regex rule for those paths, so the verifier compares them exactly. The committed pact
is unchanged; the resolved copy lives in a temp dir for one verification run.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

Values = dict[str, Any]
_EXPR = re.compile(r"\$\{([A-Za-z0-9_.-]+)\}")


class RenderError(ValueError):
    """An expression names a value the provider state did not return."""


def substitute(expression: str, values: Values) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            raise RenderError(f"provider state returned no value {name!r} for expression {expression!r}")
        return str(values[name])

    return _EXPR.sub(one, expression)


def substitute_all(doc: Any, values: Values) -> Any:
    """`substitute` applied to every string inside a JSON document (state parameters)."""
    if isinstance(doc, str):
        return substitute(doc, values) if _EXPR.search(doc) else doc
    if isinstance(doc, list):
        return [substitute_all(item, values) for item in doc]
    if isinstance(doc, dict):
        return {k: substitute_all(v, values) for k, v in doc.items()}
    return doc


def _set_path(doc: Any, path: str, value: Any) -> None:
    """Set a simple JSON path (`$.a.b`, `$.a[0].b`) in a parsed body."""
    parts = re.findall(r"\.([^.\[\]]+)|\[(\d+)\]", path[1:] if path.startswith("$") else path)
    target = doc
    for i, (name, index) in enumerate(parts):
        key: Any = int(index) if index else name
        if i == len(parts) - 1:
            target[key] = value
        else:
            target = target[key]


def response_state_generators(interaction: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    gens = (interaction.get("response") or {}).get("generators") or {}
    return {
        category: {path: g for path, g in entries.items() if g.get("type") == "ProviderState"}
        for category, entries in gens.items()
        if isinstance(entries, dict)
    }


def needs_values(interaction: dict[str, Any]) -> bool:
    return any(response_state_generators(interaction).values())


def resolve_interaction(interaction: dict[str, Any], values: Values) -> dict[str, Any]:
    out = copy.deepcopy(interaction)
    response = out["response"]
    rules = response.get("matchingRules") or {}
    gens = response.get("generators") or {}
    for category, entries in response_state_generators(interaction).items():
        for path, gen in entries.items():
            value = substitute(gen.get("expression", ""), values)
            if category == "header":
                headers = response.setdefault("headers", {})
                name = next((h for h in headers if h.lower() == path.lower()), path)
                headers[name] = [value]
            elif category == "body":
                _set_path(response["body"]["content"], path, value)
            else:
                continue
            (rules.get(category) or {}).pop(path, None)
            (gens.get(category) or {}).pop(path, None)
    for section in (rules, gens):
        for category in [c for c, entries in section.items() if not entries]:
            del section[category]
    if not rules:
        response.pop("matchingRules", None)
    if not gens:
        response.pop("generators", None)
    return out


def resolve(
    pact: dict[str, Any], values_for: Callable[[list[dict[str, Any]]], Values]
) -> tuple[dict, list[str]]:
    """A copy of `pact` with response-side state values filled in, and any setup errors.

    An interaction whose states fail to set up is left as committed (its regex rules still
    apply) and the error is returned; the verifier calls the same state again and reports it.
    """
    out = copy.deepcopy(pact)
    errors: list[str] = []
    for i, interaction in enumerate(pact.get("interactions", [])):
        if not needs_values(interaction):
            continue
        try:
            values = values_for(interaction.get("providerStates") or [])
            out["interactions"][i] = resolve_interaction(interaction, values)
        except Exception as exc:  # noqa: BLE001 - reported with the verification
            errors.append(f"{interaction.get('description')}: {type(exc).__name__}: {exc}")
    return out, errors
