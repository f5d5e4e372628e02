"""Everything COS can be told at start, from flags and the few documented env vars.

One frozen dataclass so the app factory, the background tasks and the tests all
read configuration from a single value that is passed in, never from globals.
Defaults are the *development* defaults (standalone on 127.0.0.1:8600, MC dev
client `companyos`/`companyos-dev-secret`); docs/companyos.md lists the ones to
change in production (poll interval 30 s, real client secret, pinned MC key).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from seam import test_hooks

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCAL_PACK_DIR = REPO_ROOT / "policy" / "policy-pack-v0"
DEFAULT_PACK = "policy-pack-v0"
DEV_CLIENT_ID = "companyos"
DEV_CLIENT_SECRET = "companyos-dev-secret"
PRODUCTION_POLL_INTERVAL_S = 30.0


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8600
    mode: str = "standalone"  # standalone | integrated
    mc_url: str = "http://127.0.0.1:8700"
    client_id: str = DEV_CLIENT_ID
    client_secret: str = field(default=DEV_CLIENT_SECRET, repr=False)
    mc_public_key: Path | None = None
    data_dir: Path = Path("data/companyos")
    pack: str = DEFAULT_PACK
    local_pack_dir: Path = DEFAULT_LOCAL_PACK_DIR
    poll_interval_s: float = 1.0
    max_backoff_s: float | None = None  # None → derived from the poll interval
    users_file: Path | None = None  # None → <data_dir>/users.json
    callback_url: str | None = None
    token_lifetime_s: int = 600
    mc_timeout_s: float = 5.0
    publish_concurrency: int = 8
    seam_mutations: frozenset[str] = frozenset()
    test_latency_ms: float = 0.0
    test_hooks: tuple[str, ...] = ()  # what is switched on for a test run (seam/test_hooks.py)
    log_level: str = "info"
    header_timeout_s: float = 10.0  # connect → complete request head (seam/connections.py)

    @property
    def integrated(self) -> bool:
        return self.mode == "integrated"

    @property
    def users_path(self) -> Path:
        return self.users_file or self.data_dir / "users.json"

    @property
    def backoff_cap_s(self) -> float:
        """Upper bound of a fetch/publish backoff: explicit, or 5× the poll interval (≥ 2 s)."""
        if self.max_backoff_s is not None:
            return self.max_backoff_s
        return max(2.0, 5 * self.poll_interval_s)

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _mutations_from_env() -> list[str]:
    raw = os.environ.get("SEAM_MUTATIONS", "")
    return [m.strip() for m in raw.split(",") if m.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m companyos",
        description="CompanyOS reference service (COS). Standalone by default; "
        "--mode integrated fetches signed policy packs from MC and publishes evidence to it.",
    )
    d = Settings()
    p.add_argument("--host", default=d.host, help="bind address (default %(default)s)")
    p.add_argument("--port", type=int, default=d.port, help="bind port (default %(default)s)")
    p.add_argument("--mode", choices=["standalone", "integrated"], default=d.mode)
    p.add_argument("--mc-url", default=d.mc_url, help="MC base URL (integrated; default %(default)s)")
    p.add_argument("--client-id", default=d.client_id, help="MC client id (default: the MC dev client)")
    p.add_argument(
        "--client-secret",
        default=None,
        help="MC client secret (default: the dev secret; prefer env COS_CLIENT_SECRET)",
    )
    p.add_argument(
        "--mc-public-key",
        type=Path,
        default=None,
        help="PEM of MC's signing key to pin; without it COS trusts MC's key on first use",
    )
    p.add_argument("--data-dir", type=Path, default=d.data_dir, help="state dir (default %(default)s)")
    p.add_argument("--pack", default=d.pack, help="policy pack name to enforce (default %(default)s)")
    p.add_argument(
        "--local-pack-dir",
        type=Path,
        default=d.local_pack_dir,
        help="directory of the local pack sources (*.rego, data.json)",
    )
    p.add_argument(
        "--poll-interval",
        type=float,
        default=d.poll_interval_s,
        help="seconds between pack polls, jittered (dev default %(default)s; production: 30)",
    )
    p.add_argument("--max-backoff", type=float, default=None, help="cap of fetch/publish backoff, s")
    p.add_argument("--users-file", type=Path, default=None, help="users JSON (default <data-dir>/users.json)")
    p.add_argument(
        "--callback-url",
        default=None,
        help="the URL MC should send receipts to (informational; MC is configured by the harness)",
    )
    p.add_argument("--token-lifetime", type=int, default=d.token_lifetime_s, help="login token lifetime, s")
    p.add_argument("--mc-timeout", type=float, default=d.mc_timeout_s, help="per-request MC timeout, s")
    p.add_argument(
        "--seam-mutation",
        action="append",
        default=[],
        metavar="NAME",
        help="test-only: break one seam promise (repeatable; also env SEAM_MUTATIONS)",
    )
    p.add_argument(
        "--test-latency-ms",
        type=float,
        default=None,
        help="test-only: add this delay to authorize/attestation/evidence (env COS_TEST_LATENCY_MS)",
    )
    p.add_argument(
        test_hooks.FLAG,
        action="store_true",
        help="let the test-only switches above take effect (loopback binds only; seam/test_hooks.py)",
    )
    p.add_argument("--log-level", default=d.log_level, choices=["debug", "info", "warning", "error"])
    return p


def from_args(argv: list[str] | None = None) -> Settings:
    args = build_parser().parse_args(argv)
    secret = args.client_secret or os.environ.get("COS_CLIENT_SECRET") or DEV_CLIENT_SECRET
    latency = args.test_latency_ms
    if latency is None:
        latency = float(os.environ.get("COS_TEST_LATENCY_MS", "0") or 0)
    if args.poll_interval <= 0:
        raise SystemExit("--poll-interval must be positive")
    mutations = sorted(set(_mutations_from_env() + list(args.seam_mutation)))
    own = [m for m in mutations if not m.startswith("mc.")]  # MC's names are MC's business
    requested = [f"seam mutation {m}" for m in own] + (
        [f"test latency {latency:g} ms"] if latency > 0 else []
    )
    hooks = test_hooks.guard("COS", requested, args.allow_test_hooks, args.host)
    return Settings(
        host=args.host,
        port=args.port,
        mode=args.mode,
        mc_url=args.mc_url.rstrip("/"),
        client_id=args.client_id,
        client_secret=secret,
        mc_public_key=args.mc_public_key,
        data_dir=args.data_dir,
        pack=args.pack,
        local_pack_dir=args.local_pack_dir,
        poll_interval_s=args.poll_interval,
        max_backoff_s=args.max_backoff,
        users_file=args.users_file,
        callback_url=args.callback_url,
        token_lifetime_s=args.token_lifetime,
        mc_timeout_s=args.mc_timeout,
        seam_mutations=frozenset(mutations),
        test_latency_ms=latency,
        test_hooks=hooks,
        log_level=args.log_level,
    )
