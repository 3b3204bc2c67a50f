"""The facade against the engine simulator: one list call for live views, our errors."""

import pytest

from console.config import EngineConfig
from console.ovirt import Engine, EngineAuthFailed, EngineNotFound, EngineUnavailable


def facade(engine_sim, password=None, url=None):
    return Engine(
        EngineConfig(name="sim", url=url or engine_sim.url, username=engine_sim.username),
        password or engine_sim.password,
    )


def test_list_vms_is_one_call_with_ips_tags_and_stats(engine_sim):
    engine = facade(engine_sim)
    engine.clusters()
    engine_sim.reset_calls()
    vms = engine.list_vms()
    assert len(engine_sim.calls) == 1 and "follow" in engine_sim.calls[0][2]
    assert "correlation_id" in engine_sim.calls[0][2]
    up = [vm for vm in vms if vm.status == "up"]
    assert up and all(vm.ips and vm.cluster for vm in up)
    engine.close()


def test_errors_are_ours_with_hints(engine_sim):
    with pytest.raises(EngineAuthFailed) as auth:
        facade(engine_sim, password="wrong").info()
    assert auth.value.hint and "password" in auth.value.hint
    with pytest.raises(EngineNotFound):
        facade(engine_sim).get_vm("00000000-0000-0000-0000-00000000dead")
    with pytest.raises(EngineUnavailable) as down:
        facade(engine_sim, url="http://127.0.0.1:9/ovirt-engine/api").info()
    assert down.value.retryable
