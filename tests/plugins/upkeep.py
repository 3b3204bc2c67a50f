"""Template upkeep fixtures: a refresh runner on the flow services, with fast waits."""

from __future__ import annotations

import pytest

from console.flow.upkeep.refresh import RefreshRunner
from tests.plugins.flow import FAST


@pytest.fixture
def refresher(flow_services):
    """A RefreshRunner whose waits match the simulator at time_scale 0.01."""
    return RefreshRunner(flow_services, timing=FAST, time_scale=0.01)


def build_vms(engine_sim) -> list[str]:
    with engine_sim.world.lock:
        return sorted(
            vm.name for vm in engine_sim.world.vms.values() if vm.name.startswith("tpl-build-")
        )
