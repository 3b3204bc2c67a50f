"""What the Templates, VMs and Jobs screens share: a live table fed by a poll loop, a
filter over it, jumps to its ends, and no polling while the screen is out of sight."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.screen import Screen

from console.tui.widgets.filter_input import FilterInput
from console.tui.widgets.keyed_table import KeyedTable

if TYPE_CHECKING:
    from textual import getters

    from console.tui.app import ConsoleApp
    from console.tui.polling import PollLoop


class ListScreen(Screen):
    """Subclasses set TABLE_ID, create `self.loop` (a PollLoop) on mount, and `show()`."""

    if TYPE_CHECKING:  # Textual types `app` as a plain App; this one runs in ConsoleApp
        app = getters.app(ConsoleApp)
        loop: PollLoop

    TABLE_ID = ""
    query_text = ""
    paused = False  # the engineer's `Z`; a hidden screen pauses without touching it

    def show(self) -> None:  # pragma: no cover - every subclass draws its own table
        raise NotImplementedError

    @property
    def table(self) -> KeyedTable:
        return self.query_one(f"#{self.TABLE_ID}", KeyedTable)

    @on(FilterInput.QueryChanged)
    def _filter(self, event: FilterInput.QueryChanged) -> None:
        self.query_text = event.query
        self.show()

    @on(FilterInput.Closed)
    def _filter_done(self) -> None:
        self.table.focus()

    def show_filter(self, text: str) -> None:
        """Open the screen filtered (the palette's "go to ...")."""
        box = self.query_one("#filter", FilterInput)
        box.value = text
        box.add_class("-shown")
        self.query_text = text
        self.show()

    def action_filter(self) -> None:
        self.query_one("#filter", FilterInput).open()

    def action_refresh(self) -> None:
        self.loop.request()

    # A screen in the background stops polling: its pane is not on anyone's screen.
    def on_screen_suspend(self) -> None:
        self.loop.pause(True)

    def on_screen_resume(self) -> None:
        if hasattr(self, "loop") and not self.paused:
            self.loop.pause(False)

    def action_top(self) -> None:
        self.table.move_cursor(row=0)

    def action_bottom(self) -> None:
        self.table.move_cursor(row=max(0, self.table.row_count - 1))
