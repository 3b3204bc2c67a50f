"""Pytest fixtures for the embedded oVirt engine simulator (auto-loaded by the root conftest)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import ovirtsdk4
import ovirtsdk4.types as types
import pytest

from console.sim.engine import EngineSimulator


@pytest.fixture
def engine_sim() -> Iterator[EngineSimulator]:
    """A fresh simulator at time_scale 0.01 with 20 customer VMs, started for the test and stopped after."""
    sim = EngineSimulator(time_scale=0.01, vms=20, seed=1)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sdk_connection(engine_sim: EngineSimulator) -> Iterator[ovirtsdk4.Connection]:
    """An unmodified ovirtsdk4 Connection to ``engine_sim``; closed (with logout) after the test."""
    connection = ovirtsdk4.Connection(
        url=engine_sim.url, username=engine_sim.username, password=engine_sim.password, timeout=30
    )
    try:
        yield connection
    finally:
        connection.close()


# ---------------------------------------------------------------- helpers for engine tests
T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float = 15.0, interval: float = 0.02) -> T:
    """Poll until ``probe()`` is truthy; fail the test with the last value otherwise."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout}s (last value {value!r})")
        time.sleep(interval)
        value = probe()
    return value


def wait_status(vm_service, status: types.VmStatus, timeout: float = 15.0) -> types.Vm:
    seen: list[types.VmStatus] = []

    def probe():
        vm = vm_service.get()
        if not seen or seen[-1] != vm.status:
            seen.append(vm.status)
        return vm if vm.status == status else None

    try:
        return wait_for(probe, timeout)
    except AssertionError as exc:
        raise AssertionError(f"VM never reached {status}; statuses seen: {seen}") from exc


def new_vm(
    connection,
    name: str,
    template: str = "alma9-cpanel",
    cluster: str = "prod-a",
    clone: bool = True,
    **fields,
) -> tuple[types.Vm, object]:
    vms = connection.system_service().vms_service()
    vm = vms.add(
        types.Vm(
            name=name,
            cluster=types.Cluster(name=cluster),
            template=types.Template(name=template),
            **fields,
        ),
        clone=clone,
    )
    return vm, vms.vm_service(vm.id)


def ready_vm(connection, name: str, **kwargs) -> tuple[types.Vm, object]:
    """A new VM that has finished cloning (status down)."""
    vm, service = new_vm(connection, name, **kwargs)
    return wait_status(service, types.VmStatus.DOWN), service
