"""The Pact Broker path, against a recording stub broker (tests/contracts/broker_stub.py).

- The gate publishes only after every earlier gate passed (drift, scrub, pacts vs OpenAPI, both
  provider verifications, the mutation proof): with any of them failing — or the mutation proof
  not run — the stub records no publish.
- The real path (publish, verify from the broker with results published, can-i-deploy) sends
  exactly the HAL requests a broker expects: versions, branch, selectors, results.
- A pact fetched from the broker is rendered like a committed one: its provider-state values in
  responses are compared exactly, so a provider returning a fresh id on a replay fails, and that
  failure reaches the broker as `success: false`.
"""

from __future__ import annotations

import base64
import copy
import json
from urllib.parse import quote

import pytest

from contracts import COS, MC, PACT_DIR, SDK, gate, pactfile, render, verify
from contracts.__main__ import main
from tests.contracts.broker_stub import BrokerStub

VERSIONS = {COS: "cos-1.4.0", MC: "mc-2.7.1", SDK: "sdk-0.9.3"}
BRANCH = "feat/broker-stub"  # a slash, so the branch must be escaped in the URL
TOKEN = "stub-broker-token"
SELECTORS = [{"mainBranch": True}, {"deployedOrReleased": True}, {"matchingBranch": True}]
EARLIER = [
    "consumer tests + drift",
    "scrub",
    "pacts vs OpenAPI",
    f"verify {MC}",
    f"verify {COS}",
    "mutation proof",
]
SAMPLE_JWT = (
    "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjb21wYW55b3MiLCJzY29wZSI6InBvbGljeTpyZWFkIn0."
    "3-9ZFYQRVvI9k5lRKV3o9-R_zS1CjclGDtO35AtGnj1G0XSKZbonzlwULqGyr8FBsBSXB421cU7tMG5QEvVHCA"
)


REAL_SCRUB = gate.secrets_scrub


@pytest.fixture
def stub(monkeypatch, tmp_path):
    """A stub broker, and the environment a CI build pointing at it would have."""
    with BrokerStub() as broker:
        monkeypatch.setenv("PACT_BROKER_BASE_URL", broker.url)
        monkeypatch.setenv("PACT_BROKER_TOKEN", TOKEN)
        monkeypatch.setenv("PACT_BRANCH", BRANCH)
        monkeypatch.delenv("PACT_VERSION", raising=False)
        for name, version in VERSIONS.items():
            monkeypatch.setenv("PACT_VERSION_" + name.upper().replace("-", "_"), version)
        monkeypatch.setattr(gate, "REPORT_DIR", tmp_path / "reports")
        yield broker


# -- publish only after every earlier gate passed --------------------------------------------------


def _gates_passing_except(monkeypatch, failing: str | None) -> None:
    """Stand-ins for the expensive gates with a fixed verdict: what is under test is the order."""

    def step(name: str):
        return lambda *args, **kwargs: gate.StepResult(name, name != failing, 0.0, f"{name} (stand-in)")

    monkeypatch.setattr(gate, "consumers_and_drift", step("consumer tests + drift"))
    monkeypatch.setattr(gate, "secrets_scrub", step("scrub"))
    monkeypatch.setattr(gate, "pacts_against_openapi", step("pacts vs OpenAPI"))
    monkeypatch.setattr(
        gate, "provider_verification", lambda provider, record=True: step(f"verify {provider}")()
    )
    monkeypatch.setattr(gate, "mutation_proof", step("mutation proof"))
    monkeypatch.setattr(verify, "verify_from_broker", lambda provider, **kw: (True, f"{provider} (stand-in)"))


@pytest.mark.parametrize("failing", EARLIER)
def test_nothing_is_published_when_an_earlier_gate_fails(stub, monkeypatch, failing) -> None:
    _gates_passing_except(monkeypatch, failing)
    results = gate.run(announce=lambda line: None)
    assert [r.name for r in results] == [*EARLIER, "pact broker"]
    assert stub.recorded("POST", "/contracts/publish") == []
    assert stub.requests == [], "the broker is not even asked"
    broker_step = results[-1]
    assert not broker_step.ok
    assert failing in broker_step.report and "not published" in broker_step.report


