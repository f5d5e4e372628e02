"""Prometheus counters for MC, on a registry owned by one app instance.

Why per-app: tests build several apps in one process; the global default
registry would refuse the second set of metric names.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

from seam.group_commit import CommitCounters


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.tokens_issued = Counter("mc_tokens_issued", "Access tokens issued", ["via"], registry=r)
        self.packs_served = Counter("mc_packs_served", "Pack bodies served (200)", ["pack"], registry=r)
        self.packs_not_modified = Counter(
            "mc_packs_not_modified", "Pack requests answered 304", ["pack"], registry=r
        )
        self.evidence_stored = Counter("mc_evidence_stored", "Evidence newly stored", ["api"], registry=r)
        self.evidence_replayed = Counter(
            "mc_evidence_replayed", "Evidence requests answered as replays", ["api"], registry=r
        )
        self.evidence_commits = CommitCounters("mc_evidence", "Evidence-store", r)  # its group commit
        self.receipts_delivered = Counter(
            "mc_receipts_delivered", "Receipts acknowledged with 2xx by the client", registry=r
        )
        self.receipts_failed = Counter(
            "mc_receipts_failed", "Receipt delivery attempts that failed", registry=r
        )
        self.receipts_given_up = Counter(
            "mc_receipts_given_up", "Receipts abandoned after the last attempt", registry=r
        )
        self.receipts_pending = Gauge("mc_receipts_pending", "Receipts awaiting delivery", registry=r)
        self.receipt_callbacks = Counter(
            "mc_receipt_callbacks",
            "Receipt callbacks sent (each carries one receipt or a batch)",
            ["form"],
            registry=r,
        )
        for form in ("single", "batch"):
            self.receipt_callbacks.labels(form)
        self.test_hooks_active = Gauge(
            "test_hooks_active", "Test-only switches active in this process (1 each).", ["hook"], registry=r
        )

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
