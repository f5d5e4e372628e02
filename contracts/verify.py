"""Provider verification: every committed pact replayed against the real provider.

One provider start per call; one `pact.Verifier` per pact file (so each pact gets its own
matrix row). The verifier calls `contracts.providers.stateserver` for provider states and uses
the request values they return (real tokens, client secret, password, receipt signatures) in
place of the pact's placeholders; response values tied to a state are resolved by
`contracts.render` first. The verifier talks to the provider through
`contracts.checks.CheckingProxy`, which fails the interaction when a `Content-Digest` is not the
digest of the body sent or an MC token breaks its lifetime / scope promise. Results are
recorded in the matrix unless this is a mutation run.

With `PACT_BROKER_BASE_URL` set, `verify_from_broker` fetches the pacts the broker selects for
this provider, verifies them exactly like committed ones (rendered first) and publishes the
results there (see docs/contracts.md, "Pact Broker").
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pact import Verifier

from contracts import PACT_DIR, REPO, broker, matrix, pactfile, providers, render, scrub, versions
from contracts.checks import CheckingProxy
from contracts.providers.stateserver import StateServer

REQUEST_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Failure:
    description: str
    kind: str  # "mismatch" (the provider answered differently) | "error" (state setup, transport)
    detail: str


@dataclass
class PactOutcome:
    pact_file: Path
    consumer: str
    provider: str
    consumer_version: str
    provider_version: str
    pact_sha256: str
    success: bool
    interactions: int
    failures: list[Failure] = field(default_factory=list)
    output: str = ""

    @property
    def mismatches(self) -> list[Failure]:
        return [f for f in self.failures if f.kind == "mismatch"]

    def row(self) -> matrix.Row:
        try:
            shown = str(self.pact_file.relative_to(REPO))
        except ValueError:
            shown = str(self.pact_file)
        return matrix.Row(
            consumer=self.consumer,
            consumer_version=self.consumer_version,
            provider=self.provider,
            provider_version=self.provider_version,
            pact_sha256=self.pact_sha256,
            success=self.success,
            interactions=self.interactions,
            failed=len(self.failures),
            verified_at=matrix.now(),
            pact_file=shown,
            failures=[f.description for f in self.failures] or None,
        )

    def summary(self) -> str:
        status = "verified" if self.success else f"FAILED {len(self.failures)} of {self.interactions}"
        return (
            f"{self.consumer} {self.consumer_version} → {self.provider} {self.provider_version}: "
            f"{self.interactions} interactions, {status}"
        )

    def report(self) -> str:
        lines = [self.summary()]
        for f in self.failures:
            lines.append(f"  ✗ {f.description} [{f.kind}] {f.detail}")
        return "\n".join(lines)


def pacts_for(provider: str, pact_dir: Path = PACT_DIR) -> list[Path]:
    return [p for p in pactfile.committed(pact_dir) if pactfile.parties(pactfile.load(p))[1] == provider]


@contextlib.contextmanager
def captured_output() -> Iterator[Path]:
    """The Rust verifier prints its report straight to fds 1 and 2; keep it for the report."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with tempfile.NamedTemporaryFile(prefix="pact-verifier-", suffix=".txt", delete=False) as tmp:
        path = Path(tmp.name)
    try:
        with open(path, "wb") as sink:
            for fd in saved:
                os.dup2(sink.fileno(), fd)
            try:
                yield path
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                for fd, copy in saved.items():
                    os.dup2(copy, fd)
    finally:
        for copy in saved.values():
            os.close(copy)


def _mismatch_text(mismatch: dict) -> str:
    items = mismatch.get("mismatches") or []
    if mismatch.get("type") == "mismatches" and items:
        first = items[0]
        where = first.get("path") or first.get("key") or first.get("type", "")
        more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
        return f"{where}: {first.get('mismatch', '')}{more}"
    return str(mismatch.get("message") or mismatch.get("type") or mismatch)[:300]


def failures_from(results: dict) -> list[Failure]:
    failures: list[Failure] = []
    seen: set[str] = set()
    descriptions = [r.get("description", "") for r in results.get("interactionResults") or []]
    for err in results.get("errors") or []:
        label = err.get("interaction", "")
        desc = next((d for d in descriptions if d and label.endswith(" - " + d)), label)
        mismatch = err.get("mismatch") or {}
        kind = "mismatch" if mismatch.get("type") == "mismatches" else "error"
        failures.append(Failure(desc, kind, _mismatch_text(mismatch)))
        seen.add(desc)
    for item in results.get("interactionResults") or []:
        desc = item.get("description", "?")
        if item.get("result") != "OK" and not item.get("pending") and desc not in seen:
            failures.append(Failure(desc, "error", str(item.get("result"))[:300]))
    return failures


def run_verifier(verifier: Verifier) -> tuple[bool, dict, str]:
    with captured_output() as printed:
        try:
            verifier.verify()
            ok = True
        except RuntimeError:
            ok = False
    output = printed.read_text("utf-8", "replace")
    printed.unlink(missing_ok=True)
    try:
        results = verifier.results
    except Exception:  # noqa: BLE001 - the output text still says what happened
        results = {}
    return ok, results, output


def _verifier(provider: str, base_url: str, state_url: str) -> Verifier:
    return (
        Verifier(provider, host="127.0.0.1")
        .add_transport(url=base_url)
        .state_handler(state_url, body=True)
        .set_request_timeout(REQUEST_TIMEOUT_MS)
        .set_coloured_output(enabled=False)
    )


def _proxy(running: providers.Running) -> CheckingProxy:
    """The checking proxy in front of the provider, routing per state (StateRegistry.routes)."""
    return CheckingProxy(running.base_url, running.routes.values(), running.registry.take_route)


