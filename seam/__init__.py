"""Primitives both sides of the COS ↔ MC seam must agree on byte for byte.

Digests, ETags, DSSE envelopes, JWTs, signed receipts, problem+json and the
idempotency ledger live here once, so COS, MC, the client SDK and the tests
cannot drift apart on how a header is spelled or a signature is computed.
"""
