"""The test kit: processes that cannot outlive the suite, free loopback ports, bounded waits, the
HTTP recorder, small loopback servers and the Debian tools (browser, Prometheus stack).

Imports nothing else from `harness`; the contracts, the bench and every layer above use it.
"""
