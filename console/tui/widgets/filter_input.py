"""The `/` filter line: substring match over a row's cells, `!` in front inverts it."""

from __future__ import annotations

from collections.abc import Iterable

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


def matches(query: str, cells: Iterable[str]) -> bool:
    query = query.strip()
    invert = query.startswith("!")
    needle = query[1:].strip().casefold() if invert else query.casefold()
    if not needle:
        return True
    found = any(needle in str(cell).casefold() for cell in cells)
    return found != invert


class FilterInput(Input):
    """Hidden until `/`; typing filters live; enter keeps the filter, esc clears it."""

    # Compact: a focused Input draws a tall border, which in a one-line box is all that
    # shows (the text being typed sits between the border's two rows).
    DEFAULT_CSS = """
    FilterInput { display: none; }
    FilterInput.-shown { display: block; }
    FilterInput.-textual-compact { padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "clear", "Clear filter", id="filter.clear"),
        Binding("enter", "keep", "Keep filter", id="filter.keep", show=False),
    ]

    class QueryChanged(Message):
        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    class Closed(Message):
        """The engineer left the filter line; focus goes back to the table."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            placeholder="/ filter (substring; ! inverts; esc clears)", compact=True, **kwargs
        )
        self.cursor_blink = False  # over SSH every blink is a redraw

    def open(self) -> None:
        self.add_class("-shown")
        self.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.QueryChanged(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()

    def action_keep(self) -> None:
        if not self.value:
            self.remove_class("-shown")
        self.post_message(self.Closed())

    def action_clear(self) -> None:
        self.value = ""
        self.remove_class("-shown")
        self.post_message(self.QueryChanged(""))
        self.post_message(self.Closed())
