"""Provider verification: every committed pact replayed against the real provider.

One provider start per call; one `pact.Verifier` per pact file (so each pact gets its own
matrix row). The verifier calls `contracts.providers.stateserver` for provider states and uses
the request values they return (real tokens, client secret, password, receipt signatures) in
place of the pact's placeholders; response values tied to a state are resolved by
`contracts.render` first. The verifier talks to the provider through
`contracts.checks.CheckingProxy`, which fails the interaction when a `Content-Digest` is not the
digest of the body sent or an MC token breaks its lifetime / scope promise. Results are
recorded in the matrix unless this is a mutation run.

With `PACT_BROKER_BASE_URL` set, `verify_from_broker` verifies the pacts the broker selects
for this provider and publishes the results there (see docs/contracts.md, "Pact Broker").
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

from contracts import PACT_DIR, REPO, matrix, pactfile, providers, render, versions
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


def verify_from_broker(provider: str, *, publish: bool = True) -> tuple[bool, str]:
    """Verify the pacts a Pact Broker selects for `provider`, publishing results (CI path).

    Reads PACT_BROKER_BASE_URL and PACT_BROKER_TOKEN / _USERNAME / _PASSWORD (pact-python's
    `broker_source(use_env=True)`); selects the main branch's and deployed consumer versions.
    Response-side provider-state values are not resolved on this path (`contracts.render`
    needs the pact before the run), so those fields are checked by their regex only.
    """
    version = versions.version_of(provider)
    with (
        providers.start(provider) as running,
        _proxy(running) as proxy,
        StateServer(running.registry) as state_url,
    ):
        verifier = _verifier(provider, proxy.url, state_url)
        if publish:
            verifier.set_publish_options(version=version, branch=versions.branch())
        selector = verifier.broker_source(selector=True)
        selector.consumer_version(main_branch=True).consumer_version(deployed_or_released=True)
        if versions.branch():
            selector.consumer_version(matching_branch=True).provider_branch(versions.branch() or "")
        selector.include_pending().build()
        ok, _, output = run_verifier(verifier)
    return ok, output
