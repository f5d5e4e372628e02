"""CompanyOS (COS): the tenant-side reference service of the COS ↔ MC seam.

It logs users in, answers policy decisions with an embedded Rego engine,
reports which pack it enforces, and accepts evidence into a durable outbox
that it publishes to Maestro Conductor (MC) in integrated mode.
Start with `python -m companyos --help`; the wire contract is docs/seam.md.
"""

__version__ = "0.1.0"