def verify_provider(
    provider: str,
    pact_files: list[Path] | None = None,
    *,
    mutations: str = "",
    record: bool = True,
) -> list[PactOutcome]:
    """Start `provider`, verify each pact against it, return (and record) the outcomes."""
    pact_files = pacts_for(provider) if pact_files is None else pact_files
    provider_version = versions.version_of(provider)
    outcomes: list[PactOutcome] = []
    with (
        providers.start(provider, mutations) as running,
        _proxy(running) as proxy,
        StateServer(running.registry) as state_url,
    ):
        with tempfile.TemporaryDirectory(prefix="contracts-rendered-") as tmp:
            for pact_path in pact_files:
                doc = pactfile.load(pact_path)
                consumer, _ = pactfile.parties(doc)
                resolved, setup_errors = render.resolve(doc, running.registry.values_for)
                rendered = Path(tmp) / pact_path.name
                rendered.write_text(json.dumps(resolved, indent=2), "utf-8")
                verifier = _verifier(provider, proxy.url, state_url).add_source(rendered)
                ok, results, output = run_verifier(verifier)
                failures = failures_from(results)
                if not ok and not failures:
                    failures = [Failure("(verification did not complete)", "error", output[-300:])]
                failures += [Failure(e.split(":", 1)[0], "error", e) for e in setup_errors]
                outcomes.append(
                    PactOutcome(
                        pact_file=pact_path,
                        consumer=consumer,
                        provider=provider,
                        consumer_version=versions.version_of(consumer),
                        provider_version=provider_version,
                        pact_sha256=pactfile.sha256(pact_path),
                        success=ok and not failures,
                        interactions=len(doc.get("interactions", [])),
                        failures=failures,
                        output=output,
                    )
                )
        if any(not o.success for o in outcomes):
            tail = running.log_tail()
            checked = "\n".join(proxy.violations) or "(none)"
            for o in outcomes:
                if not o.success:
                    o.output += f"\n--- seam checks (contracts/checks.py) ---\n{checked}"
                    o.output += f"\n--- {provider} log (tail) ---\n{tail}"
    if record and not mutations:
        matrix.record([o.row() for o in outcomes])
    return outcomes


def _published(text: str) -> str:
    """Mismatch text leaves the machine: no token the provider answered goes with it."""
    return scrub.JWT.sub("<redacted JWT>", text)


def _test_results(outcome: PactOutcome, doc: dict) -> list[dict]:
    """Per-interaction results for the broker (its `testResults`, shown with the verification)."""
    failed: dict[str, list[Failure]] = {}
    for f in outcome.failures:
        failed.setdefault(f.description, []).append(f)
    out = []
    for interaction in doc.get("interactions", []):
        description = interaction.get("description", "")
        entry: dict = {"interactionDescription": description, "success": description not in failed}
        if description in failed:
            entry["mismatches"] = [
                {"description": _published(f"[{f.kind}] {f.detail}")} for f in failed.pop(description)
            ]
        out.append(entry)
    out += [
        {
            "interactionDescription": d,
            "success": False,
            "mismatches": [{"description": _published(f.detail)} for f in fs],
        }
        for d, fs in failed.items()
    ]
    return out


def verify_from_broker(provider: str, *, publish: bool = True, mutations: str = "") -> tuple[bool, str]:
    """Verify the pacts a Pact Broker selects for `provider`, publishing results (CI path).

    The broker's pacts go through the same code as the committed ones: fetched over the broker's
    HAL API (`contracts.broker`), written to files, then `verify_provider` — so response-side
    provider-state values are rendered (`contracts.render`) and the seam checks apply. Each
    result is published to that pact's `pb:publish-verification-results` link with the provider
    version, after the provider version is put on its branch. A failing *pending* pact is
    published as a failure but does not fail the run (the broker's pending-pact rule).
    `mutations` is the mutation proof's provider switch (tests run it against a stub broker).
    """
    version = versions.version_of(provider)
    branch = versions.branch()
    with broker.Broker.from_env() as client:
        selected = client.pacts_for_verification(provider, branch)
        if not selected:
            return (
                False,
                f"the broker selected no pacts for {provider} (selectors {broker.selectors(branch)})",
            )
        with tempfile.TemporaryDirectory(prefix="contracts-broker-") as tmp:
            files = []
            for i, pact in enumerate(selected):
                contract = pact.contract()
                consumer, named = pactfile.parties(contract)
                if named != provider:
                    return (
                        False,
                        f"the broker selected a pact for {named!r} when asked for {provider!r}: {pact.url}",
                    )
                files.append(Path(tmp) / f"{i:02d}-{pactfile.file_name(consumer, provider)}")
                files[-1].write_text(json.dumps(contract, indent=2), "utf-8")
            outcomes = verify_provider(provider, files, mutations=mutations, record=False)
        if publish and branch:
            client.record_branch(provider, branch, version)
        ok, lines = True, []
        for pact, outcome in zip(selected, outcomes, strict=True):
            outcome.consumer_version = pact.consumer_version or outcome.consumer_version
            lines.append(f"{pact.description}{' (pending)' if pact.pending else ''}: {outcome.report()}")
            lines += [f"  broker: {notice}" for notice in pact.notices]
            if not outcome.success:
                lines.append(outcome.output[-4000:])
            if publish:
                client.publish_result(pact, version, outcome.success, _test_results(outcome, pact.contract()))
                lines.append(f"  result published to {pact.link('pb:publish-verification-results')['href']}")
            ok = ok and (outcome.success or pact.pending)
    return ok, "\n".join(lines)
