"""Strict JSON at the door, and JSON that can always be sent back out.

Why: Python's `json` accepts `NaN`, `Infinity`, numbers that overflow to
infinity (`1e999`), lone UTF-16 surrogates (`"\\ud800"`) and nesting until
the interpreter's recursion limit. None of that is JSON a peer can read
(RFC 8259 §6, I-JSON RFC 7493 §2.1), and once stored it made every later
read of the row fail. So both services parse request bodies with `loads`
(which refuses all of it with a reason) and render stored documents with
`sanitize` (which can never fail, so a row stored before this check cannot
turn a read path into a 500).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64  # arrays/objects inside each other; evidence payloads are far shallower


class StrictJsonError(ValueError):
    """The text is not strict JSON; `reason` is the problem reason a service answers with."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _refuse_constant(name: str) -> Any:
    raise StrictJsonError("non_finite_number", f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise StrictJsonError("non_finite_number", f"number {text[:32]} is out of range (not finite)")
    return value


def _bad_string(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise StrictJsonError unless `value` nests at most `max_depth` deep, has only finite
    numbers and only strings (keys too) that are valid Unicode. Iterative: no recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                raise StrictJsonError("nesting_too_deep", f"JSON nests deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and _bad_string(key):
                        raise StrictJsonError("invalid_unicode", "a key holds a lone UTF-16 surrogate")
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            if _bad_string(item):
                raise StrictJsonError("invalid_unicode", "a string holds a lone UTF-16 surrogate")
        elif isinstance(item, float) and not math.isfinite(item):
            raise StrictJsonError("non_finite_number", f"{item} is not a JSON number")


def loads(body: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strict JSON (UTF-8 bytes or text); raise StrictJsonError saying why not."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise StrictJsonError("malformed_json", f"body is not UTF-8: {exc.reason}") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise StrictJsonError("nesting_too_deep", f"JSON nests deeper than {max_depth} levels") from None
    except StrictJsonError:
        raise
    except ValueError as exc:
        raise StrictJsonError("malformed_json", f"not valid JSON: {exc}") from None
    check(value, max_depth)
    return value


_REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean_string(value: str) -> str:
    # A Python str holds a surrogate only when it is lone (pairs decode to one code point).
    return _SURROGATE.sub(_REPLACEMENT, value) if _bad_string(value) else value


def sanitize(value: Any, max_depth: int = MAX_DEPTH) -> Any:
    """A copy of `value` that strict JSON can carry: non-finite numbers → None, lone surrogates
    → U+FFFD, anything nested deeper than `max_depth` → None. Never raises; iterative."""

    def leaf(item: Any) -> Any:
        if isinstance(item, str):
            return _clean_string(item)
        if isinstance(item, float) and not math.isfinite(item):
            return None
        return item

    if not isinstance(value, dict | list):
        return leaf(value)
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any, int]] = [(value, root, 0)]
    while stack:
        source, target, depth = stack.pop()
        pairs = source.items() if isinstance(source, dict) else enumerate(source)
        for key, child in pairs:
            if isinstance(child, dict | list):
                copy: Any = None
                if depth + 1 < max_depth:
                    copy = {} if isinstance(child, dict) else []
                    stack.append((child, copy, depth + 1))
            else:
                copy = leaf(child)
            if isinstance(target, dict):
                target[_clean_string(key) if isinstance(key, str) else key] = copy
            else:
                target.append(copy)
    return root


def loads_stored(text: str | bytes) -> Any:
    """Parse JSON this service stored earlier, leniently (it may predate the strict door), and
    return it sanitized; a row that no longer parses at all reads as None instead of failing."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return sanitize(value)
