"""Pact contract gates for the COS ↔ MC seam (see docs/contracts.md).

Three consumer → provider pairs, each a committed V4 pact under `contracts/pacts/`:

| consumer | provider | client class the consumer test drives |
| --- | --- | --- |
| `companyos` | `maestro-conductor` | `companyos.mc_client.ConductorClient` |
| `maestro-conductor` | `companyos` | `conductor.companyos_client.ReceiptSender`, `AttestationReader` |
| `companyos-client` | `companyos` | `cosclient.CompanyOSClient` |

`python -m contracts gate` runs every gate: consumer tests + drift, provider
verification (recorded in the matrix), scrub, mutation proof.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACT_DIR = Path(__file__).resolve().parent / "pacts"
REPORT_DIR = REPO / "reports" / "contracts"

COS = "companyos"
MC = "maestro-conductor"
SDK = "companyos-client"
PACTICIPANTS = (COS, MC, SDK)

# Pact's anonymous usage tracking is off for every run of the gates.
os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