def test_a_real_scrub_finding_keeps_the_pacts_off_the_broker(stub, monkeypatch, tmp_path) -> None:
    _gates_passing_except(monkeypatch, None)
    planted = tmp_path / "pacts"
    planted.mkdir()
    doc = pactfile.load(PACT_DIR / "companyos-maestro-conductor.json")
    token = next(
        i for i in doc["interactions"] if i["description"] == "a token request with the client's credentials"
    )
    token["response"]["body"]["content"]["access_token"] = SAMPLE_JWT
    (planted / "companyos-maestro-conductor.json").write_text(json.dumps(doc), "utf-8")
    monkeypatch.setattr(gate, "PACT_DIR", planted)
    monkeypatch.setattr(gate, "secrets_scrub", REAL_SCRUB)
    results = gate.run(announce=lambda line: None)
    by_name = {r.name: r for r in results}
    assert not by_name["scrub"].ok and "JSON Web Token" in by_name["scrub"].report
    assert not by_name["pact broker"].ok
    assert stub.requests == []


def test_without_the_mutation_proof_nothing_is_published(stub, monkeypatch) -> None:
    _gates_passing_except(monkeypatch, None)
    results = gate.run(skip_mutations=True, announce=lambda line: None)
    assert [r.name for r in results][-1] == "pact broker"
    assert not results[-1].ok and "mutation proof" in results[-1].report
    assert stub.requests == []


def test_when_every_gate_passed_the_pacts_are_published(stub, monkeypatch) -> None:
    _gates_passing_except(monkeypatch, None)
    results = gate.run(announce=lambda line: None)
    assert all(r.ok for r in results), gate.summary(results)
    assert len(stub.recorded("POST", "/contracts/publish")) == 3


# -- the real path: publish, verify from the broker, can-i-deploy -------------------------------------


@pytest.mark.slow
def test_round_trip_sends_the_broker_exactly_what_it_expects(stub, capsys) -> None:
    step = gate.broker_round_trip()
    assert step.ok, step.report

    assert all(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in stub.requests)
    publishes = stub.recorded("POST", "/contracts/publish")
    committed = {pactfile.parties(pactfile.load(p)): p.read_bytes() for p in pactfile.committed(PACT_DIR)}
    assert sorted(r.body["pacticipantName"] for r in publishes) == sorted({c for c, _ in committed})
    for r in publishes:
        consumer = r.body["pacticipantName"]
        assert r.body["pacticipantVersionNumber"] == VERSIONS[consumer]
        assert r.body["branch"] == BRANCH
        for c in r.body["contracts"]:
            assert (c["consumerName"], c["specification"], c["contentType"]) == (
                consumer,
                "pact",
                "application/json",
            )
            assert base64.b64decode(c["content"]) == committed[(consumer, c["providerName"])]

    for provider in (MC, COS):
        (selection,) = stub.recorded("POST", f"/pacts/provider/{provider}/for-verification")
        assert selection.body == {
            "consumerVersionSelectors": SELECTORS,
            "includePendingStatus": True,
            "providerVersionBranch": BRANCH,
        }
        branch_put = (
            f"/pacticipants/{provider}/branches/{quote(BRANCH, safe='')}/versions/{VERSIONS[provider]}"
        )
        assert [r.method for r in stub.recorded(path_prefix=branch_put)] == ["PUT"]
    assert len(stub.recorded("GET", "/pacts/provider/")) == len(committed)

    results = {(r["consumer"], r["provider"]): r for r in stub.results}
    assert set(results) == set(committed)
    for (consumer, provider), result in results.items():
        assert result["success"] is True
        assert result["providerApplicationVersion"] == VERSIONS[provider]
        assert result["consumerVersion"] == VERSIONS[consumer]
        interactions = pactfile.load(PACT_DIR / pactfile.file_name(consumer, provider))["interactions"]
        assert len(result["testResults"]) == len(interactions)
        assert all(t["success"] for t in result["testResults"])
    # a result goes out only after the provider version is on its branch
    calls = stub.calls()
    for provider in (MC, COS):
        put = next(i for i, c in enumerate(calls) if c.startswith(f"PUT /pacticipants/{provider}/"))
        posted = [
            i for i, c in enumerate(calls) if c.startswith(f"POST /pacts/provider/{provider}/consumer/")
        ]
        assert posted and put < min(posted)

    assert main(["can-i-deploy", "--broker", "--pacticipant", COS, "--to-environment", "production"]) == 0
    (asked,) = stub.recorded("GET", "/can-i-deploy")
    assert asked.query == {"pacticipant": [COS], "version": [VERSIONS[COS]], "environment": ["production"]}
    assert "Computer says yes" in capsys.readouterr().out


# -- broker-fetched pacts are rendered like local ones ------------------------------------------------


def _state_valued_pact() -> dict:
    """COS → MC, only the interactions whose responses carry provider-state values."""
    doc = copy.deepcopy(pactfile.load(PACT_DIR / "companyos-maestro-conductor.json"))
    doc["interactions"] = [i for i in doc["interactions"] if render.needs_values(i)]
    assert any(
        i["description"] == "a repeated publish with the same key and the same evidence"
        for i in doc["interactions"]
    )
    return doc


