"""Prometheus metrics, one CollectorRegistry per app instance.

Per-app (not the global default registry) so several COS apps in one test
process do not share or collide on counters. Names are part of what the
acceptance suite reads; docs/companyos.md lists them.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from seam.group_commit import CommitCounters

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Label values created up front, so every series exists (at 0) before the first event:
# a dashboard or a test can then assert on an increase instead of on appearance.
RELOAD_FAILURE_REASONS = (
    "missing_content_digest",
    "content_digest_mismatch",
    "etag_mismatch",
    "attestation_missing",
    "attestation_malformed",
    "unsigned",
    "bad_signature",
    "digest_mismatch",
    "invalid_bundle",
    "policy_compile_error",
    "revision_mismatch",
)
PUBLISH_RETRY_REASONS = (
    "unreachable",
    "timeout",
    "unauthorized",
    "forbidden",
    "in_flight",
    "server_error",
    "token",
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.policy_fetch_duration = Histogram(
            "policy_fetch_duration_seconds",
            "Time of one pack poll at MC (GET with If-None-Match), by outcome.",
            ["outcome"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.policy_reload_success = Counter(
            "policy_reload_success", "Packs verified and swapped in.", registry=r
        )
        self.policy_reload_failure = Counter(
            "policy_reload_failure",
            "Packs rejected (tampered, unsigned, mismatched, broken); the LKG stayed active.",
            ["reason"],
            registry=r,
        )
        self.policy_fetch_errors = Counter(
            "policy_fetch_errors",
            "Polls that could not complete (MC unreachable, 5xx, auth); retried with backoff.",
            ["reason"],
            registry=r,
        )
        self.policy_fetch_backoff = Gauge(
            "policy_fetch_backoff_seconds", "The backoff currently applied before the next poll.", registry=r
        )
        self.policy_active_info = Gauge(
            "policy_active_info",
            "1 for the pack currently enforced.",
            ["pack", "revision", "digest", "source"],
            registry=r,
        )
        self.policy_loaded_timestamp = Gauge(
            "policy_loaded_timestamp_seconds", "When the active pack was loaded (unix s).", registry=r
        )
        self.evidence_accepted = Counter(
            "evidence_accepted", "Evidence accepted into the outbox (202, not replays).", registry=r
        )
        self.evidence_published = Counter(
            "evidence_published", "Outbox entries MC confirmed as stored.", registry=r
        )
        self.evidence_publish_retries = Counter(
            "evidence_publish_retries",
            "Publish attempts that must be retried (MC down, 5xx, 409 in flight, 401).",
            ["reason"],
            registry=r,
        )
        self.evidence_publish_dedupe = Counter(
            "evidence_publish_dedupe",
            "Publishes MC answered as an idempotent replay (already stored: not a new record).",
            registry=r,
        )
        self.evidence_publish_rejected = Counter(
            "evidence_publish_rejected",
            "Publishes MC refused permanently (4xx other than 401/409); parked with backoff.",
            ["reason"],
            registry=r,
        )
        self.evidence_receipts = Counter(
            "evidence_receipts",
            "Receipts by outcome (acknowledged: each receipt of a batch; bad_signature: per callback).",
            ["outcome"],
            registry=r,
        )
        self.receipt_callbacks = Counter(
            "evidence_receipt_callbacks",
            "Receipt callbacks applied, by form (single receipt or batch).",
            ["form"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            "evidence_outbox_depth", "Outbox entries not yet published to MC.", registry=r
        )
        self.outbox_commits = CommitCounters("cos_outbox", "Outbox", r)  # the outbox's group commit
        self.authorize_decisions = Counter(
            "authorize_decisions", "Decisions answered, by result.", ["allow"], registry=r
        )
        self.test_hooks_active = Gauge(
            "test_hooks_active", "Test-only switches active in this process (1 each).", ["hook"], registry=r
        )
        self._prime()

    def _prime(self) -> None:
        for reason in RELOAD_FAILURE_REASONS:
            self.policy_reload_failure.labels(reason)
        for reason in PUBLISH_RETRY_REASONS:
            self.evidence_publish_retries.labels(reason)
        for allow in ("true", "false"):
            self.authorize_decisions.labels(allow)
        for outcome in ("acknowledged", "bad_signature"):
            self.evidence_receipts.labels(outcome)
        for form in ("single", "batch"):
            self.receipt_callbacks.labels(form)

    def set_outbox_depth_source(self, fn: Callable[[], float]) -> None:
        self.outbox_depth.set_function(fn)

    def set_active(self, pack: str, revision: str, digest: str, source: str, loaded_at: float) -> None:
        self.policy_active_info.clear()
        self.policy_active_info.labels(pack, revision, digest, source).set(1)
        self.policy_loaded_timestamp.set(loaded_at)

    def render(self) -> bytes:
        return generate_latest(self.registry)
