"""The VMs view at 80x24 against the real simulators: what each refresh costs on the
engine, counted from the simulator's request log."""

from __future__ import annotations

import ovirtsdk4.types as types

from console.tui.app import ConsoleApp
from console.tui.screens.vms import VmsScreen
from tests.plugins.engine import wait_status
from tests.tui.helpers import cell_texts, settle, table_keys


async def open_vms(app, pilot) -> VmsScreen:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot, rounds=6)
    screen = app.screen
    assert isinstance(screen, VmsScreen) and len(screen.vms) == 20
    screen.follower.stats_seconds = 3600  # statistics read once stay fresh for the test
    return screen


async def refresh(pilot, screen: VmsScreen) -> None:
    screen.loop.request()
    await settle(pilot)


def engine_calls(engine_sim) -> list[tuple[str, str, dict[str, str]]]:
    # The app's own engine probe is not the view's.
    return [call for call in engine_sim.calls if call[1] != ""]


async def test_idle_refresh_is_one_events_call(sim_context, engine_sim):
    sim_context.live = False
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_vms(app, pilot)
        engine_sim.reset_calls()
        await refresh(pilot, screen)
        assert [(m, p) for m, p, _ in engine_calls(engine_sim)] == [("GET", "/events")]


async def test_vm_started_elsewhere_shows_after_one_search(sim_context, engine_sim, sdk_connection):
    sim_context.live = False
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_vms(app, pilot)
        down = next(vm for vm in screen.vms.values() if vm.status == "down")
        service = sdk_connection.system_service().vms_service().vm_service(down.id)
        service.start()
        wait_status(service, types.VmStatus.UP)
        engine_sim.reset_calls()
        await refresh(pilot, screen)
        calls = engine_calls(engine_sim)
        assert [p for _, p, _ in calls] == ["/events", "/vms"]
        assert calls[1][2]["search"] == f"id={down.id}"
        assert cell_texts(app, "#vms", down.name)[1] == "up"


async def test_statistics_only_for_rows_on_screen(sim_context, engine_sim):
    sim_context.live = False
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(80, 24)) as pilot:
        engine_sim.reset_calls()
        screen = await open_vms(app, pilot)
        # The screen's layout may still move a line or two once the first statistics are in
        # (the selected VM's detail grows, a scrollbar comes): the next refresh reads those
        # of rows that came on screen meanwhile.
        await refresh(pilot, screen)
        table = screen.query_one("#vms")
        on_screen = set(screen.visible_ids())
        assert 0 < len(on_screen) < 20  # 80x24 shows part of the list
        with_stats = [
            q for _, p, q in engine_calls(engine_sim) if "statistics" in q.get("follow", "")
        ]
        asked = {term.removeprefix("id=") for q in with_stats for term in q["search"].split(" or ")}
        # Asked for the rows on screen, and for at most the two a line or two of layout moved
        # off it since.
        top = {screen.vms[name].id for name in table.keys_in_order()[: len(on_screen) + 2]}
        assert on_screen <= asked <= top, (on_screen, asked)
        read = set(screen.stats)
        assert on_screen <= read <= top
        hidden = table.keys_in_order()[-1]
        assert cell_texts(app, "#vms", hidden)[2] == "-"  # never on screen: no statistics
        await pilot.press("G")  # the last rows come into view
        engine_sim.reset_calls()
        await refresh(pilot, screen)
        calls = engine_calls(engine_sim)
        assert [p for _, p, _ in calls] == ["/events", "/vms"]
        newly = set(screen.visible_ids()) - read
        asked = {term.removeprefix("id=") for term in calls[1][2]["search"].split(" or ")}
        assert asked == newly
        assert cell_texts(app, "#vms", hidden)[2] != "-"


async def test_a_listing_is_handed_over_in_chunks_with_sizes_for_rows_on_screen(
    sim_context, engine_sim, monkeypatch
):
    from console.flow import vm_watch
    from console.tui.screens import vms

    monkeypatch.setattr(vm_watch, "FIRST_PAGE", 5)
    monkeypatch.setattr(vms, "ROWS_PER_CHUNK", 2)
    handed: list[int] = []
    real = VmsScreen.apply

    def apply(self, update, *, show=True):
        if show:  # a chunk from the worker (its end is applied without showing)
            handed.append(len(update.rows))
        real(self, update, show=show)

    monkeypatch.setattr(VmsScreen, "apply", apply)
    sim_context.live = False
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(80, 24)) as pilot:
        engine_sim.reset_calls()
        screen = await open_vms(app, pilot)
        listings = [
            q for _, p, q in engine_calls(engine_sim) if p == "/vms" and "page" in q["search"]
        ]
        assert [q["max"] for q in listings] == ["5", "500"]
        assert all("follow" not in q for q in listings)  # no disks in the listing
        # 5 rows, then 20: in chunks of at most 2.
        assert max(handed) == 2 and sum(handed) == 25 and len(handed) >= 13
        # The layout may move a line or two once the first statistics are in: the next
        # refresh reads those of rows that came on screen meanwhile.
        await refresh(pilot, screen)
        on_screen = set(screen.visible_ids())
        table = screen.query_one("#vms")
        top = {screen.vms[name].id for name in table.keys_in_order()[: len(on_screen) + 2]}
        assert on_screen <= set(screen.stats) <= top
        for name, row in screen.vms.items():
            size = cell_texts(app, "#vms", name)[4]
            if row.id in screen.stats:  # read with the statistics
                assert not size.endswith("/-G") and row.disk_gib
            else:
                assert size.endswith("/-G")


async def test_rows_off_screen_show_and_filter_as_those_on_it(sim_context, engine_sim):
    """The view makes a row's cells when the row comes on screen, and what `/` searches when
    a filter asks: the last rows and a filter for one of them show what the engine has."""
    from tests.tui.test_layout_80x24 import lines

    sim_context.live = False
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_vms(app, pilot)
        names = table_keys(app, "#vms")
        assert names == sorted(names) and len(names) == 20
        last = screen.vms[names[-1]]
        assert names[-1] not in "\n".join(lines(app))  # below the screen
        await pilot.press("G")
        await settle(pilot)
        # Its row (its detail below the table starts with its name too).
        shown = [line for line in lines(app) if line.strip().startswith(last.name)]
        assert shown and last.status in shown[0].split(), lines(app)
        await pilot.press("slash", *last.name, "enter")
        await settle(pilot)
        assert table_keys(app, "#vms") == [last.name]
        assert "1/20 managed VMs" in "\n".join(lines(app))
