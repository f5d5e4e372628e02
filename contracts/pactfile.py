"""Pact files on disk: names, the normal form they are committed in, and their identity.

Normal form (what `accept` writes and what the drift gate compares): the pact JSON with the
volatile tool metadata removed (`metadata.pactRust`, `metadata.pactPython`: library versions,
which change on an upgrade without any contract change), interactions ordered by description,
keys sorted, two-space indent, one trailing newline.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

VOLATILE_METADATA = ("pactRust", "pactPython", "pact-python", "pact_python")


def file_name(consumer: str, provider: str) -> str:
    return f"{consumer}-{provider}.json"


def normalise(doc: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    metadata = doc.get("metadata") or {}
    for key in VOLATILE_METADATA:
        metadata.pop(key, None)
    doc["metadata"] = metadata
    doc["interactions"] = sorted(
        doc.get("interactions", []),
        key=lambda i: (i.get("description", ""), json.dumps(i.get("providerStates", []), sort_keys=True)),
    )
    return doc


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(normalise(doc), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8"))


def normalise_file(path: Path) -> None:
    path.write_text(dumps(load(path)), "utf-8")


def sha256(path: Path) -> str:
    """Identity of a pact's content (normal form), recorded with each verification."""
    return hashlib.sha256(dumps(load(path)).encode("utf-8")).hexdigest()


def parties(doc: dict[str, Any]) -> tuple[str, str]:
    return doc["consumer"]["name"], doc["provider"]["name"]


def committed(pact_dir: Path) -> list[Path]:
    return sorted(pact_dir.glob("*.json"))
