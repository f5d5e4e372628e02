"""Command line: `python -m faultproxy [--host H] [--port P] [--proxy NAME=LISTEN=UPSTREAM ...]`.

Why these flags: `--host/--port` mirror Toxiproxy's server (API on 127.0.0.1:8474 by default:
loopback only unless you ask), `--config` takes Toxiproxy's populate JSON file, and `--proxy`
pre-creates proxies so a harness can start the proxy and COS in parallel without an extra API call.
Once the API answers, the line `faultproxy ready: <url>` is printed to stdout (handy with --port 0).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import logging
import sys
from collections.abc import Sequence

from faultproxy import DEFAULT_API_HOST, DEFAULT_API_PORT, SERVER_VERSION, errors
from faultproxy.collection import ProxySpec
from faultproxy.server import FaultProxyServer


def _proxy_flag(value: str) -> ProxySpec:
    parts = value.split("=")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected NAME=LISTEN=UPSTREAM, got {value!r}")
    try:
        return ProxySpec.from_json({"name": parts[0], "listen": parts[1], "upstream": parts[2]})
    except errors.ApiError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _load_config(path: str) -> list[ProxySpec]:
    with open(path, encoding="utf-8") as fh:
        body = json.load(fh)
    if not isinstance(body, list):
        raise ValueError(f"{path}: expected a JSON array of proxies")
    return [ProxySpec.from_json(item, f" at proxy {i + 1}") for i, item in enumerate(body)]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m faultproxy",
        description="TCP fault proxy with a Toxiproxy-compatible HTTP API (v2 subset).",
        epilog="Example: python -m faultproxy --proxy mc=127.0.0.1:18700=127.0.0.1:8700",
    )
    parser.add_argument("--host", default=DEFAULT_API_HOST, help="API listen host (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_API_PORT, help="API port (default %(default)s; 0 = any free)"
    )
    parser.add_argument(
        "--proxy",
        action="append",
        default=[],
        type=_proxy_flag,
        metavar="NAME=LISTEN=UPSTREAM",
        help="create a proxy at startup, e.g. mc=127.0.0.1:18700=127.0.0.1:8700 (repeatable)",
    )
    parser.add_argument(
        "--config", help="a Toxiproxy populate file (JSON array of proxies) to create at startup"
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="(default %(default)s)",
    )
    parser.add_argument("--version", action="version", version=SERVER_VERSION)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    specs: list[ProxySpec] = []
    try:
        if args.config:
            specs.extend(_load_config(args.config))
    except (OSError, ValueError, errors.ApiError) as exc:
        print(f"faultproxy: bad --config: {exc}", file=sys.stderr)
        return 2
    specs.extend(args.proxy)
    if not _is_loopback(args.host):
        logging.getLogger("faultproxy").warning(
            "the API on %s is reachable from other machines: anyone who can reach it can cut traffic",
            args.host,
        )

    def ready(server: FaultProxyServer) -> None:
        for proxy in server.collection.all():
            logging.getLogger("faultproxy").info(
                "proxy %s: %s -> %s", proxy.name, proxy.listen, proxy.upstream
            )
        print(f"faultproxy ready: {server.url}", flush=True)

    server = FaultProxyServer(args.host, args.port, specs, on_ready=ready, log_level=args.log_level)
    try:
        server.bind()
    except OSError as exc:
        print(f"faultproxy: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        asyncio.run(server.serve())
    except errors.ApiError as exc:  # a --proxy/--config proxy could not start
        print(f"faultproxy: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
