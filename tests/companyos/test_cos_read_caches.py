"""The read path's caches never answer with what is no longer true.

COS caches verified token claims (by the exact token string, until the token's `exp`) and
prepares per pack what `/v1/authorize` and `/v1/attestation` need (docs/decisions.md, "read
path caches"). Each test here fails if a cache serves an expired or forged token, survives a
change of COS's signing key, or outlives the pack it was built for.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
import regorus
from cos_helpers import bearer, rego_with_frozen, wait_for

from companyos import auth
from companyos.policy_engine import ActivePolicy, DecisionMemo, _evaluate, deterministic, load
from companyos.policy_store import build_local_pack
from companyos.settings import DEFAULT_LOCAL_PACK_DIR
from seam import bundle, digest
from seam.problem import Problem

INPUTS = [
    {"subject": {"user": u, "roles": roles}, "action": action, "resource": f"release/{i}"}
    for i, u in enumerate(("qa", "probe"))
    for roles in ([], ["developer"], ["viewer"], ["release-manager"], ["viewer", "developer"])
    for action in ("read", "submit-evidence", "deploy", "probe")
]


def local_policy(name: str = "policy-pack-v0") -> ActivePolicy:
    return load(build_local_pack(DEFAULT_LOCAL_PACK_DIR, name), source="local", signature_verified=False)


def unprepared_decision(pack_bytes: bytes, input_doc: dict) -> tuple[bool, tuple[str, ...]]:
    """The decision of a brand-new engine that never evaluated anything: the reference."""
    pack = bundle.parse(pack_bytes)
    engine = regorus.Engine()
    for path, text in sorted(pack.rego.items()):
        engine.add_policy(path, text)
    engine.add_data_json(json.dumps(pack.data))
    engine.set_input_json(json.dumps(input_doc))
    decision = _evaluate(engine)
    return decision.allow, decision.reasons


class CountingIssuer:
    """Wraps the real TokenIssuer and counts the signature checks that reach it."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.verified = 0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def verify(self, token, required_scope=None):
        self.verified += 1
        return self.inner.verify(token, required_scope)


def counting(a: auth.Authenticator) -> CountingIssuer:
    spy = CountingIssuer(a.issuer)
    a.issuer = spy  # type: ignore[assignment]
    return spy


def reason_of(a: auth.Authenticator, token: str) -> str | None:
    try:
        a.verify(token)
    except Problem as exc:
        assert exc.status == 401
        return exc.reason
    return None


def test_a_verified_token_is_served_from_the_cache(tmp_path) -> None:
    a = auth.Authenticator(tmp_path, 600)
    spy = counting(a)
    token, _ = a.issue("qa", ())
    for _ in range(5):
        assert a.verify(token).subject == "qa"
    assert spy.verified == 1


def test_a_cached_token_still_expires(tmp_path) -> None:
    a = auth.Authenticator(tmp_path, 600)
    spy = counting(a)
    # JWT times are whole seconds: a 2 s token is valid for at least 1 s, a 1 s one maybe not at all
    token, life = a.issue("qa", (), ttl_s=2)
    assert a.verify(token).subject == "qa"
    assert a.verify(token).subject == "qa" and spy.verified == 1  # served from the cache
    deadline = time.monotonic() + life + 3
    reason = None
    while reason is None and time.monotonic() < deadline:
        reason = reason_of(a, token)
        time.sleep(0.05)
    assert reason == "expired_token"
    assert reason_of(a, token) == "expired_token"  # and it stays refused


def test_a_cached_token_with_another_signature_is_refused(tmp_path) -> None:
    a = auth.Authenticator(tmp_path, 600)
    token, _ = a.issue("qa", ())
    assert a.verify(token).subject == "qa"
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert reason_of(a, forged) == "invalid_token"


def test_a_new_signing_key_refuses_tokens_the_old_one_verified(tmp_path) -> None:
    old = auth.Authenticator(tmp_path, 600)
    token, _ = old.issue("qa", ())
    assert old.verify(token).subject == "qa"
    (tmp_path / auth.KEY_FILE).unlink()  # COS's key is replaced; it is read at start
    new = auth.Authenticator(tmp_path, 600)
    assert reason_of(new, token) == "invalid_token"


def test_the_token_cache_is_bounded_and_keeps_the_tokens_in_use(tmp_path) -> None:
    a = auth.Authenticator(tmp_path, 600, cache_size=8)
    spy = counting(a)
    hot, _ = a.issue("hot", ())
    tokens = [a.issue(f"user-{i}", ())[0] for i in range(20)]
    for token in tokens:
        a.verify(hot)  # in use all along: never evicted
        a.verify(token)
    assert len(a._cache) == 8
    assert spy.verified == 21  # hot once, each other token once
    a.verify(tokens[0])  # evicted long ago: verified again, and still valid
    assert spy.verified == 22


