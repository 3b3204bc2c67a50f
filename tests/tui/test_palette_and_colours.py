"""Command palette "go to", the 16-colour theme and NO_COLOR."""

from __future__ import annotations

from rich.color import ColorType

from console.tui.app import ConsoleApp
from console.tui.formatting import status_text
from console.tui.screens.queue import QueueScreen
from console.tui.screens.templates import TemplatesScreen
from console.tui.screens.vms import VmsScreen
from tests.showcase.world import make_config
from tests.tui.helpers import settle, table_keys


async def test_palette_goes_to_an_order_and_to_a_vm(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"linux", "enter")  # 1001 is hidden by this filter
        await pilot.press("colon", *"order 1001")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        assert app.screen.query_one("#orders").selected_key == "1001"
        assert "1001" in table_keys(app, "#orders")
        await pilot.press("colon", *"vm vps-903")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, VmsScreen)
        assert table_keys(app, "#vms") == ["vps-903"]


async def test_palette_goes_to_a_template(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2", "1")  # the catalog is read once; the palette offers it after
        await settle(pilot)
        await pilot.press("colon", *"template ubuntu2204-plesk")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        assert table_keys(app, "#templates") == ["t-ubu-1"]


async def test_statuses_use_the_terminal_16_colours_in_the_ansi_theme(frozen_context):
    frozen_context.config = make_config(ui={"theme": "ansi-dark", "refresh_seconds": 5})
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "ansi-dark"
        for word in ("up", "failed", "cloning"):
            text = status_text(app, word)
            assert text.plain == word
            assert text.style.color.type in (ColorType.STANDARD, ColorType.DEFAULT)


async def test_no_color_keeps_every_status_as_a_word(frozen_context, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.no_color
        # Stripped: at 80 columns each cell carries its own one-space gap.
        table = app.screen.query_one("#orders")
        statuses = [table.get_row(key)[6].strip() for key in table.keys_in_order()]
        assert sorted(statuses) == ["clone_wait", "failed", "needs_map~", "new", "new", "new"]


async def test_an_unknown_theme_is_named_with_the_themes_there_are(frozen_context):
    frozen_context.config = make_config(ui={"theme": "textual-ansi", "refresh_seconds": 5})
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert any(
            "'textual-ansi' is not a theme here" in m and "ansi-dark" in m for m in messages
        ), messages
