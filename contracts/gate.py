"""The contract gates as steps with a verdict, a duration and a readable report.

Used by the CLI (`python -m contracts gate`) and by the behave steps (harness/domain/contracts.py), so
the terminal, CI and the Allure report say the same thing.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contracts import COS, MC, PACT_DIR, REPORT_DIR, broker, drift, matrix, mutations, pactfile, scrub, verify
from contracts.openapi_check import check_pacts


@dataclass
class StepResult:
    name: str
    ok: bool
    seconds: float
    report: str
    data: Any = field(default=None, repr=False)


def _timed(name: str, body: Callable[[], tuple[bool, str, Any]]) -> StepResult:
    started = time.monotonic()
    try:
        ok, text, data = body()
    except Exception as exc:  # noqa: BLE001 - a crashing gate is a failing gate, with its traceback
        ok, text, data = False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}", None
    return StepResult(name, ok, time.monotonic() - started, text, data)


def consumers_and_drift() -> StepResult:
    """Run the consumer tests into a temp dir; the committed pacts must be reproduced exactly."""

    def body():
        result = drift.check()
        return result.ok, result.report(), result

    return _timed("consumer tests + drift", body)


def secrets_scrub() -> StepResult:
    def body():
        paths = pactfile.committed(PACT_DIR)
        findings = scrub.scan(paths)
        return not findings, scrub.report(findings, len(paths)), findings

    return _timed("scrub", body)


def pacts_against_openapi() -> StepResult:
    """The second contract: every pact interaction is documented by its provider's OpenAPI."""

    def body():
        outcome = check_pacts(pactfile.committed(PACT_DIR))
        return outcome.ok, outcome.report(), outcome

    return _timed("pacts vs OpenAPI", body)


def provider_verification(provider: str, record: bool = True) -> StepResult:
    def body():
        outcomes = verify.verify_provider(provider, record=record)
        lines = [o.report() for o in outcomes]
        for o in outcomes:
            if not o.success:
                lines.append(o.output[-6000:])
        if record:
            lines.append(f"results recorded in {matrix.matrix_path()}")
        return all(o.success for o in outcomes) and bool(outcomes), "\n".join(lines), outcomes

    return _timed(f"verify {provider}", body)


def mutation_proof(
    names: list[str] | None = None, progress=None, announce=None, write_docs: bool = False
) -> StepResult:
    """Baselines, then every contract mutation (contracts/mutations.py); report in reports/ and,
    with `write_docs` (the CLI's full run), the generated docs/mutations-contracts.md."""

    def body():
        proof = mutations.prove(names, progress=progress, announce=announce)
        text = mutations.report(proof)
        REPORT_DIR.mkdir(parents=True, exist_ok=True)
        (REPORT_DIR / "mutations.md").write_text(mutations.markdown(proof), "utf-8")
        if write_docs and not names:
            mutations.GENERATED.write_text(mutations.markdown(proof), "utf-8")
        return proof.ok, text, proof

    return _timed("mutation proof", body)


BROKER_STEP = "pact broker"


def broker_round_trip(tags: list[str] | None = None) -> StepResult:
    """Only with PACT_BROKER_BASE_URL: publish the pacts, verify from the broker, publish results.
    `run` calls it only after every other gate passed (`publication_blocked`)."""

    def body():
        published = broker.publish_pacts(tags)
        lines = [f"published {p.consumer} {p.version}: HTTP {p.status} {p.notices}" for p in published]
        ok = bool(published) and all(200 <= p.status < 300 for p in published)
        if not ok:
            lines.append("the broker refused the pacts; nothing verified from it")
            return False, "\n".join(lines), None
        for provider in (MC, COS):
            verified, output = verify.verify_from_broker(provider)
            ok = ok and verified
            lines.append(f"--- broker verification of {provider}: {'ok' if verified else 'FAILED'}")
            lines.append(output)
        return ok, "\n".join(lines), None

    return _timed(BROKER_STEP, body)


def publication_blocked(results: list[StepResult], skip_mutations: bool) -> StepResult | None:
    """Pacts reach the broker only after every gate before it passed, the mutation proof included:
    a pact that drifted, leaks a secret or is not honoured (or proven) must not become the
    version other teams verify against and deploy by. The refusal is a failed step that says why."""
    failed = [r.name for r in results if not r.ok]
    if failed:
        why = f"{', '.join(failed)} failed"
    elif skip_mutations:
        why = "the mutation proof did not run (--skip-mutations)"
    else:
        return None
    report = f"not published: {why}; the pacts go to the broker only after every earlier gate passed"
    return StepResult(BROKER_STEP, False, 0.0, report)


def run(
    skip_mutations: bool = False, announce: Callable[[str], None] = print, tags: list[str] | None = None
) -> list[StepResult]:
    """Every gate in order; all run even after a failure, so one run shows everything — except
    the broker step (with PACT_BROKER_BASE_URL), which publishes only when all the others passed."""
    steps: list[tuple[str, Callable[[], StepResult]]] = [
        ("consumer tests + drift", consumers_and_drift),
        ("scrub", secrets_scrub),
        ("pacts vs OpenAPI", pacts_against_openapi),
        (f"verify {MC}", lambda: provider_verification(MC)),
        (f"verify {COS}", lambda: provider_verification(COS)),
    ]
    if not skip_mutations:
        steps.append(
            (
                "mutation proof",
                lambda: mutation_proof(
                    progress=lambda r: announce(
                        f"  {r.name:<34} {r.provider:<18} {'caught' if r.caught else 'NOT CAUGHT'} "
                        f"{r.seconds:5.1f}s"
                    )
                ),
            )
        )
    if broker.configured():
        steps.append((BROKER_STEP, lambda: broker_round_trip(tags)))
    results: list[StepResult] = []
    for name, step in steps:
        announce(f"\n=== {name} ===")
        blocked = publication_blocked(results, skip_mutations) if name == BROKER_STEP else None
        result = blocked or step()
        announce(result.report)
        announce(f"--- {name}: {'passed' if result.ok else 'FAILED'} ({result.seconds:.1f}s)")
        results.append(result)
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (REPORT_DIR / "gate.json").write_text(
        json.dumps([{"step": r.name, "ok": r.ok, "seconds": round(r.seconds, 2)} for r in results], indent=2)
        + "\n"
    )
    return results


def summary(results: list[StepResult]) -> str:
    rows = ["| gate | result | seconds |", "| --- | --- | --- |"]
    rows += [f"| {r.name} | {'passed' if r.ok else 'FAILED'} | {r.seconds:.1f} |" for r in results]
    return "\n".join(rows)
