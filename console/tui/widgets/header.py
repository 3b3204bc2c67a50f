"""The one-line header: engine and its connection, billing and its staleness, the license
vault's stock (a low kind marked), where the secrets are kept, who, when; and under it, on
every screen, a red line while something is unsafe (TLS not verified) that no toast would
keep in view.

It reads the app's connection state (set by the workers that talk to the engine and to
billing) and the stock the queue's poll hands it; it never talks to anything itself.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from console.tui.formatting import theme_style

STOCK_LABELS = {"windows": "win", "mssql": "sql", "plesk": "plesk"}


class StatusHeader(Static):
    DEFAULT_CSS = """
    StatusHeader { dock: top; height: 1; background: $panel; color: $foreground; }
    StatusHeader.-banner { height: 2; }
    """

    stock: Text | None = None  # the license vault's keys in stock (the queue's poll sets it)

    def show_stock(self, available: dict[str, int], low: set[str]) -> None:
        """`keys win 14 plesk 2!`: keys left per kind the vault keeps, a low one marked."""
        text = Text("keys") if available else None
        for kind, left in available.items():
            text.append(f" {STOCK_LABELS.get(kind, kind)} {left}" + ("!" if kind in low else ""),
                        style=theme_style(self.app, "warning", bold=True) if kind in low else None)
        self.stock = text
        self._changed()

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
        if self.stock is not None:
            line.append(" | ")
            line.append(self.stock)
        secrets = getattr(app.context.secrets, "describe", None)
        if secrets is not None:
            info = secrets()
            line.append(" | ")
            line.append(f"secrets: {info.name}" + ("" if info.persistent else " (not saved)"),
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
