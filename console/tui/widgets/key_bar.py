"""The bar of keys at the foot of every screen: what the screen offers now, in one line.

Textual's Footer mounts one widget per key and restyles each of them twice whenever the
screen's bindings change: on every switch of screen, and on screens whose keys follow the
cursor (a job's Retry, Cancel). That froze the loop for tens of milliseconds each time. This
bar draws the same keys as one line of text and redraws it when the bindings change.

Keys are shown whole, in the screen's order, as many as fit; help (`?`, f1) lists them all.
A click on a key presses it, as on Textual's Footer.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


class ShownKey(NamedTuple):
    key: str  # as bound: what a click presses
    display: str  # as shown: `^r`, `esc`
    description: str
    enabled: bool


class KeyBar(Widget):
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyBar > .key-bar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .key-bar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    """
    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description"}

    def __init__(self) -> None:
        super().__init__()
        self._spans: list[tuple[int, int, str]] = []  # (first cell, end cell, key) as drawn

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if screen is self.screen:
            self.refresh()

    def shown_keys(self) -> list[ShownKey]:
        """The keys of the screen's active bindings that are shown, one per action (the
        first bound), in the screen's order."""
        actions: set[str] = set()
        shown = []
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in actions:
                continue
            actions.add(binding.action)
            shown.append(
                ShownKey(
                    binding.key, self.app.get_key_display(binding), binding.description, enabled
                )
            )
        return shown

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        dim = Style(dim=True)
        text = Text(no_wrap=True, overflow="crop", end="")
        spans = []
        width = self.size.width
        for shown in self.shown_keys():
            key_part, description_part = f" {shown.display} ", f"{shown.description} "
            start = text.cell_len
            if start + len(key_part) + len(description_part) > width:
                break  # whole keys only: a key cut in half tells nothing
            text.append(key_part, key_style if shown.enabled else key_style + dim)
            text.append(
                description_part, description_style if shown.enabled else description_style + dim
            )
            spans.append((start, text.cell_len, shown.key))
        self._spans = spans
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
