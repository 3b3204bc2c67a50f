"""One labelled line of a form: label, the control, and a note that turns into the error.

Errors sit beside the field they are about, so an engineer at 80x24 sees what is wrong
without scrolling to a summary.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Label, Static

from console.tui.formatting import theme_style


class FormField(Horizontal):
    DEFAULT_CSS = """
    FormField { height: auto; min-height: 1; }
    FormField > .field-label { width: 13; padding: 0 1 0 0; color: $text-muted; }
    FormField > Input { width: 24; }
    /* a host name, SSH keys and a license key are read whole where there is room (the
       screens widen it at 120 columns); at 80 the note beside them needs the space more */
    FormField.-wide > Input { width: 31; }
    FormField > Select { width: 44; }
    FormField > .field-note { width: 1fr; padding: 0 0 0 1; max-height: 2; }
    """

    def __init__(self, label: str, control: Widget, *, note: str | Text = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.label = label
        self.control = control
        self.base_note = note
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        if hasattr(self.control, "cursor_blink"):
            # Over SSH every blink is a redraw; a steady cursor is as easy to find.
            self.control.cursor_blink = False
        # Notes show the order's values (customer data): plain text, never markup.
        yield Label(self.label, classes="field-label", markup=False)
        yield self.control
        yield Static(self.base_note, classes="field-note", markup=False)

    def _note(self) -> Static:
        return self.query_one(".field-note", Static)

    def show_error(self, message: str | None, fix: str | None = None) -> None:
        self.error = message
        if message:
            # The message fits beside the field; the fix is one hover or `?` away when long.
            text = Text(f"x {message}", style=theme_style(self.app, "error"))
            if fix and len(message) + len(fix) < 90:
                text.append(f" ({fix})", style=theme_style(self.app, "text-muted"))
            self._note().update(text)
            self._note().tooltip = fix or None
            self.add_class("-invalid")
        else:
            self.remove_class("-invalid")
            self._note().update(self.base_note)

    def show_note(self, note: str | Text) -> None:
        self.base_note = note
        if not self.error:
            self._note().update(note)
