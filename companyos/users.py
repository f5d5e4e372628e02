"""Local users: a JSON file of argon2id password hashes and roles.

Standalone COS has no identity provider, so users live in a file in the data
dir. A missing file is created with the development user `qa` /
`qa-dev-password` (roles: developer) and a WARNING, because a known password
must never go unnoticed outside a laptop. Passwords are only ever compared
through argon2; an unknown user still pays for one verification so timing
does not reveal which usernames exist.

File format: {"users": {"<name>": {"password_hash": "$argon2id$…", "roles": [..]}}}
Add a user: python -m companyos.users add --file F --username U --roles a,b  (password on stdin)
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

log = logging.getLogger("companyos.users")

DEV_USER = "qa"
DEV_PASSWORD = "qa-dev-password"  # noqa: S105 - documented development credential
DEV_ROLES = ("developer",)


@dataclass(frozen=True)
class User:
    username: str
    roles: tuple[str, ...]


class UserStore:
    """Verifies username/password pairs against the users file."""

    def __init__(self, users: dict[str, dict], hasher: PasswordHasher | None = None) -> None:
        self._users = users
        self._hasher = hasher or PasswordHasher()

    @classmethod
    def load(cls, path: Path) -> UserStore:
        """Load `path`, creating it with the development user when it does not exist."""
        if not path.exists():
            hasher = PasswordHasher()
            write_users(
                path, {DEV_USER: {"password_hash": hasher.hash(DEV_PASSWORD), "roles": list(DEV_ROLES)}}
            )
            log.warning(  # names the documented password, never prints it (logs reach reports/)
                "created users file %s with the DEVELOPMENT user %r (the documented development "
                "password, roles %s) — replace it before any real use",
                path,
                DEV_USER,
                ",".join(DEV_ROLES),
            )
            return cls(read_users(path), hasher)
        users = read_users(path)
        if DEV_USER in users:
            log.warning("users file %s contains the development user %r", path, DEV_USER)
        return cls(users)

    def authenticate(self, username: str, password: str) -> User | None:
        entry = self._users.get(username)
        stored = entry.get("password_hash") if isinstance(entry, dict) else None
        try:
            self._hasher.verify(stored or _dummy_hash(), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if not stored:
            return None
        return User(username=username, roles=tuple(str(r) for r in entry.get("roles", [])))

    def __contains__(self, username: str) -> bool:
        return username in self._users


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify unknown users against (same cost as a real one), made once per process."""
    return PasswordHasher().hash("not-a-real-password")


def read_users(path: Path) -> dict[str, dict]:
    doc = json.loads(path.read_text("utf-8"))
    users = doc.get("users") if isinstance(doc, dict) else None
    if not isinstance(users, dict):
        raise ValueError(f"{path}: expected an object with a 'users' map")
    return users


def write_users(path: Path, users: dict[str, dict]) -> None:
    """Write atomically (temp → fsync → rename), readable only by the owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"users": users}, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companyos.users", description="manage COS local users")
    sub = parser.add_subparsers(dest="cmd", required=True)
    add = sub.add_parser("add", help="add or replace a user; the password is read from stdin")
    add.add_argument("--file", type=Path, required=True)
    add.add_argument("--username", required=True)
    add.add_argument("--roles", default="", help="comma-separated roles")
    args = parser.parse_args(argv)
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        parser.error("empty password on stdin")
    users = read_users(args.file) if args.file.exists() else {}
    users[args.username] = {
        "password_hash": PasswordHasher().hash(password),
        "roles": [r for r in args.roles.split(",") if r],
    }
    write_users(args.file, users)
    print(f"user {args.username!r} written to {args.file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
