"""Maestro Conductor (MC): the reference control plane on the COS ↔ MC seam.

It issues short-lived scoped tokens, serves signed policy packs and takes in
release evidence (REST and GraphQL), answering each newly stored evidence with
a signed receipt callback to the client. The wire contract is docs/seam.md;
the bytes on the wire come from the shared `seam` package so MC cannot drift
from COS. Run it with `python -m conductor`.
"""

__version__ = "0.1.0"
SERVICE = "maestro-conductor"
