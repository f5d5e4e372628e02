"""Integrated mode against the real MC: fetch, verify, hot-reload, reject, keep last-known-good."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter

import httpx
import pytest
from cos_helpers import PACK, bearer, free_port, rego_with_frozen, scrape, start_mc, wait_for

from seam import keys


def attestation(url: str) -> dict:
    return httpx.get(f"{url}/v1/attestation").json()


def decide(client: httpx.Client, url: str, token: str, action: str = "read") -> httpx.Response:
    doc = {"subject": {"user": "qa", "roles": ["developer"]}, "action": action}
    return client.post(f"{url}/v1/authorize", json=doc, headers=bearer(token))


def mc_pack_digest(mc) -> str:
    token = mc.http.post(
        f"{mc.url}/v1/tokens",
        data={
            "grant_type": "client_credentials",
            "client_id": "companyos",
            "client_secret": "companyos-dev-secret",
        },
    ).json()["access_token"]
    return hashlib.sha256(
        mc.http.get(f"{mc.url}/v1/policy/packs/{PACK}", headers=bearer(token)).content
    ).hexdigest()


def test_cold_start_integrated_enforces_mcs_pack_and_pins_its_key(integrated, mc) -> None:
    body = attestation(integrated.url)
    assert body["source"] == "mc" and body["signature_verified"] is True
    assert body["revision"] == "v0" and body["digest"] == mc_pack_digest(mc)
    pinned = (integrated.settings.data_dir / "mc-signing.pem").read_text()
    assert keys.key_id(keys.load_public(pinned)) == keys.key_id(keys.load_public(mc.signing_pem()))
    health = httpx.get(f"{integrated.url}/healthz").json()
    assert health["status"] == "ok" and health["mc_reachable"] is True and health["mode"] == "integrated"
    assert health["last_reload"]["outcome"] == "success"
    assert scrape(integrated.url, "policy_reload_success_total") == 1.0
    # the LKG is on disk, named by digest
    assert (integrated.settings.data_dir / "policy" / "packs" / f"{body['digest']}.tar.gz").exists()


def test_new_pack_is_enforced_within_2s_with_zero_failed_requests(start_cos, mc) -> None:
    cos = start_cos(mode="integrated", mc_url=mc.url, poll_interval_s=1.0)
    wait_for("COS to enforce MC's pack", lambda: attestation(cos.url)["source"] == "mc")
    token = cos.token()
    old_digest = attestation(cos.url)["digest"]
    stop = threading.Event()
    outcomes: Counter[tuple[int, bool | None, str]] = Counter()
    lock = threading.Lock()

    def hammer() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                try:
                    r = decide(client, cos.url, token)
                    key = (r.status_code, r.json().get("allow"), r.json()["policy"]["digest"])
                except Exception as exc:  # a transport error is a failed request too
                    key = (0, None, type(exc).__name__)
                with lock:
                    outcomes[key] += 1

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)  # some decisions under the old pack first
        published = mc.publish("freeze-read", rego_with_frozen(["read"]))
        started = time.monotonic()
        wait_for(
            "COS to enforce the new pack",
            lambda: attestation(cos.url)["digest"] == published["digest"],
            timeout_s=5,
            interval_s=0.02,
        )
        took = time.monotonic() - started
        time.sleep(0.3)  # and some under the new one
    finally:
        stop.set()
        for t in threads:
            t.join()
    failed = {k: n for k, n in outcomes.items() if k[0] != 200}
    assert not failed, failed
    assert outcomes[(200, True, old_digest)] > 0
    assert outcomes[(200, False, published["digest"])] > 0
    # a decision never mixes the old decision with the new digest or vice versa
    assert set(outcomes) == {(200, True, old_digest), (200, False, published["digest"])}
    assert took <= 2.0, f"new pack enforced after {took:.2f}s"


@pytest.mark.parametrize(
    "signing,reason",
    [
        ("tampered", "digest_mismatch"),
        ("unsigned", "unsigned"),
        ("wrong-key", "bad_signature"),
        ("bad-content-digest", "content_digest_mismatch"),
    ],
)
def test_bad_packs_are_rejected_and_the_lkg_stays(integrated, mc, signing, reason) -> None:
    url = integrated.url
    token = integrated.token()
    before = attestation(url)
    fetched_before = scrape(url, "policy_fetch_duration_seconds_count", {"outcome": "200"})
    mc.publish(f"bad-{signing}", rego_with_frozen(["read"]), signing=signing)
    wait_for(
        f"COS to reject the {signing} pack",
        lambda: scrape(url, "policy_reload_failure_total", {"reason": reason}) == 1.0,
        timeout_s=5,
    )
    assert attestation(url) == before
    with httpx.Client() as client:
        assert decide(client, url, token).json()["allow"] is True  # still the LKG's decision
    health = httpx.get(f"{url}/healthz").json()
    assert health["last_reload"]["outcome"] == "rejected" and health["last_reload"]["reason"] == reason
    assert health["pack"]["digest"] == before["digest"]
    # several more polls: the same bad digest is neither downloaded again nor counted again
    polls = integrated.cos.fetcher.polls
    wait_for("three more polls", lambda: integrated.cos.fetcher.polls >= polls + 3, timeout_s=5)
    assert scrape(url, "policy_reload_failure_total") == 1.0
    assert scrape(url, "policy_fetch_duration_seconds_count", {"outcome": "200"}) == fetched_before + 1
    # a good pack after the bad one is taken
    good = mc.publish("good-after-bad", rego_with_frozen(["deploy"]))
    wait_for("COS to take the good pack", lambda: attestation(url)["digest"] == good["digest"], timeout_s=5)


def test_a_pinned_key_that_is_not_mcs_rejects_everything(start_cos, mc, tmp_path) -> None:
    wrong = tmp_path / "wrong.pem"
    wrong.write_text(keys.public_pem(keys.generate().public_key()))
    cos = start_cos(mode="integrated", mc_url=mc.url, mc_public_key=wrong)
    wait_for(
        "COS to reject MC's pack",
        lambda: scrape(cos.url, "policy_reload_failure_total", {"reason": "bad_signature"}) == 1.0,
    )
    assert attestation(cos.url)["source"] == "local"
    assert httpx.get(f"{cos.url}/healthz").json()["status"] == "degraded"
    assert not (cos.settings.data_dir / "mc-signing.pem").exists()  # a given key is never replaced by TOFU


def test_lkg_is_enforced_after_a_restart_with_mc_down(start_cos, mc, tmp_path) -> None:
    data = tmp_path / "lkg"
    first = start_cos(mode="integrated", mc_url=mc.url, data_dir=data)
    published = mc.publish("lkg-1", rego_with_frozen(["deploy"]))
    wait_for("COS to enforce lkg-1", lambda: attestation(first.url)["revision"] == "lkg-1")
    first.stop()
    dead = f"http://127.0.0.1:{free_port()}"
    second = start_cos(mode="integrated", mc_url=dead, data_dir=data)
    body = attestation(second.url)
    assert body["revision"] == "lkg-1" and body["digest"] == published["digest"] and body["source"] == "mc"
    assert body["signature_verified"] is True
    health = wait_for(
        "COS to notice MC is down",
        lambda: (h := httpx.get(f"{second.url}/healthz").json())["mc_reachable"] is False and h,
    )
    assert health["status"] == "degraded"
    second.stop()
    # an LKG whose bytes were altered on disk is not trusted: back to the local pack
    pack_file = data / "policy" / "packs" / f"{published['digest']}.tar.gz"
    pack_file.write_bytes(pack_file.read_bytes() + b"x")
    third = start_cos(mode="integrated", mc_url=dead, data_dir=data)
    assert attestation(third.url)["source"] == "local"


def test_cold_start_with_mc_down_then_mc_up(start_cos, tmp_path) -> None:
    """No MC at start: local pack, degraded, evidence kept; MC appears: its pack and the evidence flow."""
    port = free_port()
    cos = start_cos(mode="integrated", mc_url=f"http://127.0.0.1:{port}", max_backoff_s=1.0)
    token = cos.token()
    assert attestation(cos.url)["source"] == "local"
    key = "cold-start-key"
    r = httpx.post(
        f"{cos.url}/v1/evidence",
        json={
            "release": "1",
            "kind": "build",
            "subject": {"name": "a", "digest": {"sha256": "b" * 64}},
            "produced_at": "2026-11-26T06:00:00Z",
        },
        headers={**bearer(token), "Idempotency-Key": key},
    )
    assert r.status_code == 202
    health = wait_for(
        "fetch failures to be recorded",
        lambda: (h := httpx.get(f"{cos.url}/healthz").json())["last_fetch_error"] and h,
    )
    assert health["status"] == "degraded" and health["mc_reachable"] is False
    assert health["last_fetch_error"]["reason"] == "unreachable"
    assert health["outbox_depth"] == 1
    wait_for(
        "publish retries",
        lambda: scrape(cos.url, "evidence_publish_retries_total", {"reason": "unreachable"}),
    )
    assert scrape(cos.url, "policy_fetch_errors_total") >= 1
    mc_proc = start_mc(tmp_path / "late-mc", port, callback_url=f"{cos.url}/v1/callbacks/evidence-receipts")
    try:
        started = time.monotonic()
        wait_for("COS to switch to MC's pack", lambda: attestation(cos.url)["source"] == "mc", timeout_s=10)
        switched = time.monotonic() - started
        entry = wait_for(
            "the evidence to be acknowledged",
            lambda: (
                (e := httpx.get(f"{cos.url}/v1/evidence/{key}", headers=bearer(token)).json())["state"]
                == "acknowledged"
                and e
            ),
            timeout_s=10,
        )
        assert entry["mc_evidence_id"].startswith("ev_")
        health = httpx.get(f"{cos.url}/healthz").json()
        assert health["status"] == "ok" and health["outbox_depth"] == 0 and health["last_fetch_error"] is None
        assert switched < 5
    finally:
        mc_proc.stop()
