"""The key bar at the foot of each screen, as the terminal shows it at 80x24."""

from __future__ import annotations

import pytest

from console.tui.app import ConsoleApp
from console.tui.screens.queue import QueueScreen
from console.tui.screens.templates import TemplatesScreen
from console.tui.widgets.key_bar import KeyBar
from tests.tui.helpers import settle
from tests.tui.test_layout_80x24 import lines


def pieces(bar_line: str) -> list[str]:
    """`' / Filter  s Sort '` -> ['/ Filter', 's Sort']: the keys as drawn."""
    return [piece.strip() for piece in bar_line.split("  ") if piece.strip()]


@pytest.mark.parametrize("key", ["1", "2", "3", "4"])
async def test_the_bar_shows_whole_keys_in_the_screens_order_as_many_as_fit(frozen_context, key):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        bar = lines(app)[-1]
        offered = [
            f"{shown.display} {shown.description}"
            for shown in app.screen.query_one(KeyBar).shown_keys()
        ]
        drawn = pieces(bar)
        assert drawn, bar
        # A prefix of what the screen offers, each key whole: never a key cut at the edge.
        assert drawn == offered[: len(drawn)], (drawn, offered)
        if len(drawn) < len(offered):  # the next one would not have fitted
            assert len(bar.rstrip()) + len(offered[len(drawn)]) + 3 > 80, bar


async def test_a_click_on_a_key_presses_it(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)
        bar = lines(app)[-1]
        column = bar.index("2 Templates")
        await pilot.click(KeyBar, offset=(column + 3, 0))
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)


async def test_the_bar_follows_the_screen_shown(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        queue_bar = lines(app)[-1]
        await pilot.press("p")  # the Provision screen of the order under the cursor
        await settle(pilot)
        provision_bar = lines(app)[-1]
        assert "esc Back" in provision_bar and "p Provision" not in provision_bar, provision_bar
        await pilot.press("escape")
        await settle(pilot)
        assert lines(app)[-1] == queue_bar
