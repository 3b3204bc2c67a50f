"""The queue's live pane: the jobs in flight and the recent ones, each with its VM's status,
CPU, RAM and address as the engine last said."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from console.store.models import Job
from console.store.states import UNFINISHED_JOB_STATES, JobState
from console.tui.formatting import format_elapsed, format_percent, status_text, theme_style
from console.tui.widgets.keyed_table import KeyedTable

if TYPE_CHECKING:
    from textual import getters

    from console.tui.app import ConsoleApp

LIVE_COLUMNS = (
    ("name", "VM / job"),
    ("status", "Status"),
    ("step", "Step"),
    ("elapsed", "Elapsed"),
    ("cpu", "CPU"),
    ("ram", "RAM"),
    ("ip", "IP"),
)


class LivePane(Vertical):
    if TYPE_CHECKING:  # Textual types `app` as a plain App; this one runs in ConsoleApp
        app = getters.app(ConsoleApp)

    def compose(self) -> ComposeResult:
        yield Static("live: jobs in flight and recent VMs", id="live-title")
        yield KeyedTable(LIVE_COLUMNS, id="live", styles={"status": status_text})

    def show(
        self,
        jobs: list[Job],
        vms: dict[str, Any],
        *,
        error: str | None,
        read_at: datetime | None,
        paused: bool,
    ) -> None:
        """`jobs` in order, with what `vms` (by name) says of theirs; `error` (the engine's,
        since `read_at`) marks the VM columns stale."""
        now = self.app.context.now()
        rows: list[tuple[str, tuple]] = []
        active = [job for job in jobs if job.state in UNFINISHED_JOB_STATES]
        for job in jobs:
            vm = vms.get(job.vm_name or "")
            elapsed = (now - job.created_at).total_seconds() if job.created_at else None
            ips = (vm.ips if vm is not None else None) or job.ips or []
            status = vm.status if vm is not None and job.state == JobState.DONE else job.state
            rows.append(
                (
                    f"job:{job.id}",
                    (
                        job.vm_name or f"order {job.order_id}",
                        str(status),
                        job.failed_step or ("" if job.state == JobState.DONE else job.state),
                        format_elapsed(elapsed) if job.state in UNFINISHED_JOB_STATES else "",
                        format_percent(getattr(vm, "cpu_percent", None)) if vm is not None else "-",
                        format_percent(getattr(vm, "memory_percent", None))
                        if vm is not None
                        else "-",
                        ips[0] if ips else "",
                    ),
                )
            )
        self.query_one("#live", KeyedTable).sync(rows)
        caption = Text(f"live: {len(active)} in flight, {len(jobs) - len(active)} recent")
        if error:
            since = f" since {read_at:%H:%M}" if read_at else ""
            caption.append(f"  STALE{since}: {error}", style=theme_style(self.app, "error"))
        elif paused:
            caption.append("  PAUSED (Z resumes)", style=theme_style(self.app, "warning"))
        self.query_one("#live-title", Static).update(caption)
