"""Consumer `maestro-conductor` → provider `companyos`, driving MC's `ReceiptSender` and `AttestationReader`.

What MC relies on from COS: a receipt signed with MC's key is taken (204), one signed with any
other key is refused (401, nothing changes), a batch of receipts signed as a whole is taken (204),
and `GET /v1/attestation` answers with strong validators and 304. Provider states
(contracts/providers/companyos.py):

- "COS holds evidence awaiting MC's receipt" {idempotency_key, receipt}
  → `receiptTimestamp`, `receiptSignature` (by the key COS pins), `untrustedSignature`
- "COS holds evidence awaiting MC's receipts" {receipts} (a batch)
  → `receiptTimestamp`, `receiptSignature` over the whole batch body
- "COS enforces a policy pack" (standalone: its local pack) → `attestationEtag`, `packDigest`
- "COS enforces the pack revision MC serves" {pack, revision} (integrated: COS fetched, verified
  and reloaded that revision from a real MC) → `packDigest`

Signatures: the consumer test signs with a throwaway key (any valid signature matches the
pact's regex). At verification the COS under test pins a key generated for that run, and the
state handler signs the pact's receipt body with it at the current time (docs/contracts.md,
"Signed receipts").
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pact import Pact, match

from conductor.companyos_client import (
    ATTESTATION_PATH,
    RECEIPT_PATH,
    AttestationReader,
    ReceiptSender,
    encode_batch,
)
from contracts import COS, MC, examples
from contracts.consumers import ConsumerSuite
from contracts.dsl import (
    CONTENT_DIGEST,
    ETAG_STRONG,
    HEX64,
    JSON,
    MOCK_HOST,
    RECEIPT_SIGNATURE,
    RFC3339,
    UNIX_SECONDS,
    answers_problem,
    from_state,
)
from seam import digest

SUITE = ConsumerSuite(MC, COS)
case = SUITE.case

RECEIPT_AWAITED = "COS holds evidence awaiting MC's receipt"
RECEIPTS_AWAITED = "COS holds evidence awaiting MC's receipts"
POLICY_ENFORCED = "COS enforces a policy pack"
MC_PACK_ENFORCED = "COS enforces the pack revision MC serves"
MC_REVISION = "contract-r2"

EXAMPLE_TIMESTAMP = "1768471200"
EXAMPLE_ATTESTATION_ETAG = digest.strong_etag(examples.example_hex("cos-pack"))


def _receipt(key: str, n: int) -> dict[str, str]:
    return {
        "client_id": "companyos",
        "digest": examples.example_hex(f"receipt-digest-{n}"),
        "evidence_id": "ev_" + examples.example_hex(f"receipt-{n}")[:32],
        "idempotency_key": key,
        "stored_at": "2026-01-15T10:00:01.000Z",
    }


def _receipt_body(receipt: dict[str, str]) -> dict:
    """The pact body: identity fields exact, MC-generated values by form."""
    return {
        **receipt,
        "digest": match.regex(receipt["digest"], regex=HEX64),
        "evidence_id": match.regex(receipt["evidence_id"], regex=r"^ev_[0-9a-f]{32}$"),
        "stored_at": match.regex(receipt["stored_at"], regex=RFC3339),
    }


def _signed_receipt(pact: Pact, description: str, key: str, n: int, signature_expression: str):
    receipt = _receipt(key, n)
    example_sig = f"keyid=exampleKeyId0001,alg=ed25519,sig={examples.example_signature(description)}"
    return receipt, (
        pact.upon_receiving(description)
        .given(RECEIPT_AWAITED, idempotency_key=key, receipt=receipt)
        .with_request("POST", RECEIPT_PATH)
        .with_header("Content-Type", JSON)
        .with_header("X-MC-Timestamp", from_state(EXAMPLE_TIMESTAMP, "${receiptTimestamp}", UNIX_SECONDS))
        .with_header("X-MC-Signature", from_state(example_sig, signature_expression, RECEIPT_SIGNATURE))
        .with_body(_receipt_body(receipt), JSON)
    )


@case
def receipt_signed_by_mc(pact: Pact) -> None:
    receipt, interaction = _signed_receipt(
        pact,
        "an evidence receipt signed with the key COS pins for MC",
        "contract-receipt-good",
        1,
        "${receiptSignature}",
    )
    interaction.will_respond_with(204)
    with pact.serve(addr=MOCK_HOST) as srv:
        response = ReceiptSender.for_base_url(str(srv.url), Ed25519PrivateKey.generate()).send(receipt)
    assert response.status_code == 204, response.text


@case
def receipt_signed_by_another_key(pact: Pact) -> None:
    receipt, interaction = _signed_receipt(
        pact,
        "an evidence receipt signed with a key COS does not trust",
        "contract-receipt-forged",
        2,
        "${untrustedSignature}",
    )
    answers_problem(interaction, 401, "bad_signature")
    with pact.serve(addr=MOCK_HOST) as srv:
        response = ReceiptSender.for_base_url(str(srv.url), Ed25519PrivateKey.generate()).send(receipt)
    assert response.status_code == 401 and response.json()["reason"] == "bad_signature", response.text


@case
def receipt_batch_signed_by_mc(pact: Pact) -> None:
    """MC's batched form (docs/seam.md, "Batched receipts"): one callback, one signature."""
    receipts = [_receipt(f"contract-receipt-batch-{n}", 10 + n) for n in range(2)]
    description = "a batch of evidence receipts signed as a whole with the key COS pins for MC"
    example_sig = f"keyid=exampleKeyId0001,alg=ed25519,sig={examples.example_signature(description)}"
    (
        pact.upon_receiving(description)
        .given(RECEIPTS_AWAITED, receipts=receipts)
        .with_request("POST", RECEIPT_PATH)
        .with_header("Content-Type", JSON)
        .with_header("X-MC-Timestamp", from_state(EXAMPLE_TIMESTAMP, "${receiptTimestamp}", UNIX_SECONDS))
        .with_header("X-MC-Signature", from_state(example_sig, "${receiptSignature}", RECEIPT_SIGNATURE))
        .with_body({"receipts": [_receipt_body(r) for r in receipts]}, JSON)
        .will_respond_with(204)
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        sender = ReceiptSender.for_base_url(str(srv.url), Ed25519PrivateKey.generate())
        response = sender.send(encode_batch(receipts))
    assert response.status_code == 204, response.text


def attestation_body(revision: str = "local", source: str = "local", verified: bool = False) -> dict:
    """The attestation document as both consumers of COS rely on it.

    `digest` is the digest of the pack the provider state made COS enforce (`${packDigest}`,
    compared exactly at verification); `pack`, `revision`, `source` and `signature_verified`
    are literal per state: the local pack is `local`/unverified, a pack from MC `mc`/verified.
    """
    return {
        "pack": examples.PACK,
        "revision": revision,
        "digest": from_state(examples.example_hex("cos-pack"), "${packDigest}", regex=HEX64),
        "source": source,
        "signature_verified": verified,
        "loaded_at": match.regex("2026-01-15T10:00:00.000Z", regex=RFC3339),
    }


def attestation_validators(pact: Pact) -> Pact:
    """ETag: the strong ETag of the enforced pack's digest. Content-Digest: of the body sent
    (its form here; its value is checked against the body by contracts/checks.py)."""
    return pact.with_header(
        "ETag", from_state(EXAMPLE_ATTESTATION_ETAG, '"sha256-${packDigest}"', regex=ETAG_STRONG)
    ).with_header("Content-Digest", match.regex(digest.content_digest(b"attestation"), regex=CONTENT_DIGEST))


@case
def attestation(pact: Pact) -> None:
    interaction = (
        pact.upon_receiving("a request for the attestation of the pack COS enforces")
        .given(POLICY_ENFORCED)
        .with_request("GET", ATTESTATION_PATH)
        .with_header("Accept", JSON)
        .will_respond_with(200)
        .with_header("Content-Type", JSON)
        .with_header("Cache-Control", "no-cache")
    )
    attestation_validators(interaction).with_body(attestation_body(), JSON)
    with pact.serve(addr=MOCK_HOST) as srv:
        reply = AttestationReader(str(srv.url)).get()
    assert reply.status == 200 and reply.etag == EXAMPLE_ATTESTATION_ETAG, reply
    assert reply.attestation and reply.attestation["source"] in ("local", "mc"), reply


@case
def attestation_after_reload_from_mc(pact: Pact) -> None:
    interaction = (
        pact.upon_receiving("a request for the attestation after COS reloaded a pack from MC")
        .given(MC_PACK_ENFORCED, pack=examples.PACK, revision=MC_REVISION)
        .with_request("GET", ATTESTATION_PATH)
        .with_header("Accept", JSON)
        .will_respond_with(200)
        .with_header("Content-Type", JSON)
        .with_header("Cache-Control", "no-cache")
    )
    attestation_validators(interaction).with_body(attestation_body(MC_REVISION, "mc", True), JSON)
    with pact.serve(addr=MOCK_HOST) as srv:
        reply = AttestationReader(str(srv.url)).get()
    assert reply.status == 200 and reply.attestation is not None, reply
    assert reply.attestation["source"] == "mc" and reply.attestation["signature_verified"] is True, reply
    assert reply.attestation["revision"] == MC_REVISION


@case
def attestation_not_modified(pact: Pact) -> None:
    (
        pact.upon_receiving("a conditional request for an unchanged attestation")
        .given(POLICY_ENFORCED)
        .with_request("GET", ATTESTATION_PATH)
        .with_header("Accept", JSON)
        .with_header("If-None-Match", from_state(EXAMPLE_ATTESTATION_ETAG, "${attestationEtag}", ETAG_STRONG))
        .will_respond_with(304)
        .with_header("ETag", match.regex(EXAMPLE_ATTESTATION_ETAG, regex=ETAG_STRONG))
    )
    with pact.serve(addr=MOCK_HOST) as srv:
        reply = AttestationReader(str(srv.url)).get(if_none_match=EXAMPLE_ATTESTATION_ETAG)
    assert reply.status == 304 and reply.etag == EXAMPLE_ATTESTATION_ETAG and reply.attestation is None, reply
