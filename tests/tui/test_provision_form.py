"""The provision form before launch: prefill from order + mapping, inline validation,
order values marked when changed, license format check on a whole-key paste, plan diff."""

from __future__ import annotations

from textual import events

from console.store.claims import claim_order
from console.tui.app import ConsoleApp
from console.tui.screens.provision import ProvisionScreen
from console.tui.screens.queue import QueueScreen
from tests.tui.helpers import note_of, settle

GOOD_WINDOWS_KEY = "vk7jg-nphtm-c97jm-9mpgt-3v66t"  # pasted lower case, normalised on launch


async def open_order(pilot, order_id: str) -> ProvisionScreen:
    app = pilot.app
    await settle(pilot)
    app.screen.query_one("#orders").select_key(order_id)
    await pilot.press("p")
    await settle(pilot, rounds=4)
    await pilot.pause(0.5)  # the preflight starts after a short quiet period
    await settle(pilot)
    assert isinstance(app.screen, ProvisionScreen)
    return app.screen


async def test_form_is_prefilled_and_focus_waits_in_the_first_key_field(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_order(pilot, "1001")
        assert screen.query_one("#cpus").value == "2"
        assert screen.query_one("#memory").value == "4G"
        assert screen.query_one("#disk").value == "100G"
        assert screen.query_one("#hostname").value == "1001.vps.example.net"
        assert screen.query_one("#template").value == ("win2022-plesk", 2)
        assert screen.license_kinds == ("windows", "plesk")
        assert app.focused.id == "license-windows"
        assert app.focused.password  # masked
        assert note_of(app, "memory") == "order: 4G"
        # The claim is recorded for this engineer.
        assert claim_order(frozen_context.store, "1001", "someone@else").won is False


async def test_changed_ram_is_marked_and_shown_in_the_plan_diff(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_order(pilot, "1001")
        screen.query_one("#memory").focus()
        screen.query_one("#memory").value = ""
        await pilot.press(*"8G")
        await pilot.pause(0.6)
        await settle(pilot)
        assert screen.draft.plan.memory_mib == 8192
        assert "changed (order: 4G)" in note_of(app, "memory")
        assert "~ RAM 4GiB -> 8GiB (changed from the order)" in str(
            screen.query_one("#preflight").render()
        )


async def test_invalid_values_are_shown_beside_their_fields_and_block_launch(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_order(pilot, "1001")
        screen.query_one("#memory").value = "lots"
        screen.query_one("#disk").value = "20G"  # below the template's 60 GiB
        screen.query_one("#hostname").value = "bad_host!"
        await pilot.pause()
        assert "x 'lots' is not a size" in note_of(app, "memory")
        assert "smaller than the template's 60 GiB" in note_of(app, "disk")
        assert note_of(app, "hostname").startswith("x ")
        screen.query_one("#license-windows").focus()
        await pilot.press(*"not-a-key")
        assert "not a Windows product key" in note_of(app, "license-windows")
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert screen.phase == "editing"
        assert app.focused.id == "memory"  # the first field to fix


async def test_a_pasted_windows_key_is_accepted_whole(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_order(pilot, "1001")
        app.focused.post_message(events.Paste(GOOD_WINDOWS_KEY))
        await pilot.pause()
        assert screen.query_one("#license-windows").value == GOOD_WINDOWS_KEY
        assert note_of(app, "license-windows") == "ok"


async def test_escape_goes_back_to_the_queue(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_order(pilot, "1002")
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)


async def test_an_order_claimed_by_someone_else_does_not_open(frozen_context):
    claim_order(frozen_context.store, "1002", "other@jump2")
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.screen.query_one("#orders").select_key("1002")
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)


async def test_a_launch_shows_at_once_as_under_way_with_its_time_ticking(frozen_context):
    from datetime import timedelta

    from tests.plugins.tui import FROZEN_NOW

    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_order(pilot, "1002")
        screen.show_run_pane()  # what ctrl+l does before the launch worker even starts
        await pilot.pause()

        def steps() -> str:
            return str(screen.query_one("#steps").render())

        assert screen.phase == "running"
        assert "[>] planned      checks, claim, secrets 0:00" in steps()
        frozen_context.clock = lambda: FROZEN_NOW + timedelta(seconds=7)
        for _ in range(100):  # the clock ticks every second; give it a few
            if "0:07" in steps():
                break
            await pilot.pause(0.05)
        assert "[>] planned      checks, claim, secrets 0:07" in steps()
