"""The queue screen on a seeded store and a fixed engine: order, filter, sort, detail,
live pane, screen jumps, help and read-only mode."""

from __future__ import annotations

import threading

from console.tui.app import ConsoleApp
from console.tui.screens.help import HelpScreen
from console.tui.screens.jobs import JobsScreen
from console.tui.screens.queue import QueueScreen
from console.tui.screens.templates import TemplatesScreen
from console.tui.screens.vms import VmsScreen
from tests.showcase.world import FixedEngine, make_config, showcase_context
from tests.tui.helpers import cell_texts, settle, table_keys


async def test_queue_lists_oldest_first_with_sla_marks_and_status_words(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert table_keys(app, "#orders") == ["1003", "1006", "1002", "1004", "1001", "1005"]
        assert cell_texts(app, "#orders", "1003")[1] == "1d02!!"  # past the 24h SLA
        assert cell_texts(app, "#orders", "1002")[1] == "5h00!"  # past the 4h warning
        assert cell_texts(app, "#orders", "1001")[1] == "30m"
        # A provisioning order shows its job's step as its status word.
        assert cell_texts(app, "#orders", "1005")[6] == "clone_wait"
        assert "ubuntu2204-plesk" in str(app.screen.query_one("#detail").render())
        assert app.engine_ok is True and "4.5.6" in app.engine_label


async def test_filter_narrows_inverts_and_clears(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"windows")
        assert table_keys(app, "#orders") == ["1006", "1001"]
        await pilot.press("enter")
        assert app.focused.id == "orders"
        await pilot.press("slash", "home", "!")
        assert table_keys(app, "#orders") == ["1003", "1002", "1004", "1005"]
        await pilot.press("escape")
        assert len(table_keys(app, "#orders")) == 6
        assert app.focused.id == "orders"


async def test_sort_cycles_columns_and_reverses(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")  # age -> client
        assert table_keys(app, "#orders")[0] == "1001"  # "Acme Hosting Ltd"
        await pilot.press("s")  # client -> product
        assert (
            cell_texts(app, "#orders", table_keys(app, "#orders")[0])[3] == "Dedicated G~"
        )  # cut at 80 columns; the detail line has it whole
        await pilot.press("s", "s")  # status -> back to age
        await pilot.press("S")
        assert table_keys(app, "#orders")[0] == "1005"  # newest first when reversed
        await pilot.press("G")
        assert app.screen.query_one("#orders").selected_key == "1003"
        await pilot.press("g")
        assert app.screen.query_one("#orders").selected_key == "1005"


async def test_refresh_keeps_cursor_on_the_same_order(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")
        assert app.screen.query_one("#orders").selected_key == "1002"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert app.screen.query_one("#orders").selected_key == "1002"


async def test_live_pane_shows_jobs_in_flight_and_failed(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert table_keys(app, "#live") == ["job:job-0005-aaaa", "job:job-0006-bbbb"]
        assert cell_texts(app, "#live", "job:job-0005-aaaa")[:4] == [
            "vps-1005",
            "clone_wait",
            "clone_wait",
            "3:00",
        ]


async def test_number_keys_jump_between_screens_and_help_lists_bindings(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for key, screen in (
            ("2", TemplatesScreen),
            ("3", VmsScreen),
            ("4", JobsScreen),
            ("1", QueueScreen),
        ):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, screen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = {description for _, rows in app.screen.groups for _, description in rows}
        assert {"Filter", "Sort", "Provision", "Refresh", "Orders", "Jobs", "Help"} <= listed
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)


async def test_read_only_hides_provisioning(frozen_context):
    frozen_context.read_only = True
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        footer_keys = {
            binding.action
            for _, binding, enabled, _ in app.screen.active_bindings.values()
            if enabled
        }
        assert "provision" not in footer_keys


async def test_lost_engine_marks_live_data_stale_and_keeps_input(frozen_context):
    frozen_context.services._engine.fail = "connection refused"
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.engine_ok is False and "LOST" in app.engine_label
        assert "STALE" in str(app.screen.query_one("#live-title").render())
        await pilot.press("slash", *"1001")  # the queue still works from the store
        assert table_keys(app, "#orders") == ["1001"]


class SlowEngine(FixedEngine):
    """list_vms blocks until released, like an engine taking its time over SSH."""

    def __init__(self):
        super().__init__()
        self.release = threading.Event()
        self.in_flight = 0
        self.most_in_flight = 0

    def list_vms(self, search=None, *, max_results=None):
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self.release.wait(10)
            return super().list_vms(search, max_results=max_results)
        finally:
            self.in_flight -= 1


async def test_a_slow_engine_never_freezes_input_and_polls_never_overlap(store):
    engine = SlowEngine()
    app = ConsoleApp(showcase_context(store, engine=engine))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        # The engine has not answered; the queue (from the store) still filters and moves.
        await pilot.press("slash", *"plesk", "enter", "down")
        assert table_keys(app, "#orders") == ["1003", "1006", "1001"]
        assert app.screen.query_one("#orders").selected_key == "1006"
        for _ in range(5):
            await pilot.press("ctrl+r")
        engine.release.set()
        await settle(pilot, rounds=5)
        assert engine.most_in_flight == 1
        # Five refreshes asked while one call was in flight: one more call, not five.
        assert engine.calls.count("list_vms") == 2


async def test_a_screen_in_the_background_stops_polling(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        queue = app.screen
        await pilot.press("3")
        await settle(pilot)
        assert queue.orders_loop.paused and queue.vms_loop.paused
        await pilot.press("1")
        await settle(pilot)
        assert not queue.orders_loop.paused


async def test_billing_failure_marks_the_header_stale(frozen_context):
    from console.billing.errors import BillingError

    def unreachable():
        raise BillingError("WHMCS did not answer", "check billing.url")

    frozen_context.config = make_config(
        billing={"kind": "whmcs", "url": "http://127.0.0.1:1", "identifier": "id"}
    )
    frozen_context.sync_billing = unreachable
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.billing_ok is False
        assert (
            app.billing_label.startswith("billing STALE") and "did not answer" in app.billing_label
        )


async def test_templates_show_the_cached_catalog_while_the_engine_is_lost(frozen_context):
    from console.flow.catalog import record_of
    from console.store.catalog import replace_catalog
    from tests.showcase.world import FIXED_TEMPLATES

    replace_catalog(frozen_context.store, "lab", [record_of(t) for t in FIXED_TEMPLATES])
    frozen_context.services._engine.fail = "connection refused"
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        assert sorted(table_keys(app, "#templates")) == sorted(t.id for t in FIXED_TEMPLATES)
        state = str(app.screen.query_one("#template-state").render())
        assert "STALE since" in state and "connection refused" in state
