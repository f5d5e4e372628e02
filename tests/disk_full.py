"""A tiny tmpfs data volume that tests fill up, for the disk-full tests of both services.

Root can mount a tmpfs (CI and this machine run the suite as root); elsewhere
the fixture skips and says why. The volume is filled with one file, so the
services' own SQLite writes meet ENOSPC while the services keep running.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

CHUNK = 16 * 1024


@pytest.fixture(name="tiny_volume")
def tiny_volume_fixture(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs; skipped (with the reason) where mounting is impossible."""
    mount_point = tmp_path / "volume"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs for the disk-full test: {result.stderr.strip() or result.returncode}"
        )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(volume: Path, leave_bytes: int) -> Path:
    """Fill the volume with one file until ENOSPC, then free `leave_bytes` again."""
    filler = volume / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            for _ in range(10_000):  # bounded: 160 MiB at most, far above the volume size
                out.write(b"\0" * CHUNK)
        except OSError:
            pass  # ENOSPC: the volume is full
    size = filler.stat().st_size
    with filler.open("r+b") as out:
        out.truncate(max(0, size - leave_bytes))
    return filler
