"""One line under the template catalog: the template refresh in progress (or the last one),
its step, how far along, and on failure the reason and what to do."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from console.tui.formatting import theme_style


class RefreshStatus(Static):
    DEFAULT_CSS = """
    RefreshStatus { height: auto; max-height: 3; padding: 0 1; display: none; }
    """

    def show_refresh(self, row: Any | None, line: str | None = None) -> None:
        """`row`: a store TemplateRefresh (or None: hide); `line`: the runner's last event."""
        from console.flow.upkeep.machine import Position, progress

        if row is None:
            self.display = False
            return
        position = Position.of(row.state, row.failed_step)
        done, total = progress(position)
        style = {"done": "success", "failed": "error", "cancelled": "text-muted"}.get(
            row.state, "warning"
        )
        text = Text(f"refresh {row.id} of {row.template_name}: ")
        text.append(str(position), style=theme_style(self.app, style, bold=True))
        text.append(f"  [{'#' * done}{'.' * (total - done)}] {done}/{total}")
        if row.state == "done" and row.new_version_number:
            text.append(f"  v{row.new_version_number} ({row.new_version_name}) sealed, ok")
        elif row.state == "failed":
            text.append(f"  {row.error_message or ''}")
            if row.error_hint:
                text.append(f"\nhint: {row.error_hint}", style=theme_style(self.app, "text-muted"))
        elif line:
            text.append(f"  {line}", style=theme_style(self.app, "text-muted"))
        self.update(text)
        self.display = True
