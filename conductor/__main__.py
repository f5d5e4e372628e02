"""`python -m conductor`: parse flags (env fallbacks), warn about dev defaults, run uvicorn.

Why the warnings: with no flags MC runs on well-known development credentials
and a key generated into the data dir; that must be loud, and any active seam
mutation (a deliberately broken promise) must be louder. Secrets given by flag
or environment are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from conductor import SERVICE, __version__
from conductor import mutations as mut
from conductor.app import create_app
from conductor.settings import (
    DEFAULT_ADMIN_PORT,
    DEFAULT_PACK,
    DEFAULT_REVISION,
    DEV_ADMIN_TOKEN,
    DEV_CLIENT_ID,
    DEV_CLIENT_SECRET,
    INSECURE_DEV_FLAG,
    Settings,
    default_policy_dir,
)
from seam import connections, test_hooks
from seam.tokens import MAX_LIFETIME_S

log = logging.getLogger("conductor")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _ttl(value: str) -> int:
    ttl = int(value)
    if not 0 < ttl <= MAX_LIFETIME_S:
        raise argparse.ArgumentTypeError(f"must be in 1..{MAX_LIFETIME_S}")
    return ttl


def build_parser() -> argparse.ArgumentParser:
    """Every flag, with an MC_* environment fallback. Help never shows a secret's value."""
    p = argparse.ArgumentParser(
        prog="python -m conductor",
        description=f"{SERVICE} {__version__}: the reference Maestro Conductor (docs/conductor.md).",
    )
    add = p.add_argument
    add("--host", default=_env("MC_HOST", "127.0.0.1"), help="bind address (MC_HOST; default 127.0.0.1)")
    add("--port", type=int, default=int(_env("MC_PORT", "8700") or 8700), help="port (MC_PORT; default 8700)")
    add(
        "--admin-host",
        default=_env("MC_ADMIN_HOST", "127.0.0.1"),
        help="the admin API's own bind address (MC_ADMIN_HOST; default 127.0.0.1)",
    )
    add(
        "--admin-port",
        type=int,
        default=int(_env("MC_ADMIN_PORT", str(DEFAULT_ADMIN_PORT)) or DEFAULT_ADMIN_PORT),
        help=f"the admin API's own port (MC_ADMIN_PORT; default {DEFAULT_ADMIN_PORT}); "
        "the public port serves no /admin route",
    )
    add(
        INSECURE_DEV_FLAG,
        action="store_true",
        default=_env("MC_INSECURE_DEV_CREDENTIALS", "") in ("1", "true", "yes"),
        help="accept the public development client secret/admin token on a non-loopback bind "
        "(MC_INSECURE_DEV_CREDENTIALS=1); without it MC refuses to start there",
    )
    add(
        "--data-dir",
        type=Path,
        default=Path(_env("MC_DATA_DIR", "./data/conductor") or "."),
        help="SQLite database and generated key (MC_DATA_DIR; default ./data/conductor)",
    )
    add(
        "--signing-key",
        type=Path,
        default=_env("MC_SIGNING_KEY"),
        help="Ed25519 private key PEM, created if missing "
        "(MC_SIGNING_KEY; default <data-dir>/signing-key.pem)",
    )
    add(
        "--callback-url",
        default=_env("MC_CALLBACK_URL"),
        help="receipt callback URL for the client, e.g. "
        "http://127.0.0.1:8600/v1/callbacks/evidence-receipts (MC_CALLBACK_URL)",
    )
    add(
        "--token-ttl",
        type=_ttl,
        default=_ttl(_env("MC_TOKEN_TTL", "600") or "600"),
        help=f"access token lifetime in seconds, at most {MAX_LIFETIME_S} (MC_TOKEN_TTL; default 600)",
    )
    add(
        "--admin-token",
        default=_env("MC_ADMIN_TOKEN", DEV_ADMIN_TOKEN),
        help="admin bearer token (prefer MC_ADMIN_TOKEN; default: the public dev token)",
    )
    add("--client-id", default=_env("MC_CLIENT_ID", DEV_CLIENT_ID), help="client id (MC_CLIENT_ID)")
    add(
        "--client-secret",
        default=_env("MC_CLIENT_SECRET", DEV_CLIENT_SECRET),
        help="client secret (prefer MC_CLIENT_SECRET; default: the public dev secret)",
    )
    add(
        "--policy-dir",
        type=Path,
        default=Path(_env("MC_POLICY_DIR") or default_policy_dir()),
        help="seed pack sources: *.rego and data.json (MC_POLICY_DIR; default the repo's policy-pack-v0)",
    )
    add("--pack-name", default=_env("MC_PACK_NAME", DEFAULT_PACK), help="seed pack name (MC_PACK_NAME)")
    add("--pack-revision", default=_env("MC_PACK_REVISION", DEFAULT_REVISION), help="seed pack revision")
    add(
        "--seam-mutation",
        action="append",
        default=[],
        metavar="NAME",
        help="TEST ONLY: break one seam promise, repeatable (SEAM_MUTATIONS, comma-separated; "
        "see docs/mutations.md)",
    )
    add(
        "--test-evidence-delay-ms",
        type=int,
        default=int(_env("MC_TEST_EVIDENCE_DELAY_MS", "0") or 0),
        help="TEST ONLY: hold each new evidence request in flight this long (MC_TEST_EVIDENCE_DELAY_MS)",
    )
    add(
        "--graphql-introspection",
        action="store_true",
        default=_env("MC_GRAPHQL_INTROSPECTION", "") in ("1", "true", "yes"),
        help="answer GraphQL introspection (__schema/__type), for development tools only "
        "(MC_GRAPHQL_INTROSPECTION=1; default off)",
    )
    add(
        "--header-timeout-s",
        type=float,
        default=float(
            _env("MC_HEADER_TIMEOUT_S", str(connections.HEAD_TIMEOUT_S)) or connections.HEAD_TIMEOUT_S
        ),
        help="close a connection whose request head is not complete this long after connecting or after "
        f"its previous response (MC_HEADER_TIMEOUT_S; default {connections.HEAD_TIMEOUT_S:.0f})",
    )
    add(
        test_hooks.FLAG,
        action="store_true",
        help="let the TEST ONLY switches above take effect (loopback binds only; seam/test_hooks.py)",
    )
    add("--receipt-max-attempts", type=int, default=10, help="receipt delivery attempts (default 10)")
    add("--receipt-backoff-initial-s", type=float, default=0.5, help="first retry delay (default 0.5)")
    add("--receipt-backoff-max-s", type=float, default=30.0, help="cap between retries (default 30)")
    return p


