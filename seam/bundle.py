"""Policy packs as deterministic OPA-bundle tar.gz files.

Layout: `.manifest` (JSON: revision, roots, metadata.name), `*.rego`,
`data.json`. Deterministic (sorted entries, zero mtimes, fixed owner, gzip
mtime 0) so the same files and revision always give the same SHA-256 — the
pack's identity on the seam — whether MC or COS built it.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

MAX_PACK_BYTES = 1024 * 1024
ROOT = "companyos"
QUERY = "data.companyos.authz"


class BundleError(ValueError):
    """The bytes are not a well-formed policy pack."""


@dataclass(frozen=True)
class Pack:
    name: str
    revision: str
    files: dict[str, str]  # path → text; .rego files and data.json

    @property
    def rego(self) -> dict[str, str]:
        return {p: t for p, t in self.files.items() if p.endswith(".rego")}

    @property
    def data(self) -> dict:
        return json.loads(self.files.get("data.json", "{}"))


def read_dir(directory: Path) -> dict[str, str]:
    """The pack sources in a directory: every *.rego and data.json."""
    files = {p.name: p.read_text("utf-8") for p in sorted(directory.glob("*.rego"))}
    data = directory / "data.json"
    if data.exists():
        files["data.json"] = data.read_text("utf-8")
    if not any(name.endswith(".rego") for name in files):
        raise BundleError(f"{directory} holds no .rego file")
    return files


def build(name: str, revision: str, files: dict[str, str]) -> bytes:
    manifest = {"revision": revision, "roots": [ROOT], "metadata": {"name": name}}
    entries = {".manifest": json.dumps(manifest, sort_keys=True, indent=2) + "\n", **files}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(entries):
            data = entries[path].encode("utf-8")
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def parse(data: bytes) -> Pack:
    """Read a pack back; rejects anything but regular files at the top level."""
    if len(data) > MAX_PACK_BYTES:
        raise BundleError("pack exceeds the size limit")
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            files: dict[str, str] = {}
            for member in tar.getmembers():
                if not member.isfile() or "/" in member.name.strip("./") or ".." in member.name:
                    raise BundleError(f"unexpected entry {member.name!r} in pack")
                fh = tar.extractfile(member)
                assert fh is not None
                files[member.name.removeprefix("./")] = fh.read().decode("utf-8")
    except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise BundleError(f"pack is not a valid tar.gz: {exc}") from exc
    try:
        manifest = json.loads(files.pop(".manifest"))
        revision = str(manifest["revision"])
        name = str(manifest.get("metadata", {}).get("name", ""))
    except (KeyError, ValueError, TypeError) as exc:
        raise BundleError("pack has no valid .manifest with a revision") from exc
    if not any(p.endswith(".rego") for p in files):
        raise BundleError("pack holds no .rego file")
    return Pack(name=name, revision=revision, files=files)
