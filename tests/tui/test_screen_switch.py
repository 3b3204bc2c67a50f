"""Switching screens costs no stylesheet re-parse, and a theme changed while a screen was in
the background still reaches it."""

from __future__ import annotations

from textual.color import Color
from textual.css.stylesheet import Stylesheet

from console.tui.app import ConsoleApp
from console.tui.screens.jobs import JobsScreen
from console.tui.screens.vms import VmsScreen
from tests.tui.helpers import settle


async def test_screens_shown_the_first_time_and_again_reparse_no_css(frozen_context, monkeypatch):
    reparsed = []
    real = Stylesheet.reparse

    def counting(self):
        reparsed.append(1)
        return real(self)

    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        monkeypatch.setattr(Stylesheet, "reparse", counting)
        for key in ("2", "3", "4", "1", "3", "4"):
            await pilot.press(key)
            await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        assert reparsed == []


def background_hex(app) -> str:
    return Color.parse(app.theme_variables["background"]).hex.lower()


async def test_a_theme_changed_meanwhile_reaches_a_screen_in_the_background(frozen_context):
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        before = background_hex(app)
        assert before in app.export_screenshot().lower()
        await pilot.press("1")
        await settle(pilot)
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await settle(pilot)
        after = background_hex(app)
        assert after != before
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, VmsScreen)
        shown = app.export_screenshot().lower()
        assert after in shown and before not in shown
