"""The one-line header: engine and its connection, billing and its staleness, where the
secrets are kept, who, when; and under it, on every screen, a red line while something
is unsafe (TLS not verified) that no toast would keep in view.

It reads the app's connection state (set by the workers that talk to the engine and to
billing) and never talks to anything itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from console.tui.formatting import theme_style

if TYPE_CHECKING:
    from textual import getters

    from console.tui.app import ConsoleApp


class StatusHeader(Static):
    if TYPE_CHECKING:  # Textual types `app` as a plain App; this one runs in ConsoleApp
        app = getters.app(ConsoleApp)
    DEFAULT_CSS = """
    StatusHeader { dock: top; height: 1; background: $panel; color: $foreground; }
    StatusHeader.-banner { height: 2; }
    """

    def on_mount(self) -> None:
        for name in ("engine_label", "engine_ok", "billing_label", "billing_ok", "clock_text",
                     "banner_text"):
            self.watch(self.app, name, self._changed, init=False)
        self._changed()

    def _changed(self, _value=None) -> None:
        app = self.app
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(" vps-console ", style="bold")
        if app.context.read_only:
            line.append("READ-ONLY ", style=theme_style(app, "warning", bold=True))
        line.append("| ")
        line.append(app.engine_label, style=self._style(app.engine_ok))
        line.append(" | ")
        line.append(app.billing_label, style=self._style(app.billing_ok))
        secrets = getattr(app.context.secrets, "describe", None)
        if secrets is not None:
            info = secrets()
            line.append(" | ")
            line.append(f"secrets: {info.label}" + ("" if info.persistent else " (not saved)"),
                        style=None if info.persistent else theme_style(app, "warning"))
        line.append(f" | {app.context.actor} | {app.clock_text}")
        banner = app.banner_text
        self.set_class(bool(banner), "-banner")
        if banner:
            line.append("\n")
            line.append(f" {banner} ".ljust(max(self.size.width, self.app.size.width)),
                        style=theme_style(app, "error", bold=True) + Style(reverse=True))
        self.update(line)

    def on_resize(self) -> None:
        self._changed()  # the red line spans the whole width

    def _style(self, ok: bool | None):
        if ok is None:
            return theme_style(self.app, "warning")
        return theme_style(self.app, "success") if ok else theme_style(self.app, "error", bold=True)
