"""`vps-console worker`: the console's intake with no console open.

Every interval: sync billing, take the paid orders of `preclone` / `provision` products in
(console.flow.intake), and run every job that is new or was left unfinished, a bounded
number at once. Several workers (and open consoles) on one store share the work through
the store: each job is run by exactly one of them, by lease.
"""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime

import click

from console.commands.provision import concurrency_option, services_for
from console.errors import ConsoleError
from console.flow.worker import IntakeWorker
from console.secrets import require_kept


@click.command("worker")
@click.option("--once", is_flag=True, help="One tick, wait for its jobs, and exit (scripts).")
@click.option(
    "--interval",
    type=click.IntRange(5, 3600),
    default=None,
    help="Seconds between ticks (default: [billing] sync_interval_seconds).",
)
@concurrency_option
@click.pass_obj
def command(ctx, once: bool, interval: int | None, concurrency: int) -> None:
    """Headless intake: sync billing, pre-clone / provision paid orders, resume jobs."""
    services = services_for(ctx)
    # Headless means nobody to type a passphrase: the secrets must outlive this process
    # (a loop's jobs may be resumed by another worker).
    require_kept(services.secrets, resumed_elsewhere=not once)
    every = interval or ctx.config.billing.sync_interval_seconds
    worker = IntakeWorker(services.runner(), concurrency=concurrency)
    # Template refreshes a crash left half-way go on beside the ticks (one may take many
    # minutes; the intake must not wait for it).
    resumer = threading.Thread(
        target=_resume_refreshes, args=(services,), name="refresh-resume", daemon=True
    )
    resumer.start()
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    while True:
        for line in worker.tick().lines():
            click.echo(f"{datetime.now(UTC):%H:%M:%S} {line}")
        if once:
            worker.wait()
            resumer.join()
            for job in worker.finished:
                click.echo(f"job {job.id} (order {job.order_id}): {job.state}")
            return
        if stop.wait(every):
            # The jobs in flight stop with the process; their leases lapse and the next
            # worker (or console) resumes them where they were.
            click.echo("stopping")
            return


def _resume_refreshes(services) -> None:
    from console.flow.upkeep.refresh import RefreshRunner
    from console.store import refresh_jobs

    try:
        for refresh_id in RefreshRunner(services).resume_unfinished():
            row = refresh_jobs.get(services.store, refresh_id)
            state = row.state if row is not None else "gone"
            click.echo(f"{datetime.now(UTC):%H:%M:%S} template refresh {refresh_id}: {state}")
    except ConsoleError as error:  # the engine is down: the next start tries again
        click.echo(f"{datetime.now(UTC):%H:%M:%S} template refreshes not resumed: {error}")
