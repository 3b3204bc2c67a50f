"""The intake loop shared by `vps-console worker` and every open console.

One tick: sync billing (when the caller wants it), run the intake pass (pre-clone,
provision, release what billing ended), hand every job to run, new and left unfinished
alike, to a bounded pool of threads, then refill the warm pools (`[[pool]]`). Jobs run in
the background, so the next tick comes on time while clones copy. In the console that pool
is the console's own job pool, shared with the jobs launched by hand and in bulk.
Several workers and consoles on one store share the work safely: intake is decided by
the one-open-job-per-order index, each job by its lease (a holder that stops
heart-beating, or dies on this host, is taken over).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from console.billing.errors import BillingError
from console.billing.sync import SyncReport, sync_orders
from console.errors import ConsoleError
from console.flow.batch import DEFAULT_CONCURRENCY, run_one
from console.flow.intake import IntakeReport, run_intake
from console.flow.pool import PoolKeeper, RefillReport
from console.store.models import Job

if TYPE_CHECKING:
    from console.flow.runner import Runner

log = logging.getLogger(__name__)
# A job pool's submit (the console's ConsoleApp.submit_job): queue work(*args) on it.
Submit = Callable[..., "Future[Any]"]


@dataclass
class TickReport:
    sync: SyncReport | None = None
    sync_error: str | None = None
    intake: IntakeReport = field(default_factory=IntakeReport)
    started: list[str] = field(default_factory=list)  # job ids handed to the pool
    pools: list[RefillReport] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        if self.sync is not None and (self.sync.created or self.sync.cancelled):
            out.append(self.sync.summary().split("\n")[0])
        if self.sync_error:
            out.append(f"billing sync failed: {self.sync_error}")
        out += [line.text() for line in self.intake.lines]
        out += [f"intake problem: {problem}" for problem in self.intake.problems]
        if self.started:
            out.append(f"running job {', '.join(self.started)}")
        out += [pool.line() for pool in self.pools if pool.actions or pool.error]
        return out


class IntakeWorker:
    """Takes paid orders in and runs their jobs in the background: on threads of its own,
    at most `concurrency` at once (`vps-console worker`), or, given `submit`, on the
    caller's job pool (the console's, bounded by `[ui] job_workers`, which the jobs
    launched by hand and in bulk share)."""

    def __init__(
        self,
        runner: Runner,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        on_finished: Callable[[Job], None] | None = None,
        submit: Submit | None = None,
    ):
        self.runner = runner
        self.services = runner.services
        self.pool = submit
        # Daemon threads, not an executor: a worker that quits must not wait on a clone
        # (the job's lease lapses and the next runner resumes it).
        self.slots = threading.BoundedSemaphore(max(1, concurrency))
        self.running: dict[str, threading.Event] = {}  # job id -> set once it stopped
        self.lock = threading.Lock()
        self.on_finished = on_finished
        self.finished: list[Job] = []

    def tick(self, *, sync: bool = True, refill: bool = True) -> TickReport:
        """One round; `refill=False` leaves the pools to a caller that refills them on
        its own schedule (the console's pool loop)."""
        report = TickReport()
        if sync and self.services.config.billing.kind == "whmcs":
            client = self.services.billing()
            if client is not None:
                try:
                    report.sync = sync_orders(
                        self.services.store, client, self.services.config.catalog
                    )
                except BillingError as error:
                    report.sync_error = error.message
        try:
            report.intake = run_intake(self.runner)
        except ConsoleError as error:  # the engine is down: the next tick tries again
            report.intake.problems.append(error.message)
        wanted = report.intake.job_ids + [job.id for job in self.runner.unfinished_jobs()]
        report.started = self.submit(wanted)
        if refill and self.services.config.pool:
            # After the jobs started: an order that can take a pool VM takes it before
            # the refill counts what is left.
            report.pools = PoolKeeper(self.services).refill()
        return report

    def submit(self, job_ids: list[str]) -> list[str]:
        """Hand each job to run (once: a job already handed over and not stopped is
        skipped; the lease decides across processes); the ids handed over."""
        started = []
        for job_id in dict.fromkeys(job_ids):
            with self.lock:
                if job_id in self.running:
                    continue  # one runner per job in this process; the lease across them
                done = self.running[job_id] = threading.Event()
            try:
                self._start(job_id, done)
            except RuntimeError:  # the pool shut down: the console is closing
                self._stopped(job_id, done)
                break
            started.append(job_id)
        return started

    def _start(self, job_id: str, done: threading.Event) -> None:
        if self.pool is not None:
            future = self.pool(self._run, job_id, done)
            # A job the pool drops unstarted (cancelled on shutdown) is not running either.
            future.add_done_callback(lambda _: self._stopped(job_id, done))
            return
        thread = threading.Thread(
            target=self._run, args=(job_id, done), name=f"job-{job_id}", daemon=True
        )
        thread.start()

    def _run(self, job_id: str, done: threading.Event) -> None:
        try:
            with self.slots if self.pool is None else nullcontext():
                job, _ = run_one(self.runner, job_id)
            if job is not None:
                self.finished.append(job)
                if self.on_finished is not None:
                    self.on_finished(job)
        finally:
            self._stopped(job_id, done)

    def _stopped(self, job_id: str, done: threading.Event) -> None:
        """`done`'s run of the job is over (a later hand-over of the same job is not)."""
        with self.lock:
            if self.running.get(job_id) is done:
                del self.running[job_id]
        done.set()

    def wait(self) -> None:
        """Until every job handed over has stopped (done, parked, failed, busy)."""
        while True:
            with self.lock:
                waiting = list(self.running.values())
            if not waiting:
                return
            for done in waiting:
                done.wait()


__all__ = ["IntakeWorker", "TickReport"]