def test_attestation_is_prepared_per_pack() -> None:
    policy = local_policy()
    assert policy.attestation_content_digest == digest.content_digest(policy.attestation_body)
    other = local_policy("other-pack")
    assert other.attestation_body != policy.attestation_body
    assert other.attestation_content_digest == digest.content_digest(other.attestation_body)
    assert other.attestation_content_digest != policy.attestation_content_digest


def test_prepared_engine_and_memo_decide_like_a_fresh_engine() -> None:
    """Neither the probe the engine was prepared with nor an earlier input leaks into a decision."""
    pack_bytes = build_local_pack(DEFAULT_LOCAL_PACK_DIR, "policy-pack-v0")
    policy = local_policy()
    assert policy.memo is not None
    expected = [unprepared_decision(pack_bytes, doc) for doc in INPUTS]
    for _ in range(2):  # the second round is answered from the memo
        assert [(d.allow, d.reasons) for d in map(policy.decide, INPUTS)] == expected
    assert policy.memo.misses == len(INPUTS) and policy.memo.hits == len(INPUTS)
    assert {allow for allow, _ in expected} == {True, False}


def test_the_memo_keeps_small_inputs_only_and_is_bounded() -> None:
    memo = DecisionMemo(max_entries=4, max_key_chars=200)
    policy = local_policy()
    policy.memo = memo
    for doc in INPUTS[:10]:
        policy.decide(doc)
    assert len(memo) == 4
    big = {**INPUTS[0], "resource": "r" * 500}
    policy.decide(big)
    policy.decide(big)
    assert memo.hits == 0 and len(memo) == 4


@pytest.mark.parametrize(
    "rule",
    [
        "allow if time.now_ns() > 0",
        "allow if time . now_ns() > 0",
        'allow if rand.intn("x", 2) == 1',
        'allow if uuid.rfc4122("x") != ""',
        'allow if http.send({"method": "get", "url": "http://127.0.0.1:1"}).status_code == 200',
        "allow if opa.runtime().env != {}",
        'allow if net.lookup_ip_addr("localhost")',
        'allow if io.jwt.decode_verify(input.token, {"secret": "s"})[0]',
    ],
)
def test_a_pack_that_reads_the_clock_randomness_or_the_network_gets_no_memo(rule) -> None:
    source = f"package companyos.authz\nimport rego.v1\ndefault allow := false\n{rule}\n"
    assert not deterministic({"authz.rego": source})


def test_the_example_pack_is_deterministic() -> None:
    pack = bundle.parse(build_local_pack(DEFAULT_LOCAL_PACK_DIR, "policy-pack-v0"))
    assert deterministic(pack.rego)
    # names that merely contain a builtin's (brand.x, internet) are no alarm
    assert deterministic({"a.rego": 'package x\nbrand := {"x": 1}\nv := brand.x\ninternet := 2\n'})


@pytest.mark.parametrize("roles,action,allow", [(["developer"], "read", True), (["viewer"], "deploy", False)])
def test_repeated_decisions_agree_with_a_fresh_engine(standalone, token, roles, action, allow) -> None:
    doc = {"subject": {"user": "qa", "roles": roles}, "action": action, "resource": "release/1"}
    with httpx.Client() as client:
        answers = [
            client.post(f"{standalone.url}/v1/authorize", json=doc, headers=bearer(token)).json()
            for _ in range(3)
        ]
    assert all(a == answers[0] for a in answers)
    assert answers[0]["allow"] is allow


def test_a_reload_replaces_the_attestation_and_the_decisions(integrated, mc) -> None:
    url = integrated.url
    token = integrated.token()
    doc = {"subject": {"user": "qa", "roles": ["developer"]}, "action": "read"}
    with httpx.Client() as client:
        before = client.get(f"{url}/v1/attestation")
        assert client.post(f"{url}/v1/authorize", json=doc, headers=bearer(token)).json()["allow"] is True
        published = mc.publish("freeze-read", rego_with_frozen(["read"]))
        wait_for(
            "COS to enforce the new pack",
            lambda: client.get(f"{url}/v1/attestation").json()["digest"] == published["digest"],
            timeout_s=5,
            interval_s=0.02,
        )
        after = client.get(f"{url}/v1/attestation")
        decided = client.post(f"{url}/v1/authorize", json=doc, headers=bearer(token)).json()
        stale = client.get(f"{url}/v1/attestation", headers={"If-None-Match": before.headers["etag"]})
    assert after.headers["etag"] == digest.strong_etag(published["digest"]) != before.headers["etag"]
    assert after.headers["content-digest"] == digest.content_digest(after.content)
    assert after.headers["content-digest"] != before.headers["content-digest"]
    assert after.json()["revision"] != before.json()["revision"]
    assert decided["allow"] is False and decided["policy"]["digest"] == published["digest"]
    assert stale.status_code == 200 and stale.content == after.content
