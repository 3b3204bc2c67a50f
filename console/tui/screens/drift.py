"""Drift: the VMs this console provisioned, the template version each was cloned from, and how
far behind that template's latest version it is (most behind first)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker

from console.tui.formatting import format_age, theme_style
from console.tui.polling import FINISHED
from console.tui.widgets.header import StatusHeader
from console.tui.widgets.key_bar import KeyBar
from console.tui.widgets.keyed_table import KeyedTable

if TYPE_CHECKING:
    from textual import getters

    from console.tui.app import ConsoleApp

COLUMNS = (
    ("vm", "VM"),
    ("order", "Order"),
    ("status", "Status"),
    ("template", "Template"),
    ("from", "From"),
    ("latest", "Latest"),
    ("behind", "Behind"),
)


def behind_cell(app, plain: str) -> Text:
    """How far behind, in colour: unknown muted, up to date green, behind amber."""
    variable = {"?": "text-muted", "up to date": "success"}.get(plain, "warning")
    return Text(plain, style=theme_style(app, variable))


class DriftScreen(Screen):
    if TYPE_CHECKING:  # Textual types `app` as a plain App; this one runs in ConsoleApp
        app = getters.app(ConsoleApp)
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="drift.back"),
        Binding("ctrl+r", "reload", "Refresh", id="drift.refresh"),
    ]
    DEFAULT_CSS = """
    DriftScreen #drift { height: 1fr; }
    DriftScreen #drift-state { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, rows: list[Any] | None = None) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static("asking the engine which version each VM came from...", id="drift-state")
        yield KeyedTable(COLUMNS, id="drift", styles={"behind": behind_cell})
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#drift").focus()
        if self.rows is None:
            self.load()
        else:
            self.show()

    def action_reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="drift", exit_on_error=False)
    def load(self) -> list[Any]:
        from console.flow.upkeep.drift import drift

        context = self.app.context
        return drift(context.config, context.services.engine())

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state not in FINISHED or event.worker.group != "drift":
            return
        if event.worker.error is not None:
            message = getattr(event.worker.error, "message", str(event.worker.error))
            self.query_one("#drift-state", Static).update(
                Text(f"STALE: {message}", style=theme_style(self.app, "error"))
            )
            return
        self.rows = list(event.worker.result or [])
        self.show()

    def show(self) -> None:
        now = self.app.context.now()
        table_rows = []
        for row in self.rows or []:
            if row.behind is None:
                behind = "?"
            elif row.behind == 0:
                behind = "up to date"
            else:
                behind = f"{row.behind} behind, {row.days_behind}d"
            table_rows.append(
                (
                    row.vm,
                    (
                        row.vm,
                        row.order_id,
                        row.status,
                        row.template or "?",
                        f"v{row.version or '?'} ({format_age(row.sealed_at, now)})",
                        f"v{row.latest_version or '?'}",
                        behind,
                    ),
                )
            )
        self.query_one("#drift", KeyedTable).sync(table_rows)
        behind_count = sum(1 for r in self.rows or [] if r.behind)
        self.query_one("#drift-state", Static).update(
            f"{len(self.rows or [])} VMs provisioned by this console, {behind_count} behind their "
            "template's latest version (refresh a template with f on Templates)"
        )
