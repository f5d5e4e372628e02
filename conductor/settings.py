"""Everything MC can be configured with, in one immutable dataclass.

Why a dataclass and not globals: tests build several apps in one process, each
from its own `Settings`, and the CLI is only a thin parser that fills one in.
The defaults are the development defaults the README promises (loopback only,
well-known dev credentials, key generated into the data dir).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from seam import test_hooks
from seam.tokens import MAX_LIFETIME_S

DEV_CLIENT_ID = "companyos"
DEV_CLIENT_SECRET = "companyos-dev-secret"  # noqa: S105 - a documented, public development default
DEV_ADMIN_TOKEN = "mc-admin-dev"  # noqa: S105 - a documented, public development default
KNOWN_SCOPES = ("policy:read", "evidence:write")
DEFAULT_ADMIN_PORT = 8790
INSECURE_DEV_FLAG = "--insecure-dev-credentials"
DEFAULT_PACK = "policy-pack-v0"
DEFAULT_REVISION = "v0"


def default_policy_dir() -> Path:
    """The repo's example pack, found relative to this package (repo/conductor → repo/policy)."""
    return Path(__file__).resolve().parent.parent / "policy" / DEFAULT_PACK


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8700
    admin_host: str = "127.0.0.1"  # the admin API's own listener (docs/conductor.md "Two listeners")
    admin_port: int = DEFAULT_ADMIN_PORT
    insecure_dev_credentials: bool = False  # allow the dev credentials on a non-loopback bind
    data_dir: Path = Path("./data/conductor")
    signing_key_path: Path | None = None  # default: <data_dir>/signing-key.pem
    callback_url: str | None = None  # receipt callback for the dev client
    token_ttl_s: int = 600
    admin_token: str = field(default=DEV_ADMIN_TOKEN, repr=False)  # secrets stay out of reprs/logs
    client_id: str = DEV_CLIENT_ID
    client_secret: str = field(default=DEV_CLIENT_SECRET, repr=False)
    client_scopes: tuple[str, ...] = KNOWN_SCOPES
    policy_dir: Path = field(default_factory=default_policy_dir)
    pack_name: str = DEFAULT_PACK
    pack_revision: str = DEFAULT_REVISION
    mutations: frozenset[str] = frozenset()
    test_evidence_delay_ms: int = 0
    test_hooks: tuple[str, ...] = ()  # switched on with --allow-test-hooks (seam/test_hooks.py)
    graphql_introspection: bool = False  # a development convenience; off unless asked for
    header_timeout_s: float = 10.0  # connect → complete request head (seam/connections.py)
    receipt_max_attempts: int = 10
    receipt_backoff_initial_s: float = 0.5
    receipt_backoff_max_s: float = 30.0
    receipt_timeout_s: float = 5.0
    issuer: str = "maestro-conductor"
    audience: str = "maestro-conductor"

    def __post_init__(self) -> None:
        if not 0 < self.token_ttl_s <= MAX_LIFETIME_S:
            raise ValueError(f"token TTL must be in (0, {MAX_LIFETIME_S}] seconds")
        unknown = set(self.client_scopes) - set(KNOWN_SCOPES)
        if unknown:
            raise ValueError(f"unknown scopes granted to the client: {sorted(unknown)}")
        if self.receipt_max_attempts < 1:
            raise ValueError("receipt_max_attempts must be at least 1")
        if self.test_evidence_delay_ms < 0:
            raise ValueError("test_evidence_delay_ms must not be negative")
        if self.admin_port == self.port and self.admin_host == self.host and self.port != 0:
            raise ValueError(f"the admin API needs its own port, not the public port {self.port}")
        exposed = self.non_loopback_binds()
        dev = self.dev_credentials_in_use()
        if exposed and dev and not self.insecure_dev_credentials:
            raise ValueError(
                f"refusing to serve the development {' and '.join(dev)} on the non-loopback "
                f"bind {', '.join(exposed)}: set MC_CLIENT_SECRET and MC_ADMIN_TOKEN, or pass "
                f"{INSECURE_DEV_FLAG} (MC_INSECURE_DEV_CREDENTIALS=1) for a throwaway test stack"
            )

    def non_loopback_binds(self) -> list[str]:
        """The listeners (public, admin) bound to an address other machines may reach."""
        binds = [("public", self.host), ("admin", self.admin_host)]
        return [f"{name} {host}" for name, host in binds if not test_hooks.is_loopback(host)]

    def dev_credentials_in_use(self) -> list[str]:
        """Which well-known development credentials this MC would accept (names only)."""
        used = []
        if self.client_id == DEV_CLIENT_ID and self.client_secret == DEV_CLIENT_SECRET:
            used.append("client secret")
        if self.admin_token == DEV_ADMIN_TOKEN:
            used.append("admin token")
        return used

    @property
    def key_path(self) -> Path:
        return self.signing_key_path or self.data_dir / "signing-key.pem"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "conductor.db"

    def dev_defaults_in_use(self) -> list[str]:
        """Human-readable notes for each development default still in effect, naming it, never its value."""
        notes = []
        # Name the default, never its value: logs end up in reports/ and CI artifacts (issue 13).
        if self.client_id == DEV_CLIENT_ID and self.client_secret == DEV_CLIENT_SECRET:
            notes.append(
                f"client {DEV_CLIENT_ID!r} with the development client secret (set MC_CLIENT_SECRET) "
                f"granted {' '.join(self.client_scopes)!r}"
            )
        if self.admin_token == DEV_ADMIN_TOKEN:
            notes.append("the development admin token (set MC_ADMIN_TOKEN)")
        if self.signing_key_path is None:
            notes.append(f"signing key generated/kept in the data dir ({self.key_path})")
        return notes
