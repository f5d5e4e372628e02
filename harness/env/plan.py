"""The run's plan, decided before the first scenario: what runs, in which mode, and what is skipped why.

Skips that depend on the backend (a scenario that stops services cannot run
where the suite owns nothing; fault scenarios need a Toxiproxy) are applied
here, once, to the parsed features — so the plan that is printed and written
to `reports/plan.json` is exactly what behave then does.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

MODES = ("standalone", "integrated")
OWNS_SERVICES_TAG = "owns-services"
FAULTS_TAG = "faults"


@dataclass(frozen=True)
class Planned:
    location: str
    name: str
    mode: str | None  # standalone | integrated | None (needs no environment)
    runs: bool
    reason: str = ""  # why it is skipped


def mode_of(tags: list[str]) -> str | None:
    """The environment a scenario needs, from its (effective) tags."""
    modes = [m for m in MODES if m in tags]
    if len(modes) > 1:
        # A scenario tagged with both runs where the richer environment is.
        return "integrated"
    return modes[0] if modes else None


def backend_skip_reason(backend: str, userdata: dict[str, str], tags: list[str]) -> str | None:
    """Why this backend cannot run a scenario with these tags, or None."""
    if backend != "external":
        return None
    if OWNS_SERVICES_TAG in tags:
        return "backend=external: the scenario stops or restarts services the suite does not own"
    if FAULTS_TAG in tags and not userdata.get("toxiproxy_url"):
        return "backend=external without -D toxiproxy_url: no way to inject faults between COS and MC"
    return None


def make(features, config, backend: str, userdata: dict[str, str]) -> list[Planned]:
    """Plan every scenario behave parsed; marks the backend's skips on the scenarios themselves."""
    planned: list[Planned] = []
    for feature in features:
        for scenario in feature.walk_scenarios():
            if not scenario.should_run(config):
                continue  # not selected (tags, names, lines): not part of this run at all
            tags = list(scenario.effective_tags)
            location = str(scenario.location)  # file:line, as behave's JSON and rerun files say it
            reason = backend_skip_reason(backend, userdata, tags)
            if reason:
                scenario.skip(reason=reason)
            planned.append(Planned(location, scenario.name, mode_of(tags), reason is None, reason or ""))
    return planned


def modes_needed(plan: list[Planned]) -> list[str]:
    return [m for m in MODES if any(p.runs and p.mode == m for p in plan)]


def describe(plan: list[Planned], backend: str) -> str:
    """A few lines for the console: counts per mode, and every skip with its reason."""
    runs = Counter(p.mode or "no environment" for p in plan if p.runs)
    skipped = [p for p in plan if not p.runs]
    per_mode = ", ".join(f"{n} {mode}" for mode, n in sorted(runs.items())) or "none"
    lines = [
        f"plan (backend={backend}): {sum(runs.values())} scenario(s) will run ({per_mode}); "
        f"{len(skipped)} skipped"
    ]
    for reason, group in _by_reason(skipped).items():
        lines.append(f"  skipped ({len(group)}): {reason}")
        lines += [f"    - {p.location} {p.name}" for p in group]
    return "\n".join(lines)


def _by_reason(skipped: list[Planned]) -> dict[str, list[Planned]]:
    grouped: dict[str, list[Planned]] = {}
    for p in skipped:
        grouped.setdefault(p.reason, []).append(p)
    return grouped


def write(plan: list[Planned], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(p) for p in plan], indent=2))
