"""The Templates screen against the engine simulator: `f` refreshes the selected template behind
a confirmation and shows its progress; `d` opens the drift view."""

from __future__ import annotations

import asyncio

from console.tui.app import ConsoleApp
from console.tui.screens.drift import DriftScreen
from console.tui.widgets.confirm import ConfirmDialog
from console.tui.widgets.refresh_status import RefreshStatus
from tests.plugins.upkeep import build_vms
from tests.tui.helpers import settle, table_keys


async def _wait(pilot, condition, seconds: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the console did not get there in time"
        await pilot.pause(0.05)


async def _only_alma9_cpanel(pilot, app) -> None:
    """Open Templates and filter it down to alma9-cpanel: the cursor stays on it across live
    reloads."""
    await settle(pilot)
    await pilot.press("2")
    await _wait(pilot, lambda: len(table_keys(app, "#templates")) > 5)
    await pilot.press("slash", *"alma9-cpanel", "enter")
    await _wait(pilot, lambda: len(table_keys(app, "#templates")) == 3)
    # Keys go to the table again (not into the filter) only once the filter is closed.
    await _wait(pilot, lambda: app.focused is app.screen.query_one("#templates"))
    assert app.screen.selected_template().name == "alma9-cpanel"


async def test_refresh_key_refreshes_the_selected_template_and_shows_progress(
    sim_context, engine_sim
):
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(160, 48)) as pilot:
        await _only_alma9_cpanel(pilot, app)
        await pilot.press("f")
        await _wait(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")  # no: nothing starts
        await pilot.pause()
        assert not app.screen.query_one(RefreshStatus).display
        await pilot.press("f", "y")
        status = app.screen.query_one(RefreshStatus)
        await _wait(pilot, lambda: status.display and "refresh" in str(status.render()))
        await _wait(pilot, lambda: "done" in str(status.render()), 90)
        assert "v4" in str(status.render()) and "sealed, ok" in str(status.render())
        versions = engine_sim.template_versions("alma9-cpanel")
        assert [v["version_number"] for v in versions] == [1, 2, 3, 4] and versions[-1]["sealed"]
        assert build_vms(engine_sim) == []
        await _wait(pilot, lambda: versions[-1]["id"] in table_keys(app, "#templates"))

        await pilot.press("d")
        await _wait(pilot, lambda: isinstance(app.screen, DriftScreen))
        await settle(pilot)
        assert "VMs provisioned by this console" in str(
            app.screen.query_one("#drift-state").render()
        )
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DriftScreen)


async def test_read_only_console_has_no_refresh(sim_context, engine_sim):
    sim_context.read_only = True
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("f")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
        assert len(engine_sim.template_versions("alma9-cpanel")) == 3


async def test_prune_key_confirms_with_the_reasons_and_removes_only_unused_versions(
    sim_context, engine_sim, monkeypatch
):
    from console.config import TemplateUpkeep

    catalog = sim_context.config.catalog.model_copy(
        update={"templates": (TemplateUpkeep(name="alma9-cpanel", keep_versions=1),)}
    )
    sim_context.config = sim_context.config.model_copy(update={"catalog": catalog})
    sim_context.services.config = sim_context.config
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(160, 48)) as pilot:
        await _only_alma9_cpanel(pilot, app)
        await pilot.press("x")
        await _wait(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        detail = str(app.screen.query_one("#confirm-detail").render())
        assert "alma9-cpanel v2" in detail
        assert "keep alma9-cpanel v1: the base version" in detail
        await pilot.press("y")
        await _wait(
            pilot,
            lambda: (
                [v["version_number"] for v in engine_sim.template_versions("alma9-cpanel")]
                == [1, 3]
            ),
        )


async def test_the_console_finishes_a_refresh_left_unfinished_when_it_starts(
    sim_context, engine_sim
):
    from console.flow.upkeep.refresh import RefreshRunner
    from console.store import refresh_jobs

    row = RefreshRunner(sim_context.services).plan("alma9-cpanel")
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await _wait(pilot, lambda: refresh_jobs.get(sim_context.store, row.id).state == "done", 90)
        await _wait(
            pilot,
            lambda: any(
                "template refresh of alma9-cpanel resumed: done" in note.message
                for note in app._notifications
            ),
        )
    versions = engine_sim.template_versions("alma9-cpanel")
    assert [v["version_number"] for v in versions] == [1, 2, 3, 4]
    assert build_vms(engine_sim) == []
