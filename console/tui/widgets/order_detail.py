"""The selected order's detail under the queue: what went wrong first (a failed job's reason
and hint, why it needs an engineer, its problem), then its particulars, then when it should
be live. Its expected time to live is read in the widget's own worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.widgets import Static
from textual.worker import Worker

from console.store.models import Job
from console.store.states import IN_QUEUE_STATUSES, JobState
from console.tui import data
from console.tui.data import QueueOrder
from console.tui.formatting import format_age, format_resources, status_text, theme_style
from console.tui.polling import FINISHED

if TYPE_CHECKING:
    from textual import getters

    from console.config import ProductMapping
    from console.flow.upkeep.policy import Staleness
    from console.tui.app import ConsoleApp


@dataclass(frozen=True)
class Shown:
    """What the detail says of one order, as the queue knows it now."""

    order: QueueOrder
    job: Job | None
    mapping: ProductMapping | None
    template: str
    stale: Staleness | None  # the template's, when upkeep calls it stale


class OrderDetail(Static):
    if TYPE_CHECKING:  # Textual types `app` as a plain App; this one runs in ConsoleApp
        app = getters.app(ConsoleApp)

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self._eta: tuple[tuple | None, str] = (None, "")
        self._shown: Shown | None = None

    def show_empty(self, why: str) -> None:
        self._shown = None
        self.update(why)

    def show(self, shown: Shown) -> None:
        self._shown = shown
        order, job, mapping = shown.order, shown.job, shown.mapping
        now = self.app.context.now()
        text = Text(no_wrap=False)
        text.append(f"#{order.id} ", style="bold")
        text.append(f"{order.client_name}")
        if order.client_company:
            text.append(f" ({order.client_company})")
        if order.client_email:
            text.append(f" <{order.client_email}>")
        text.append(f"  waiting {format_age(order.paid_at or order.created_at, now)}")
        # What went wrong comes before the order's particulars: at 24 rows the detail has
        # little room, and a reason with its fix must never be the part cut off.
        if job is not None:
            text.append(f"\njob {job.id[:8]} ")
            text.append_text(status_text(self.app, job.state))
            if job.error_message:
                text.append(f": {job.error_message}", style=theme_style(self.app, "error"))
                if job.error_hint:
                    text.append(f"  hint: {job.error_hint}")
        if job is not None and job.state == JobState.READY_FOR_ENGINEER:
            text.append(f"\npre-cloned {job.vm_name} (down): launch resizes and starts it")
        if order.reason and order.status in IN_QUEUE_STATUSES:
            text.append(
                f"\nneeds an engineer: {order.reason}",
                style=theme_style(self.app, "warning"),
            )
        if order.problem:
            text.append(f"\nproblem: {order.problem}", style=theme_style(self.app, "warning"))
        text.append(f"\n{order.product_name} -> {shown.template}")
        stale = shown.stale
        if stale is not None:
            age = "never sealed" if stale.age_days is None else f"sealed {stale.age_days} days ago"
            text.append(
                f" STALE: v{stale.version} {age} (max {stale.max_age_days}); 2, f refreshes it",
                style=theme_style(self.app, "warning"),
            )
        if mapping and mapping.license_kinds:
            text.append(f"  licenses: {', '.join(mapping.license_kinds)}")
        text.append(f"  req {format_resources(order.cpus, order.memory_mib, order.disk_gib)}")
        if order.hostname:
            text.append(f"  host {order.hostname}")
        if order.claimed_by:
            text.append(f"  claimed by {order.claimed_by}")
        expected = self.eta_text(order, job)  # issue 14: expected time to live
        if expected:
            text.append(f"\n{expected}", style=theme_style(self.app, "text-muted"))
        self.update(text)

    def eta_text(self, order: QueueOrder, job: Job | None) -> str:
        """From the step history, once per order, job state and minute: read in a worker
        (store reads, the whole order among them), then the detail is shown again."""
        key = (order.id, order.status, data.job_mark(job), self.app.context.now().minute)
        shown_key, text = self._eta
        if shown_key != key:
            self.load_eta(key, order.id, job)
            return text if shown_key is not None and shown_key[0] == order.id else ""
        return text

    @work(thread=True, exclusive=True, group="order-eta", exit_on_error=False)
    def load_eta(self, key: tuple, order_id: str, job: Job | None) -> tuple[tuple, str]:
        from console.flow.eta import order_eta_text

        context = self.app.context
        stored = data.get_order(context.store, order_id)
        text = order_eta_text(context.store, context.config, stored, job) if stored else ""
        return key, text

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state in FINISHED and event.worker.result is not None:
            self._eta = event.worker.result
            if self._shown is not None:
                self.show(self._shown)