@pytest.mark.slow
def test_a_broker_pact_with_state_values_verifies_green_against_the_real_provider(stub) -> None:
    seeded = stub.seed(_state_valued_pact(), "cos-seeded")
    ok, report = verify.verify_from_broker(MC)
    assert ok, report
    (result,) = stub.results
    assert (result["sha"], result["success"], result["providerApplicationVersion"]) == (
        seeded.sha,
        True,
        VERSIONS[MC],
    )
    assert len(result["testResults"]) == len(seeded.doc["interactions"])


@pytest.mark.slow
def test_a_fresh_id_on_a_replay_fails_on_the_broker_path_and_is_published_as_a_failure(stub, capsys) -> None:
    """Unrendered, the replay's evidence id would be checked by its regex and pass."""
    stub.seed(_state_valued_pact(), "cos-seeded")
    ok, report = verify.verify_from_broker(MC, mutations="mc.replay-new-id")
    assert not ok
    (result,) = stub.results
    assert result["success"] is False and result["providerApplicationVersion"] == VERSIONS[MC]
    failed = {t["interactionDescription"] for t in result["testResults"] if not t["success"]}
    assert "a repeated publish with the same key and the same evidence" in failed
    assert (
        main(["can-i-deploy", "--broker", "--pacticipant", COS, "--version", "cos-seeded", "--to", "prod"])
        == 1
    )
    assert "Computer says no" in capsys.readouterr().out


@pytest.mark.slow
def test_a_failing_pending_pact_is_published_as_a_failure_without_failing_the_build(stub) -> None:
    stub.seed(_state_valued_pact(), "cos-next", pending=True)
    ok, report = verify.verify_from_broker(MC, mutations="mc.replay-new-id")
    assert ok, report
    assert "(pending)" in report
    assert "broker: selected: companyos cos-next" in report, "the broker's notices are shown"
    assert [r["success"] for r in stub.results] == [False]


def test_can_i_deploy_against_a_broker_needs_a_target(stub, capsys) -> None:
    assert main(["can-i-deploy", "--broker", "--pacticipant", COS]) == 2
    assert "--to-environment" in capsys.readouterr().err
    assert stub.requests == []


def test_publish_is_the_gate_and_publishes_nothing_when_a_gate_fails(stub, monkeypatch) -> None:
    _gates_passing_except(monkeypatch, "verify companyos")
    assert main(["publish", "--tag", "rc"]) == 1
    assert stub.requests == []


def test_publish_passes_its_tags_once_every_gate_passed(stub, monkeypatch) -> None:
    _gates_passing_except(monkeypatch, None)
    assert main(["publish", "--tag", "rc"]) == 0
    assert {tuple(r.body["tags"]) for r in stub.recorded("POST", "/contracts/publish")} == {("rc",)}


@pytest.mark.parametrize("command", [["verify", "--broker"], ["can-i-deploy", "--broker", "--to", "prod"]])
def test_a_broker_that_refuses_is_a_clear_failure_not_a_traceback(stub, monkeypatch, capsys, command) -> None:
    monkeypatch.setenv("PACT_BROKER_BASE_URL", stub.url + "/no-broker-here")
    argv = [*command, "--pacticipant", COS] if command[0] == "can-i-deploy" else command
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "pact broker:" in err and "HTTP 404" in err and "Traceback" not in err


def test_an_unreachable_broker_is_a_clear_failure(monkeypatch, capsys) -> None:
    from harness.kit.ports import free_port

    monkeypatch.setenv("PACT_BROKER_BASE_URL", f"http://127.0.0.1:{free_port()}")
    assert main(["can-i-deploy", "--broker", "--pacticipant", COS, "--to-environment", "production"]) == 1
    assert "pact broker:" in capsys.readouterr().err


def test_published_mismatches_carry_no_token(stub) -> None:
    outcome = verify.PactOutcome(
        pact_file=PACT_DIR / "x.json",
        consumer=COS,
        provider=MC,
        consumer_version="c",
        provider_version="p",
        pact_sha256="0",
        success=False,
        interactions=1,
        failures=[
            verify.Failure(
                "a token request", "mismatch", f"$.access_token: expected 'x' but got '{SAMPLE_JWT}'"
            )
        ],
    )
    results = verify._test_results(outcome, {"interactions": [{"description": "a token request"}]})  # noqa: SLF001
    assert results[0]["success"] is False
    assert SAMPLE_JWT not in json.dumps(results) and "redacted" in json.dumps(results)
