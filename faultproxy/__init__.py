"""faultproxy: a small TCP fault proxy that speaks Toxiproxy's v2 HTTP API.

Why it exists: in integrated mode COS reaches MC through a proxy so the acceptance suite can
inject network faults (latency, resets, timeouts, an MC that is "down"). Toxiproxy is the de-facto
tool for that, but shipping a Go binary is awkward for a Python-only checkout, so this package
implements the subset of Toxiproxy's API and toxics the suite uses. The suite talks to it with
`faultproxy.client.ToxiproxyClient`, which only uses request/response shapes real Toxiproxy has,
so `backend=external` can point the same steps at a real Toxiproxy instead.

Layout (one job per module):
  errors.py     the API's error type and Toxiproxy's canonical error messages
  toxics.py     toxic definitions: types, attributes, validation, JSON, and what each does to bytes
  link.py       one direction of one proxied connection: reader -> toxic stages -> writer
  proxy.py      one named proxy: its listener, its live connections, its toxics
  collection.py the set of named proxies, with populate/reset and a lock serialising changes
  api.py        the Starlette app exposing the collection with Toxiproxy's routes and shapes
  server.py     runs API + data plane in one asyncio loop (foreground, or a background thread)
  client.py     a synchronous httpx client for the API (works against real Toxiproxy too)
  __main__.py   the command line: `python -m faultproxy --host 127.0.0.1 --port 8474 --proxy ...`
"""

__version__ = "0.1.0"

# What GET /version reports. Semver with build metadata: API level of Toxiproxy 2, built by us,
# so a client that parses the major version sees 2 and a human sees what is really answering.
SERVER_VERSION = f"2.0.0+faultproxy.{__version__}"

DEFAULT_API_HOST = "127.0.0.1"
DEFAULT_API_PORT = 8474  # Toxiproxy's default API port
