"""The one-line header: engine and its connection, billing and its staleness, the license
vault's stock (a low kind marked), where the secrets are kept, who, when; and under it, on
every screen, a red line while something is unsafe (TLS not verified) that no toast would
keep in view.

It reads the app's connection state (set by the workers that talk to the engine and to
billing) and the stock the queue's poll hands it; it never talks to anything itself.
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

STOCK_LABELS = {"windows": "win", "mssql": "sql", "plesk": "plesk"}


class StatusHeader(Static):
    if TYPE_CHECKING:  # Textual types `app` as a plain App; this one runs in ConsoleApp
        app = getters.app(ConsoleApp)
    DEFAULT_CSS = """
    StatusHeader { dock: top; height: 1; background: $panel; color: $foreground; }
    StatusHeader.-banner { height: 2; }
    """

    stock: Text | None = None  # the license vault's keys in stock (the queue's poll sets it)

    def show_stock(self, available: dict[str, int], low: set[str]) -> None:
        """`keys win 14 plesk 2!`: keys left per kind the vault keeps, a low one marked."""
        text = Text("keys")
        for kind, left in available.items():
            text.append(
                f" {STOCK_LABELS.get(kind, kind)} {left}" + ("!" if kind in low else ""),
                style=theme_style(self.app, "warning", bold=True) if kind in low else None,
            )
        self.stock = text if available else None
        self._changed()

    def on_mount(self) -> None:
        for name in (
            "engine_label",
            "engine_ok",
            "billing_label",
            "billing_ok",
            "clock_text",
            "banner_text",
        ):
            self.watch(self.app, name, self._changed, init=False)
        self._changed()

    def _changed(self, _value=None) -> None:
        app = self.app
        width = self.size.width or app.size.width
        line = self._fitted(width)
        banner = app.banner_text
        self.set_class(bool(banner), "-banner")
        if banner:
            line.append("\n")
            line.append(
                f" {banner} ".ljust(max(self.size.width, self.app.size.width)),
                style=theme_style(app, "error", bold=True) + Style(reverse=True),
            )
        self.update(line)

    def _parts(self, short: bool, clock: bool) -> list[tuple[str | Text, Style | str | None]]:
        """(text, style) pieces of the line, in full or in short forms; the engine first."""
        app = self.app
        name = app.engine_name
        engine = (
            app.engine_label
            if not short
            else f"{name} connected"
            if app.engine_ok
            else f"{name} ..."
            if app.engine_ok is None
            else f"{name} LOST: {app.engine_reason}".rstrip(": ")
        )
        parts: list[tuple[str | Text, Style | str | None]] = [(engine, self._style(app.engine_ok))]
        billing = app.billing_label if not short else app.billing_short or app.billing_label
        parts.append((billing, self._style(app.billing_ok)))
        if self.stock is not None and not short:  # the first thing to go when space is short
            parts.append((self.stock, None))
        describe = getattr(app.context.secrets, "describe", None)
        if describe is not None:
            info = describe()
            saved = "" if info.persistent else (" UNSAVED" if short else " (not saved)")
            parts.append(
                (
                    f"{'sec' if short else 'secrets:'} {info.label}{saved}",
                    None if info.persistent else theme_style(app, "warning"),
                )
            )
        parts.append((str(app.context.actor), None))
        if clock:
            parts.append((app.clock_text, None))
        return parts

    def _fitted(self, width: int) -> Text:
        """The full line if it fits; else short forms, then no clock, and last the engine's
        reason cut to what is left. Engine state, billing, secrets and user@host stay."""
        app = self.app
        for short, clock in ((False, True), (True, True), (True, False)):
            parts = self._parts(short, clock)
            title = ([] if short else [("vps-console", "bold")]) + (
                [("RO" if short else "READ-ONLY", theme_style(app, "warning", bold=True))]
                if app.context.read_only
                else []
            )
            pieces = title + parts
            length = 1 + sum(len(text) for text, _ in pieces) + 3 * (len(pieces) - 1)
            if length <= width:
                break
        else:
            # Cut only the engine's reason: everything else in the line is short already.
            engine_at = len(title)
            text, style = pieces[engine_at]
            room = max(len(app.engine_name) + 7, len(text) - (length - width))
            if len(text) > room:
                pieces[engine_at] = (text[: room - 1] + "~", style)
        line = Text(no_wrap=True, overflow="crop")
        line.append(" ")
        for index, (text, style) in enumerate(pieces):
            if index:
                # "vps-console READ-ONLY" reads as one label; the rest is separated by bars.
                line.append(" " if text == "READ-ONLY" else " | ")
            line.append(text, style=style)
        return line

    def on_resize(self) -> None:
        self._changed()  # the red line spans the whole width

    def _style(self, ok: bool | None) -> Style:
        if ok is None:
            return theme_style(self.app, "warning")
        return theme_style(self.app, "success") if ok else theme_style(self.app, "error", bold=True)
