"""COS's own account of itself: /healthz."""

from __future__ import annotations

from harness.env.world import World


def cos_health(world: World) -> dict:
    answer = world.cos.health()
    assert answer.status == 200, f"/healthz answered {answer.status}: {answer.body}"
    return answer.body
