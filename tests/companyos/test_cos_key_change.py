"""MC's signing key changes under an integrated COS (issue 13, trust).

COS keeps enforcing its last-known-good pack (right) but must not say `ok`
while it refuses every new pack and every receipt: /healthz is `degraded`
and names the reason. A pack merely signed by a stranger (MC's key
unchanged) is a rejected pack, not a trust problem.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from cos_helpers import (
    MC,
    RECEIPT_PATH,
    bearer,
    evidence_doc,
    free_port,
    rego_with_frozen,
    start_mc,
    wait_for,
)
from cos_helpers import new_key as new_key_id

from seam import keys


def health(url: str) -> dict:
    return httpx.get(f"{url}/healthz").json()


def test_a_changed_mc_key_is_reported_degraded_with_the_reason(start_cos, tmp_path: Path) -> None:
    port = free_port()
    first = start_mc(tmp_path / "mc-a", port)
    cos = start_cos(mode="integrated", mc_url=first.url)
    wait_for("COS to enforce MC's pack", lambda: health(cos.url)["pack"]["source"] == "mc")
    wait_for("COS to report ok", lambda: health(cos.url)["status"] == "ok")
    lkg = health(cos.url)["pack"]["digest"]
    first.stop()

    new_key = tmp_path / "new-key.pem"
    new_key.write_bytes(keys.private_pem(keys.generate()))
    second = start_mc(tmp_path / "mc-b", port, extra=["--signing-key", str(new_key)])
    try:
        MC(url=second.url, proc=second).publish("after-rotation", rego_with_frozen(["deploy"]))
        body = wait_for(
            "COS to report the key change",
            lambda: (h := health(cos.url))["status"] == "degraded" and h.get("trust") and h,
            timeout_s=15,
        )
        assert body["trust"]["reason"] == "mc_signing_key_changed", body
        assert body["trust"]["pinned_key_id"] != body["trust"]["mc_key_id"]
        assert body["pack"]["digest"] == lkg  # still enforcing the last-known-good pack
        assert body["mc_reachable"] is True  # MC answers; it is the trust that is broken
    finally:
        second.stop()


def test_a_pack_signed_by_a_stranger_is_not_a_trust_problem(integrated, mc) -> None:
    mc.publish("stranger-signed", rego_with_frozen(["read"]), signing="wrong-key")
    wait_for(
        "COS to reject the pack",
        lambda: (health(integrated.url)["last_reload"] or {}).get("reason") == "bad_signature",
        timeout_s=10,
    )
    polls = integrated.cos.fetcher.polls
    wait_for("two more polls", lambda: integrated.cos.fetcher.polls >= polls + 2, timeout_s=5)
    body = health(integrated.url)
    assert body.get("trust") is None and body["status"] == "ok", body


def test_a_refused_receipt_alone_reveals_the_key_change(start_cos, tmp_path: Path) -> None:
    """Same pack bytes after the change (COS sees no new pack): the refused receipt is the clue."""
    port = free_port()
    first = start_mc(tmp_path / "mc-a", port)
    cos = start_cos(mode="integrated", mc_url=first.url)
    wait_for("COS to report ok", lambda: health(cos.url)["status"] == "ok")
    first.stop()
    new_key = tmp_path / "new-key.pem"
    new_key.write_bytes(keys.private_pem(keys.generate()))
    second = start_mc(
        tmp_path / "mc-b", port, callback_url=cos.url + RECEIPT_PATH, extra=["--signing-key", str(new_key)]
    )
    try:
        key = new_key_id()
        r = httpx.post(
            f"{cos.url}/v1/evidence",
            json=evidence_doc(),
            headers={**bearer(cos.token()), "Idempotency-Key": key},
        )
        assert r.status_code == 202, r.text
        body = wait_for(
            "COS to report the key change",
            lambda: (h := health(cos.url))["status"] == "degraded" and h.get("trust") and h,
            timeout_s=15,
        )
        assert body["trust"]["reason"] == "mc_signing_key_changed"
        entry = httpx.get(f"{cos.url}/v1/evidence/{key}", headers=bearer(cos.token())).json()
        assert entry["state"] == "published"  # MC stored it; its receipt was refused, so not acknowledged
    finally:
        second.stop()
