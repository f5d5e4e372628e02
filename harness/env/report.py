"""What the Allure report shows beside pass/fail: labels, exchanges, logs, timings.

allure-behave reads labels from tags when a scenario starts, so mode and
backend labels are added as tags in `before_feature`; attachments go through
`allure.attach` while the scenario is still open (in `after_scenario`).
"""

from __future__ import annotations

import json

import allure
from allure_commons.types import AttachmentType

from harness.env.environments import COS, MC, PROXY


def label_feature(feature, backend: str) -> None:
    from harness.env.plan import mode_of

    for scenario in feature.walk_scenarios():
        mode = mode_of(scenario.effective_tags) or "none"
        for tag in (f"allure.label.mode:{mode}", f"allure.label.backend:{backend}"):
            if tag not in scenario.tags:
                scenario.tags.append(tag)


def attach_text(name: str, text: str) -> None:
    allure.attach(text, name=name, attachment_type=AttachmentType.TEXT)


def attach_json(name: str, value: object) -> None:
    allure.attach(json.dumps(value, indent=2, default=str), name=name, attachment_type=AttachmentType.JSON)


def attach_world(world, scenario) -> None:
    exchanges = world.recorder.drain()
    if exchanges:
        attach_text("HTTP exchanges (secrets redacted)", exchanges)
    for name, text in world.attachments:
        attach_text(name, text)
    if world.timings:
        attach_json("timings", world.timings)
    if getattr(scenario.status, "name", str(scenario.status)) in ("failed", "error", "hook_error"):
        for service in (COS, MC, PROXY):
            try:
                logs = world.env.control.logs(service)
            except Exception:  # noqa: BLE001 - a service this mode does not have
                continue
            if logs:
                attach_text(f"{service} log (tail)", logs)
