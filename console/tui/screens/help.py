"""`?`: every binding of the screen underneath, grouped by where it applies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

if TYPE_CHECKING:
    from textual import getters

    from console.tui.app import ConsoleApp


# Where a binding of a focused widget applies, as the engineer would say it.
WIDGET_GROUPS = {
    "KeyedTable": "In a table",
    "DataTable": "In a table",
    "FilterInput": "In the filter line",
    "Input": "In a text field",
    "MaskedInput": "In a text field",
    "TextArea": "In a text field",
    "Select": "In a choice list",
    "SelectOverlay": "In a choice list",
}


def key_name(screen: Screen, key: str, binding) -> str | None:
    """The key as it is typed: `ctrl+r`, `?`, `/` (None for keys no terminal over SSH
    sends, like the Mac's super+)."""
    if key.startswith("super+"):
        return None
    if key.startswith("ctrl+"):
        return key
    display = screen.app.get_key_display(binding)
    return display if display and display.isascii() else key


def group_of(screen: Screen, node) -> str:
    if node is screen.app:
        return "Everywhere"
    if node is screen:
        return "This screen"
    return WIDGET_GROUPS.get(type(node).__name__, "In the focused field")


def describe_bindings(screen: Screen) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(group, [(keys, description)])] for what is active on `screen` right now."""
    groups: dict[str, dict[str, list[str]]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        display = key_name(screen, key, binding)
        if display is None:
            continue
        group = group_of(screen, active.node)
        description = binding.description or binding.action.replace("_", " ").capitalize()
        groups.setdefault(group, {}).setdefault(description, [])
        if display not in groups[group][description]:
            groups[group][description].append(display)
    order = ["This screen", "Everywhere"] + sorted(g for g in groups if g.startswith("In "))
    return [
        (group, [(" ".join(keys), description) for description, keys in groups[group].items()])
        for group in order
        if group in groups
    ]


class HelpScreen(ModalScreen):
    if TYPE_CHECKING:  # Textual types `app` as a plain App; this one runs in ConsoleApp
        app = getters.app(ConsoleApp)
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 64; max-width: 100%; height: auto; max-height: 100%;
                                  border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,question_mark,f1,q", "dismiss", "Close help", id="help.close")]

    def __init__(self, underneath: Screen) -> None:
        super().__init__()
        self.underneath = underneath
        self.groups = describe_bindings(underneath)

    def compose(self) -> ComposeResult:
        text = Text()
        title = getattr(self.underneath, "TITLE_TEXT", type(self.underneath).__name__)
        text.append(f"Keys: {title}\n", style="bold")
        for group, rows in self.groups:
            text.append(f"\n{group}\n", style="bold underline")
            for keys, description in rows:
                text.append(f"  {keys:<14}", style="bold")
                text.append(f"{description}\n")
        describe = getattr(self.app.context.secrets, "describe", None)
        if describe is not None:
            # The header names the backend; here is why it was chosen (as `doctor` says).
            text.append(f"\n{describe().status_line()}\n")
        text.append("\nesc closes this help", style="dim")
        with VerticalScroll():
            yield Static(text, id="help-text")
