"""Consumer `companyos` → provider `maestro-conductor`, driving `companyos.mc_client.ConductorClient`.

What COS relies on from MC: tokens, the pack with strong validators and 304, the pack
attestation, evidence publication (REST and GraphQL) under the idempotency rules, and the
401/403 answers. Provider states (set up by contracts/providers/conductor.py):

- "MC knows the client" {client_id} → `clientSecret`
- "the client holds a token" {scope} → `accessToken`
- "the client holds an expired token" {scope} → `accessToken`
- "MC serves a revision of the pack" {pack, revision} → `packDigest`, `packContentDigest`
- "MC attests that revision with its signing key" {pack, revision, statement} → `attestationPayload`,
  `attestationSignature`, `signingKeyId`, `attestationEtag`, `attestationContentDigest`
- "evidence was accepted under an idempotency key" {idempotency_key, evidence} → `evidenceId`
- "a publish under an idempotency key is still in flight" {idempotency_key, evidence}

One module per resource (tokens, packs, attestation, evidence, graphql); importing them registers
their cases on SUITE.
"""

from contracts.consumers.companyos_mc import attestation, evidence, graphql, packs, tokens  # noqa: F401
from contracts.consumers.companyos_mc.common import SUITE

__all__ = ["SUITE"]
