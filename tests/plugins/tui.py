"""Console (TUI) fixtures: a frozen clock, a seeded queue, a fixed engine for snapshots,
and a context factory pointing the console at the simulators."""

from __future__ import annotations

import pytest

from tests.showcase.world import (  # noqa: F401
    FIXED_TEMPLATES,
    FIXED_VMS,
    FROZEN_NOW,
    FixedEngine,
    FixedServices,
    make_config,
    seed_orders,
    showcase_context,
)


@pytest.fixture
def frozen_context(store):
    """A console context on a seeded store, a fixed engine and a frozen clock (no polling)."""
    return showcase_context(store)


@pytest.fixture
def sim_context(engine_sim, whmcs_sim, store, tmp_path, monkeypatch):
    """The real console wiring (Services, Runner, billing sync) against both simulators,
    with the simulated pending orders already pulled into the store."""
    from console.billing.sync import sync_orders
    from console.commands.demo import demo_config, demo_secrets
    from console.tui.launch import build_context

    monkeypatch.setenv("VPS_CONSOLE_FLOW_TIME_SCALE", "0.01")
    config = demo_config(
        engine_sim.url,
        whmcs_sim.url,
        whmcs_sim.identifier,
        f"sqlite:///{tmp_path / 'console.db'}",
        refresh_seconds=1.0,
    )
    context = build_context(config, store, demo_secrets(engine_sim.password, whmcs_sim.secret))
    sync_orders(store, context.services.billing(), config.catalog, actor=context.actor)
    yield context
    context.services.close()
