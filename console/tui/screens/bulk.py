"""Many orders at once from the queue: `space` marks orders, `L` launches the marked ones
together after one confirmation. Each is launched from its own plan (the order's sizes,
keys from the vault) by the same flow code as `vps-console provision ID ID …`; orders
that need an engineer's input are left marked, with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.errors import ConsoleError
from console.flow import batch, intake
from console.tui import data
from console.tui.widgets.confirm import ConfirmDialog

if TYPE_CHECKING:
    from console.tui.screens.queue import QueueScreen

MARK = "* "  # before the status word of a marked order


def toggle(screen: QueueScreen, order_id: str) -> None:
    if order_id in screen.marked:
        screen.marked.discard(order_id)
    else:
        screen.marked.add(order_id)


def launch_marked(screen: QueueScreen) -> None:
    ids = sorted(screen.marked)
    if not ids:
        screen.notify("mark orders with space first", severity="warning")
        return
    shown = ", ".join(ids[:8]) + (f" and {len(ids) - 8} more" if len(ids) > 8 else "")

    def answered(yes: bool | None) -> None:
        if yes:
            screen.marked.difference_update(ids)
            screen.show_orders(changed=set(ids))
            screen.run_worker(
                lambda: _launch(screen, ids), thread=True, group="bulk-launch", exit_on_error=False
            )

    screen.app.push_screen(
        ConfirmDialog(
            f"Launch {len(ids)} orders?",
            f"{shown}: each from its own plan, keys from the vault; clones wait for their "
            "storage domain's slots",
        ),
        answered,
    )


def _launch(screen: QueueScreen, ids: list[str]) -> None:
    """In a worker thread: plan and launch each, then hand them to the job pool."""
    app = screen.app
    runner = app.progress.runner
    # The queue keeps slim records: the whole orders are read for the few launched.
    orders = data.orders_by_id(app.context.store, ids)
    jobs, left = [], []
    for order, draft in intake.drafts(runner, orders):
        ready = intake.complete_plan(runner, order, draft)
        if not isinstance(ready, intake.Ready):
            left.append(f"{order.id}: {ready}")
            continue
        try:
            jobs.append(runner.launch(order.id, ready.plan, ready.keys).id)
        except ConsoleError as error:
            left.append(f"{order.id}: {error.message}")
    if left:
        app.call_from_thread(
            app.notify,
            "not launched (open them with p): " + "; ".join(left),
            severity="warning",
            timeout=20,
        )
    if jobs:
        app.call_from_thread(app.notify, f"launched {len(jobs)} orders together")
        # On the console's own job pool, bounded like every job it runs, so the screens'
        # polls keep their threads; clones still wait for their storage domain's slots.
        for job_id in jobs:
            app.submit_job(batch.run_one, runner, job_id)
