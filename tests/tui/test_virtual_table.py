"""The virtual table: only the rows on screen are made and drawn, the cursor stays on its
row by key, billing's text is shown as typed, and the keys move through it as in any table."""

from __future__ import annotations

from sqlalchemy import event
from textual.app import App, ComposeResult

from console.store.models import Order
from console.tui.app import ConsoleApp
from console.tui.data import QueueOrder
from console.tui.screens.provision import ProvisionScreen
from console.tui.screens.queue import QueueScreen
from console.tui.widgets.keyed_table import KeyedTable
from tests.tui.helpers import cell_texts, screen_text, settle, table_keys
from tests.tui.test_job_pool import until
from tests.tui.test_queue_at_scale import MANY, add_orders

COLUMNS = (("name", "Name"), ("status", "Status"), ("note", "Note"))


class TableApp(App):
    """One table filling an 80x24 screen, for the widget on its own."""

    def __init__(self, rows: list[tuple[str, tuple]]) -> None:
        super().__init__()
        self.rows = rows
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield KeyedTable(COLUMNS, id="table")

    def on_mount(self) -> None:
        table = self.query_one(KeyedTable)
        table.sync(self.rows)
        table.focus()

    def on_keyed_table_row_selected(self, message: KeyedTable.RowSelected) -> None:
        self.selected.append(message.key)


def numbered(count: int) -> list[tuple[str, tuple]]:
    return [(f"r{n:03d}", (f"row {n}", "up", "")) for n in range(count)]


async def test_a_ten_thousand_order_queue_makes_only_the_rows_on_screen(
    frozen_context, monkeypatch
):
    add_orders(frozen_context.store, MANY)
    loaded: list[str] = []  # whole SQLModel orders built from the store, ever
    event.listen(Order, "load", lambda target, context: loaded.append(target.id))
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        made: list[str] = []
        real = screen.order_cells
        monkeypatch.setattr(screen, "order_cells", lambda o, now: made.append(o.id) or real(o, now))
        await until(pilot, lambda: len(table_keys(app, "#orders")) == MANY + 6)
        await settle(pilot)
        table = screen.query_one("#orders", KeyedTable)
        height = len(table.visible_keys())
        assert 0 < height < 24
        for key in ("pagedown", "pagedown", "pagedown", "end", "pageup", "home"):
            await pilot.press(key)
            await pilot.pause()
        assert table.selected_key == table_keys(app, "#orders")[0]
        # Six screenfuls were shown: each row made a few times at most, never all of them.
        assert 0 < len(made) <= 6 * height * 3
        assert len(set(made)) <= 6 * height
        assert all(type(order) is QueueOrder for order in screen.orders.values())
        # Only the orders the cursor stopped on are read whole (for their time to live).
        assert 0 < len(loaded) <= 8


async def test_the_cursor_stays_on_its_row_through_sync_and_patch():
    app = TableApp(numbered(30))
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(KeyedTable)
        table.select_key("r017")
        await pilot.pause()
        # Rows before it go, new rows come, the order is reversed: still on r017.
        rows = [(key, cells) for key, cells in numbered(40) if key >= "r010"]
        table.sync(rows, sort_key=lambda key: key, reverse=True)
        assert table.selected_key == "r017"
        assert table.keys_in_order()[0] == "r039"
        table.patch([("r100", ("new", "down", ""))], removed=["r039", "r038"], sort_key=str)
        assert table.selected_key == "r017"
        assert "r100" in table.keys_in_order() and "r039" not in table.keys_in_order()
        assert table.visible_keys().count("r017") == 1  # scrolled to where it is
        # Its row gone, the cursor stays where it was, on a row that is there.
        table.patch([], removed=["r017"])
        assert table.selected_key is not None and table.selected_key != "r017"


async def test_the_queue_keeps_the_selected_order_through_sort_and_filter(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#orders", KeyedTable)
        table.select_key("1002")
        await pilot.press("S")  # reversed: the order moves, the cursor with it
        assert table.selected_key == "1002"
        assert table_keys(app, "#orders")[0] == "1005"
        await pilot.press("slash", *"linux", "enter")
        assert "1002" in table_keys(app, "#orders") and table.selected_key == "1002"
        assert "#1002" in str(app.screen.query_one("#detail").render())


async def test_hostile_cell_text_is_shown_as_typed():
    rows = [
        ("a", ("[/]oops", "up", "")),
        ("b", ("[bold red]x", "down", "")),
        ("c", ("\x1b[31mred\x1b]52;c;Zm9v\x07", "failed", "")),
        ("d", ("漢字の名前です漢字の名前です漢字の名前です", "up", "e\u0301te\u0301")),
    ]
    app = TableApp(rows)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "[/]oops" in text and "[bold red]x" in text
        assert "\x1b" not in text and "\x07" not in text
        assert "␛[31mred" in text  # the escape made visible, not acted on
        lines = text.splitlines()
        assert all(len(line) <= 80 for line in lines)
        strips = app.query_one(KeyedTable).render_lines(app.query_one(KeyedTable).region)
        drawn = "".join(segment.text for strip in strips for segment in strip)
        assert "\x1b" not in drawn
        assert "étè" in text or "e\u0301te\u0301" in text
        assert "漢字の名前です" in text
        # A wide name cut to its column still ends with the ASCII `~` and keeps the line.
        table = app.query_one(KeyedTable)
        table.set_columns(COLUMNS, widths={"name": 9})
        await pilot.pause()
        assert table.get_row("d")[0] == "漢字の名~"
        assert table.get_row("c")[0].startswith("␛[31mred")


async def test_page_keys_home_and_end_move_the_cursor_and_the_view():
    app = TableApp(numbered(100))
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(KeyedTable)
        await pilot.pause()
        page = len(table.visible_keys())
        assert page == 23  # 24 lines less the header
        await pilot.press("pagedown")
        assert table.selected_key == f"r{page:03d}"
        assert table.selected_key in table.visible_keys()
        await pilot.press("end")
        assert table.selected_key == "r099" and table.visible_keys()[-1] == "r099"
        await pilot.press("pageup")
        assert table.selected_key == f"r{99 - page:03d}"
        assert table.selected_key in table.visible_keys()
        await pilot.press("home")
        assert table.selected_key == "r000" and table.visible_keys()[0] == "r000"
        await pilot.press("down", "down", "up")
        assert table.selected_key == "r001"
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == ["r001"]
        await pilot.click(KeyedTable, offset=(2, 4))  # the header, then rows r000..
        await pilot.click(KeyedTable, offset=(2, 4))  # again on the cursor's row: select
        await pilot.pause()
        assert app.selected == ["r001", "r003"]


async def test_a_row_selected_in_the_queue_opens_provision(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.screen.query_one("#orders", KeyedTable).select_key("1002")
        assert cell_texts(app, "#orders", "1002")[0] == "1002"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ProvisionScreen))
        assert app.screen.order_id == "1002"
