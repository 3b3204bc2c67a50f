"""Pytest fixtures for the embedded oVirt engine simulator (auto-loaded by the root conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import ovirtsdk4
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
    connection = ovirtsdk4.Connection(url=engine_sim.url, username=engine_sim.username,
                                      password=engine_sim.password, timeout=30)
    try:
        yield connection
    finally:
        connection.close()
