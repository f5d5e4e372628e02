"""The pack attestation: a DSSE envelope over the in-toto statement naming the pack's digest,
verified by COS's own fetcher."""

from __future__ import annotations

import tempfile
from pathlib import Path

from companyos.credentials import SCOPES, TokenCache
from companyos.health import RuntimeStatus
from companyos.metrics import Metrics
from companyos.policy_engine import PolicyHolder
from companyos.policy_fetcher import PolicyFetcher
from companyos.policy_store import PolicyStore
from companyos.trust import KeyPin
from contracts.consumers.companyos_mc.common import (
    HEX64,
    JSON,
    PACK_ATTESTED,
    PACK_PATH,
    PACK_SERVED,
    TOKEN,
    Pact,
    _call,
    _client,
    _client_at,
    bearer,
    canonical,
    case,
    digest,
    examples,
    placeholders,
)
from contracts.consumers.companyos_mc.packs import declare_pack_get
from contracts.consumers.companyos_mc.tokens import TOKEN_FOR_COS, declare_token
from contracts.dsl import BASE64, CONTENT_DIGEST, ED25519_SIG, ETAG_STRONG, KEY_ID, MOCK_HOST, from_state, run
from seam import dsse, keys


def expected_statement(pack_digest: str) -> dict:
    """The in-toto Statement COS requires of a pack's attestation (docs/seam.md)."""
    return dsse.pack_statement(examples.PACK, examples.PACK_REVISION, pack_digest)


def _declare_attestation(pact: Pact) -> None:
    pack_digest = digest.sha256_hex(examples.EXAMPLE_PACK_BYTES)
    envelope = dsse.sign(expected_statement(pack_digest), examples.EXAMPLE_SIGNING_KEY)
    envelope_bytes = canonical(envelope)
    [signature] = envelope["signatures"]
    (
        pact.upon_receiving("a request for the attestation of the pack revision MC serves")
        .given(PACK_SERVED, pack=examples.PACK, revision=examples.PACK_REVISION)
        .given(
            PACK_ATTESTED,
            pack=examples.PACK,
            revision=examples.PACK_REVISION,
            statement=expected_statement("${packDigest}"),
        )
        .given(TOKEN, scope="policy:read")
        .with_request("GET", f"{PACK_PATH}/attestation")
        .with_query_parameter("digest", from_state(pack_digest, "${packDigest}", regex=HEX64))
        .with_header("Authorization", bearer())
        .will_respond_with(200)
        .with_header("Content-Type", JSON)
        .with_header("Cache-Control", "no-cache")
        .with_header("X-Pack-Revision", examples.PACK_REVISION)
        .with_header("ETag", from_state(digest.etag_for(envelope_bytes), "${attestationEtag}", ETAG_STRONG))
        .with_header(
            "Content-Digest",
            from_state(digest.content_digest(envelope_bytes), "${attestationContentDigest}", CONTENT_DIGEST),
        )
        .with_body(
            {
                "payload": from_state(envelope["payload"], "${attestationPayload}", regex=BASE64),
                "payloadType": dsse.PAYLOAD_TYPE,
                "signatures": [
                    {
                        "keyid": from_state(signature["keyid"], "${signingKeyId}", regex=KEY_ID),
                        "sig": from_state(signature["sig"], "${attestationSignature}", regex=ED25519_SIG),
                    }
                ],
            },
            JSON,
        )
    )


@case
def pack_attestation(pact: Pact) -> None:
    _declare_attestation(pact)
    pack_digest = digest.sha256_hex(examples.EXAMPLE_PACK_BYTES)
    with pact.serve(addr=MOCK_HOST) as srv:
        result = run(
            _call(_client(srv), "fetch_attestation", examples.PACK, pack_digest, token=placeholders.TOKEN)
        )
    assert result.status == 200 and result.envelope is not None, result
    # What COS's PolicyFetcher does with it: the validators belong to these bytes, and the
    # signature verifies under the pinned key for a statement about exactly this pack.
    digest.verify_content_digest(result.headers["content-digest"], result.content)
    assert result.headers["etag"] == digest.etag_for(result.content), result.headers
    pinned = examples.EXAMPLE_SIGNING_KEY.public_key()
    statement = dsse.verify_pack(result.envelope, pinned, examples.PACK, pack_digest)
    assert statement["predicate"] == {"pack": examples.PACK, "revision": examples.PACK_REVISION}


@case
def policy_fetcher_enforces_a_verified_pack(pact: Pact) -> None:
    """COS's own PolicyFetcher against the mock: token, pack, attestation (the interactions above,
    unchanged), then the envelope verified against the pinned key and the pack enforced."""
    declare_token(pact, TOKEN_FOR_COS, " ".join(SCOPES))
    declare_pack_get(pact)
    _declare_attestation(pact)
    with tempfile.TemporaryDirectory(prefix="contract-fetcher-") as tmp, pact.serve(addr=MOCK_HOST) as srv:
        pin_file = Path(tmp) / "mc-signing.pem"
        pin_file.write_text(keys.public_pem(examples.EXAMPLE_SIGNING_KEY.public_key()))
        outcome, holder = run(_poll_once(str(srv.url), Path(tmp), pin_file))
    policy = holder.current
    assert outcome == "reloaded" and policy is not None, outcome
    assert policy.source == "mc" and policy.signature_verified, policy
    assert policy.digest == digest.sha256_hex(examples.EXAMPLE_PACK_BYTES)
    assert policy.revision == examples.PACK_REVISION


async def _poll_once(base_url: str, data_dir: Path, pin_file: Path) -> tuple[str, PolicyHolder]:
    client = _client_at(base_url)
    holder = PolicyHolder()
    fetcher = PolicyFetcher(
        examples.PACK,
        client,
        TokenCache(client),
        KeyPin(data_dir, pin_file),
        PolicyStore(data_dir),
        holder,
        Metrics(),
        RuntimeStatus(mode="integrated"),
        poll_interval_s=1.0,
        backoff_cap_s=1.0,
    )
    try:
        return await fetcher.poll_once(), holder
    finally:
        await client.aclose()