def settings_from_args(args: argparse.Namespace) -> Settings:
    mutations = mut.parse([_env("SEAM_MUTATIONS", "") or "", *args.seam_mutation])
    delay = args.test_evidence_delay_ms
    requested = [f"seam mutation {m}" for m in sorted(mutations)] + (
        [f"evidence delay {delay} ms"] if delay else []
    )
    hooks = test_hooks.guard("MC", requested, args.allow_test_hooks, args.host)
    return Settings(
        host=args.host,
        port=args.port,
        admin_host=args.admin_host,
        admin_port=args.admin_port,
        insecure_dev_credentials=args.insecure_dev_credentials,
        data_dir=args.data_dir,
        signing_key_path=Path(args.signing_key) if args.signing_key else None,
        callback_url=args.callback_url,
        token_ttl_s=args.token_ttl,
        admin_token=args.admin_token,
        client_id=args.client_id,
        client_secret=args.client_secret,
        policy_dir=args.policy_dir,
        pack_name=args.pack_name,
        pack_revision=args.pack_revision,
        mutations=mutations,
        test_evidence_delay_ms=delay,
        test_hooks=hooks,
        graphql_introspection=args.graphql_introspection,
        header_timeout_s=args.header_timeout_s,
        receipt_max_attempts=args.receipt_max_attempts,
        receipt_backoff_initial_s=args.receipt_backoff_initial_s,
        receipt_backoff_max_s=args.receipt_backoff_max_s,
    )


def announce(settings: Settings) -> None:
    for note in settings.dev_defaults_in_use():
        log.warning("development default in use: %s", note)
    for bind in settings.non_loopback_binds():
        log.warning("binding the %s listener on %s, which is not a loopback address", *bind.split(" ", 1))
    if (
        settings.insecure_dev_credentials
        and settings.non_loopback_binds()
        and settings.dev_credentials_in_use()
    ):
        log.warning(
            "INSECURE: the development %s accepted on a non-loopback bind (%s)",
            " and ".join(settings.dev_credentials_in_use()),
            INSECURE_DEV_FLAG,
        )
    if settings.mutations:
        log.warning(
            "SEAM MUTATIONS ACTIVE (test only, MC deliberately breaks the contract): %s",
            ", ".join(sorted(settings.mutations)),
        )
    if settings.test_evidence_delay_ms:
        log.warning("TEST ONLY: evidence requests held in flight for %d ms", settings.test_evidence_delay_ms)


async def serve_both(public: uvicorn.Server, admin: uvicorn.Server, sockets: list[socket.socket]) -> None:
    """Serve the public and the admin listener in one loop; when one stops, stop the other."""
    tasks = [
        asyncio.create_task(s.serve(sockets=[sock])) for s, sock in zip((public, admin), sockets, strict=True)
    ]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    public.should_exit = admin.should_exit = True
    await asyncio.gather(*tasks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    announce(settings)
    app = create_app(settings)
    options = dict(
        workers=1,
        log_level="warning",
        access_log=False,
        **connections.server_options(settings.header_timeout_s),
    )
    public = uvicorn.Server(
        uvicorn.Config(app, host=settings.host, port=settings.port, lifespan="on", **options)
    )
    admin = uvicorn.Server(
        uvicorn.Config(
            app.state.admin_app, host=settings.admin_host, port=settings.admin_port, lifespan="off", **options
        )
    )
    # Bind both ports before serving either: a taken admin port fails the start, not a later call.
    sockets = [
        connections.bind_listener(settings.host, settings.port),
        connections.bind_listener(settings.admin_host, settings.admin_port),
    ]
    log.info("%s %s listening on http://%s:%d", SERVICE, __version__, settings.host, settings.port)
    log.info("admin API on http://%s:%d (its own listener)", settings.admin_host, sockets[1].getsockname()[1])
    asyncio.run(serve_both(public, admin, sockets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
