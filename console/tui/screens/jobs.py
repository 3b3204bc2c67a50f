"""Jobs and activity: every job with its steps and events, failed ones first with the
engine's reason and our hint; retry and cancel; and the audit trail (who did what, when)."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static
from textual.worker import Worker

from console.store.models import Job
from console.store.states import UNFINISHED_JOB_STATES, JobState
from console.tui import data
from console.tui.errors import notify_error
from console.tui.formatting import format_age, status_text, theme_style
from console.tui.polling import FINISHED, PollLoop
from console.tui.progress import JobProgress
from console.tui.screens.listing import ListScreen
from console.tui.widgets.confirm import ConfirmDialog
from console.tui.widgets.filter_input import FilterInput, matches
from console.tui.widgets.header import StatusHeader
from console.tui.widgets.key_bar import KeyBar
from console.tui.widgets.keyed_table import KeyedTable

COLUMNS = (
    ("job", "Job"),
    ("order", "Order"),
    ("state", "State"),
    ("step", "Step"),
    ("tries", "Try"),
    ("updated", "Updated"),
    ("reason", "Reason"),
)
RETRYABLE = (JobState.FAILED,)
# Not at handover: from the first write to billing the handover finishes, whatever is asked.
CANCELLABLE = (
    *(state for state in UNFINISHED_JOB_STATES if state != JobState.HANDOVER),
    JobState.READY_FOR_ENGINEER,  # a pre-clone: cancelling removes the VM it made
    JobState.FAILED,
)
EVENT_LINES = 40
AUDIT_LINES = 200


class JobsScreen(ListScreen):
    TABLE_ID = "jobs"
    TITLE_TEXT = "Jobs / Activity"
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="jobs.filter"),
        Binding("r", "retry", "Retry", id="jobs.retry"),
        Binding("e", "edit_retry", "Edit & retry", id="jobs.edit_retry"),
        Binding("c", "cancel_job", "Cancel", id="jobs.cancel"),
        Binding("ctrl+d", "cancel_job", "Cancel", id="jobs.cancel_destructive", show=False),
        Binding("a", "toggle_activity", "Activity", id="jobs.activity"),
        Binding("ctrl+r", "refresh", "Refresh", id="jobs.refresh"),
        Binding("g", "top", "Top", id="jobs.top", show=False),
        Binding("G", "bottom", "Bottom", id="jobs.bottom", show=False),
    ]
    DEFAULT_CSS = """
    JobsScreen #jobs { height: 1fr; }
    JobsScreen #job-detail-box { height: 1fr; max-height: 16; border-top: solid $primary-muted; }
    JobsScreen.-short #job-detail-box { max-height: 8; }
    JobsScreen #job-detail { height: auto; padding: 0 1; }
    JobsScreen #job-detail.-activity { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, Job] = {}
        self.events: list[Any] = []
        self.audit: list[Any] = []
        self.showing_activity = False
        self.query_text = ""

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield FilterInput(id="filter")
        yield KeyedTable(COLUMNS, id="jobs", styles={"state": status_text})
        with Vertical(id="job-detail-box"):
            yield Static("no job selected", id="job-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        context = self.app.context
        self.loop = PollLoop(self, self.load_jobs, context.refresh_seconds, live=context.live)
        self.loop.request()
        self.app.progress.listen(self)
        self.query_one("#jobs").focus()

    def on_unmount(self) -> None:
        self.app.progress.forget(self)

    @work(thread=True, exclusive=True, group="jobs", exit_on_error=False)
    def load_jobs(self) -> tuple[list[Job], list[Any], list[Any]]:
        store = self.app.context.store
        return (
            data.all_jobs(store),
            data.job_events(store, limit=400),
            data.audit_entries(store, limit=AUDIT_LINES),
        )

    @work(exclusive=True, group="job-action", exit_on_error=False)
    async def run_job_action(self, action: str, job_id: str) -> str:
        runner = self.app.progress.runner
        if action == "retry":
            # Runs it from the failed step, on the job pool.
            job = await self.app.run_job(runner.retry, job_id)
            return f"job {job_id[:8]}: {job.state}"
        # A cancel is short and must not queue behind running jobs.
        await asyncio.to_thread(runner.cancel, job_id)
        return f"job {job_id[:8]}: cancelled"

    def on_job_progress(self, message: JobProgress) -> None:
        self.loop.request()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state not in FINISHED:
            return
        worker = event.worker
        if worker.group == "job-action":
            if worker.error is not None:
                notify_error(self, worker.error)
            elif worker.result:
                self.notify(worker.result)
            self.loop.request()
            return
        if not self.loop.owns(worker):
            return
        if worker.result is not None:
            jobs, events, audit = worker.result
            self.jobs = {job.id: job for job in jobs}
            self.events = events
            self.audit = audit
            self.show()
        elif worker.error is not None:
            notify_error(self, worker.error, title="cannot read jobs")
        self.loop.finished()

    def show(self) -> None:
        now = self.app.context.now()
        rows = []
        for job in self.jobs.values():
            reason = job.error_message or ""
            cells = (
                job.id[:8],
                job.order_id,
                str(job.state),
                job.failed_step or "",
                str(job.attempts),
                format_age(job.updated_at, now),
                reason[:60],
            )
            if matches(
                self.query_text, (job.id, job.order_id, job.state, reason, job.vm_name or "")
            ):
                rows.append((job.id, cells))
        table = self.query_one("#jobs", KeyedTable)
        table.sync(rows)
        self.refresh_bindings()
        failed = sum(1 for job in self.jobs.values() if job.state == JobState.FAILED)
        table.border_title = f"jobs {len(rows)}, failed {failed}"
        self.show_detail()

    def selected_job(self) -> Job | None:
        key = self.query_one("#jobs", KeyedTable).selected_key
        return self.jobs.get(key) if key else None

    def show_detail(self) -> None:
        if self.showing_activity:
            self.show_activity()
            return
        self.query_one("#job-detail-box").border_title = "job"
        job = self.selected_job()
        detail = self.query_one("#job-detail", Static)
        if job is None:
            detail.update(
                Text(
                    f"no job matches {self.query_text!r} (/ then esc clears the filter)"
                    if self.query_text and self.jobs
                    else "no jobs yet: press 1, pick an order, press p"
                )
            )
            return
        text = Text()
        text.append(f"job {job.id}  order {job.order_id}  vm {job.vm_name or '-'}  ")
        text.append_text(status_text(self.app, job.state))
        if job.ips:
            text.append(f"  ip {', '.join(job.ips)}")
        if job.error_message:
            text.append(f"\nreason: {job.error_message}", style=theme_style(self.app, "error"))
        if job.error_hint:
            text.append(f"\nhint: {job.error_hint}")
        if job.state in RETRYABLE:
            text.append(
                "\nr retries from the failed step, c cancels (removes only a VM this job created)",
                style=theme_style(self.app, "text-muted"),
            )
        events = [event for event in self.events if event.job_id == job.id][:EVENT_LINES]
        for event in reversed(events):
            text.append(
                f"\n{event.at:%H:%M:%S} {event.kind:<13} {event.step or '':<12} {event.message}"
            )
        detail.update(text)

    def show_activity(self) -> None:
        """The audit trail, newest first, narrowed by the same filter as the jobs."""
        box = self.query_one("#job-detail-box")
        entries = [
            entry
            for entry in self.audit
            if matches(
                self.query_text,
                (
                    entry.step or "",
                    entry.actor,
                    entry.order_id or "",
                    entry.job_id or "",
                    entry.message,
                ),
            )
        ]
        box.border_title = f"activity {len(entries)} (a: back to the job)"
        if not entries:
            self.query_one("#job-detail", Static).update("no recorded actions yet")
            return
        now = self.app.context.now()
        muted = theme_style(self.app, "text-muted")
        actor_width = min(18, max(len(entry.actor) for entry in entries))
        text = Text()
        for index, entry in enumerate(entries):
            if index:
                text.append("\n")
            text.append(f"{format_age(entry.at, now):>4} {entry.at:%H:%M} ", style=muted)
            text.append(f"{entry.actor[:actor_width]:<{actor_width}} ")
            text.append(f"{entry.step or '':<17} ", style="bold")
            where = " ".join(
                part
                for part in (
                    f"#{entry.order_id}" if entry.order_id else "",
                    entry.job_id[:8] if entry.job_id else "",
                )
                if part
            )
            text.append(f"{where:<14} {entry.message}")
        self.query_one("#job-detail", Static).update(text)

    def action_toggle_activity(self) -> None:
        self.showing_activity = not self.showing_activity
        # One line per action, cut at the screen's edge: the trail is read down, not across.
        self.query_one("#job-detail").set_class(self.showing_activity, "-activity")
        self.show_detail()

    @on(KeyedTable.RowHighlighted, "#jobs")
    def _highlighted(self) -> None:
        self.show_detail()
        self.refresh_bindings()  # retry and cancel come and go with the job's state

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Retry and cancel are offered only where they apply: never in a read-only
        console, retry on a failed job, cancel on one still cancellable (False hides the
        key from the footer and help)."""
        if action in ("retry", "edit_retry", "cancel_job"):
            if self.app.context.read_only:
                return None
            job = self.selected_job() if self.is_mounted else None
            wanted = CANCELLABLE if action == "cancel_job" else RETRYABLE
            if job is None or job.state not in wanted:
                return False
        return True

    def action_retry(self) -> None:
        job = self.selected_job()
        if job is None or job.state not in RETRYABLE:
            self.notify("only a failed job can be retried", severity="warning")
            return
        self.run_job_action("retry", job.id)
        self.notify(f"retrying job {job.id[:8]} from {job.failed_step or 'its last step'}")

    def action_edit_retry(self) -> None:
        """The Provision form on the failed job's plan (claimed like `p` on its order)."""
        job = self.selected_job()
        if job is None or job.state not in RETRYABLE:
            self.notify("only a failed job can be retried", severity="warning")
            return
        self.app.open_provision(job.order_id)

    def action_cancel_job(self) -> None:
        job = self.selected_job()
        if job is None or job.state not in CANCELLABLE:
            self.notify("this job cannot be cancelled", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_job_action("cancel", job.id)

        self.app.push_screen(
            ConfirmDialog(
                f"Cancel job {job.id[:8]} for order {job.order_id}?",
                "Rollback removes only a VM this job created.",
            ),
            answered,
        )
