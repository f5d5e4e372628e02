"""`python -m companyos`: parse flags, set up logging, serve (see --help and docs/companyos.md)."""

from __future__ import annotations

import logging

from companyos.server import configure_logging, serve
from companyos.settings import DEV_CLIENT_SECRET, from_args


def main(argv: list[str] | None = None) -> None:
    settings = from_args(argv)
    configure_logging(settings.log_level)
    log = logging.getLogger("companyos")
    log.info(
        "CompanyOS starting: mode=%s listen=%s:%d data_dir=%s",
        settings.mode,
        settings.host,
        settings.port,
        settings.data_dir,
    )
    if settings.integrated and settings.client_secret == DEV_CLIENT_SECRET:
        log.warning(  # names the default, never its value (logs reach reports/)
            "using the MC development client credentials (client %r, the development client secret); "
            "set COS_CLIENT_SECRET in production",
            settings.client_id,
        )
    if settings.test_latency_ms > 0:
        log.warning(
            "TEST LATENCY ACTIVE: %.0f ms added to authorize/attestation/evidence", settings.test_latency_ms
        )
    serve(settings)


if __name__ == "__main__":
    main()
