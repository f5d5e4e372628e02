"""COS's /metrics as data: scrape once, read a series, compare two scrapes.

Fault scenarios judge COS by what it counts (retries, replays, failed polls,
how long a poll took), not by what it logs. A `Scrape` is one reading of the
Prometheus text; `delta` is what changed between two readings, so scenarios
sharing one COS over a whole run only ever look at their own increase.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from harness.env.world import World

Series = tuple[str, frozenset[tuple[str, str]]]


@dataclass(frozen=True)
class Scrape:
    values: dict[Series, float]

    def total(self, name: str, **labels: str) -> float:
        """Sum of every sample called `name` whose labels include `labels` (0 if none)."""
        wanted = set(labels.items())
        return sum(v for (n, lbls), v in self.values.items() if n == name and wanted <= lbls)

    def by_label(self, name: str, label: str) -> dict[str, float]:
        """{label value: value} for a labelled series, e.g. retries by reason."""
        out: dict[str, float] = {}
        for (n, lbls), v in self.values.items():
            if n == name:
                key = dict(lbls).get(label, "")
                out[key] = out.get(key, 0.0) + v
        return out


def parse(text: str) -> Scrape:
    values: dict[Series, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, frozenset(sample.labels.items()))] = float(sample.value)
    return Scrape(values)


def scrape(world: World) -> Scrape:
    text = world.cos.metrics_text()
    assert text, "COS's /metrics did not answer"
    return parse(text)


def delta(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.total(name, **labels) - before.total(name, **labels)


def delta_by_label(before: Scrape, after: Scrape, name: str, label: str) -> dict[str, float]:
    """Increases per label value (values that did not change are left out)."""
    b, a = before.by_label(name, label), after.by_label(name, label)
    return {k: a[k] - b.get(k, 0.0) for k in a if a[k] - b.get(k, 0.0)}
