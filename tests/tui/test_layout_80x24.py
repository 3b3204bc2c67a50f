"""The console at 80x24 (and 160x48 where the layout differs), as the engineer sees it: what
matters stays in view, errors are never cut, no key leads nowhere. Every assertion reads the
rendered screen, not a widget's attributes."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from console.secrets import MemorySecretStore
from console.tui.app import ConsoleApp
from tests.tui.helpers import screen_text, settle

LOST_REASON = (
    "cannot reach the engine at https://engine.example.net/ovirt-engine/api: "
    "connection refused; check the URL and that the engine is up"
)


def lines(app) -> list[str]:
    return screen_text(app).splitlines()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_the_header_keeps_engine_billing_secrets_and_user_at_any_width(frozen_context, size):
    app = ConsoleApp(replace(frozen_context, secrets=MemorySecretStore()))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        reason = LOST_REASON if size[0] == 80 else "connection refused"
        app.report_engine(False, reason)
        app.report_billing(False, "WHMCS did not answer")
        await pilot.pause()
        header = lines(app)[0]
        assert "lab" in header and f"LOST: {reason[:15]}" in header, header
        assert "billing STALE" in header, header
        assert "memory" in header and ("UNSAVED" in header or "(not saved)" in header), header
        assert "tester@ci" in header, header
        if size[0] == 80:
            assert len(header.rstrip()) <= 80 and "~" in header  # the reason, cut to fit
        else:
            # Room enough: the long forms, the whole reason.
            assert "LOST: connection refused" in header and "billing STALE" in header
            assert "secrets: memory (not saved)" in header and "14:30 UTC" in header


async def test_the_queue_keeps_every_column_that_matters_at_80_columns(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = lines(app)
        heading = next(line for line in screen if line.startswith("Order"))
        assert heading.split() == [
            "Order",
            "Age",
            "Client",
            "Product",
            "Req",
            "Template",
            "Status",
            "Claim",
        ]
        row = next(line for line in screen if line.startswith("1006"))
        assert "failed" in row and "ops" in row and "win2022-plesk" in row, row
        assert all(len(line.rstrip()) <= 80 for line in screen)
        assert not any("…" in line for line in screen)  # cut with ASCII `~` only


async def test_the_queue_at_160_columns_shows_whole_values(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = lines(app)
        heading = next(line for line in screen if line.lstrip().startswith("Order"))
        assert heading.split() == [
            "Order",
            "Age",
            "Client",
            "Product",
            "Req",
            "Template",
            "Status",
            "Claimed",
            "by",
        ]
        row = next(line for line in screen if line.lstrip().startswith("1006"))
        assert "VPS Windows Plesk" in row and "ops@jump1" in row, row
        row = next(line for line in screen if line.lstrip().startswith("1004"))
        assert "Dedicated Game Server" in row and "needs_mapping" in row, row


async def test_a_failed_orders_reason_and_hint_are_whole_at_80x24(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.screen.query_one("#orders").select_key("1006")
        await pilot.pause()
        text = " ".join(line.strip() for line in lines(app))
        assert (
            "failed: Cannot run VM. There is no host that satisfies current scheduling constraints."
        ) in text
        assert "hint: free memory on cluster Default or pick the Edge cluster" in text


async def test_templates_at_80_columns_show_name_version_age_state_products(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = lines(app)
        heading = next(line for line in screen if line.lstrip().startswith("Template"))
        assert heading.split()[:6] == ["Template", "Ver", "Sealed", "State", "Products", "Base"]
        row = next(line for line in screen if "win2022-plesk" in line and "v2" in line)
        assert row.split()[:7] == [
            "win2022-plesk",
            "v2",
            "2026-02",
            "25d00",
            "ok",
            "VPS",
            "Windows",
        ], row
        assert not any("t-win-2" in line for line in screen)  # ids come last, off screen


async def test_the_filter_line_shows_what_is_typed(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.pause()
        assert "/ filter (substring; ! inverts; esc clears)" in lines(app)[1]
        await pilot.press(*"windo")
        await pilot.pause()
        line = lines(app)[1]
        assert line.strip() == "windo", line  # the text, not a border's glyphs
        assert "orders 2/6" in lines(app)[2]


async def test_finished_orders_leave_the_queue_and_d_shows_them(frozen_context):
    from console.store.models import Order

    with frozen_context.store.session() as session:
        session.get(Order, "1002").status = "done"
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not any(line.startswith("1002") for line in lines(app))
        assert "d Show done" in lines(app)[-1]
        await pilot.press("d")
        await pilot.pause()
        screen = lines(app)
        assert any(line.startswith("1002") and "done" in line for line in screen)
        assert "+done" in screen[1]
        await pilot.press("d")
        await pilot.pause()
        assert not any(line.startswith("1002") for line in lines(app))


async def test_an_empty_queue_says_to_run_orders_sync(store):
    from console.tui.context import ConsoleContext
    from tests.showcase.world import FROZEN_NOW, FixedEngine, FixedServices, make_config

    context = ConsoleContext(
        config=make_config(),
        store=store,
        services=FixedServices(FixedEngine()),
        actor="tester@ci",
        live=False,
        read_only=False,
        clock=lambda: FROZEN_NOW,
    )
    app = ConsoleApp(context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = " ".join(line.strip() for line in lines(app))
        assert "the queue is empty: run `vps-console orders sync`" in text
        assert "`orders add`" in text  # the end of the hint is not cut either


def is_plain(text: str) -> bool:
    """ASCII, or box-drawing and block glyphs (U+2500-U+259F): nothing an SSH terminal
    draws at another width."""
    return all(ord(char) < 128 or 0x2500 <= ord(char) <= 0x259F for char in text)


async def test_help_names_keys_as_typed_and_places_as_people_say_them(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "In KeyedTable" not in text and "super+" not in text
        assert "ctrl+r" in text and "Refresh" in text
        assert "In a table" in text
        assert is_plain(text)


async def test_the_command_palette_draws_no_emoji(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("colon")
        await settle(pilot)
        text = screen_text(app)
        assert "orders" in text and "templates" in text
        assert is_plain(text), [char for char in text if not is_plain(char)]


async def test_f1_opens_help_from_a_text_field_and_from_a_dialog(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", "w", "f1")
        await pilot.pause()
        assert "Keys: Orders" in screen_text(app)
        await pilot.press("escape", "escape", "3")
        await settle(pilot)
        await pilot.press("ctrl+d")  # the remove confirmation
        await pilot.pause()
        assert "REMOVE" in screen_text(app)
        await pilot.press("f1")
        await pilot.pause()
        assert "Keys: " in screen_text(app) and "Yes" in screen_text(app)


async def test_1_to_4_go_to_their_screen_even_from_provision(frozen_context):
    from console.tui.screens.provision import ProvisionScreen
    from tests.showcase.screenshots import form_quiet

    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.screen.query_one("#orders").select_key("1002")
        await pilot.press("p")
        await form_quiet(pilot)
        assert isinstance(app.screen, ProvisionScreen)
        app.screen.set_focus(None)  # digits typed in a field are the field's
        await pilot.press("4")
        await settle(pilot)
        assert "Job " in screen_text(app) and "Reason" in screen_text(app)
        await pilot.press("1")
        await settle(pilot)
        assert not isinstance(app.screen, ProvisionScreen)
        assert "orders 6  sort:age asc" in screen_text(app)


async def test_a_jobs_footer_offers_only_what_the_selected_job_allows(frozen_context):
    from datetime import timedelta

    from console.store.models import Job
    from tests.showcase.world import FROZEN_NOW

    with frozen_context.store.session() as session:
        session.add(
            Job(
                id="job-0001-done",
                order_id="1001",
                engine="lab",
                state="done",
                vm_name="vps-1001",
                attempts=1,
                created_at=FROZEN_NOW,
                updated_at=FROZEN_NOW - timedelta(minutes=1),
            )
        )
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        footers = {}
        for _ in range(3):
            footers[app.screen.selected_job().id] = lines(app)[-1]
            await pilot.press("down")
            await settle(pilot)
        assert "r Retry" in footers["job-0006-bbbb"] and "c Cancel" in footers["job-0006-bbbb"]
        assert "r Retry" not in footers["job-0005-aaaa"]
        assert "c Cancel" in footers["job-0005-aaaa"]
        assert "Retry" not in footers["job-0001-done"]
        assert "Cancel" not in footers["job-0001-done"]
        assert "a Activity" in footers["job-0001-done"]


async def test_quitting_while_this_console_runs_a_job_asks_first(frozen_context):
    import threading

    release = threading.Event()
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # A job's steps running in this process, as the resume at start runs them.
        app.run_worker(lambda: release.wait(10), thread=True, group="resume", exit_on_error=False)
        await pilot.press("ctrl+q")
        await pilot.pause()
        text = " ".join(line.strip() for line in lines(app))
        assert "Quit while this console runs a job?" in text
        assert "resume on the next start" in text
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and "Quit while" not in screen_text(app)
        release.set()
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running  # nothing running here: quits at once


async def test_a_lost_engines_reason_is_whole_on_every_list_screen_at_80x24(frozen_context):
    frozen_context.services._engine.fail = LOST_REASON
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key in ("1", "2", "3"):
            await pilot.press(key)
            await settle(pilot)
            text = " ".join(line.strip() for line in lines(app)[1:])  # below the header
            # The catalog shown from the store's copy says since when it is stale.
            stale = re.compile(r"STALE( since \d\d:\d\d)?: " + re.escape(LOST_REASON))
            assert stale.search(text), (key, text)
