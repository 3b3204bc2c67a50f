"""The run context: what every step and the rollback share while one runner holds a job.

It owns the job's row (refreshed and saved through the store), the plan, the engine, the
clock of the run, and the lease's heartbeat. Engine calls go through `call`, which retries
a busy engine with backoff and journals each change before and after it; `sleep` and
`check` are where a cancel or a lost lease stops the run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from console.flow import job_secrets
from console.flow.engine_calls import Phase, call_with_backoff
from console.flow.errors import Cancelled, LeaseLost, StepFailed
from console.flow.licenses import KIND_LABELS
from console.flow.pace import Poll, WaitKind
from console.flow.plan import Plan
from console.ovirt import Engine, Vm
from console.secrets import admin_password_secret, license_secret
from console.store import jobs as repo
from console.store.db import Store
from console.store.models import Job, JobEvent, since_key, utcnow

if TYPE_CHECKING:
    from console.flow.runner import Runner

log = logging.getLogger(__name__)
T = TypeVar("T")
# Job.data key: cluster and template names by id as the launch's preflight read them.
ENGINE_NAMES = "engine_names"
# Job.data key: the launch found a VM under the job's name (to adopt, not to create).
VM_AT_LAUNCH = "vm_at_launch"


class Heartbeat(threading.Thread):
    """Keeps the job's lease fresh while the run waits on the engine."""

    def __init__(self, store: Store, job_id: str, owner: str, every: float):
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.store, self.job_id, self.owner, self.every = store, job_id, owner, every
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                if not repo.heartbeat(self.store, self.job_id, self.owner):
                    self.lost = True
                    return
            except Exception:  # a busy database must not kill the runner
                log.warning("heartbeat of job %s failed", self.job_id, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()


class RunContext:
    """One pass of one job through its remaining steps, holding its lease."""

    def __init__(
        self, runner: Runner, job_id: str, heart: Heartbeat | None, *, job: Job | None = None
    ):
        """`job`: the job as just read or written, if the caller has it."""
        self.runner = runner
        self.store = runner.store
        self.timing = runner.timing
        self.job_id = job_id
        self.heart = heart
        self.job = job if job is not None else runner._job(job_id)
        self.plan = Plan.from_dict(self.job.plan)
        self.engine: Engine = runner.services.engine(self.plan.engine or None)
        names = (self.job.data or {}).get(ENGINE_NAMES) or {}
        self.engine.remember_names(names.get("clusters") or {}, names.get("templates") or {})
        self.started = time.monotonic()
        self.rolling_back = False
        self._seen: tuple[Vm, bool] | None = None
        self._polls: dict[WaitKind, Poll] = {}
        # When this pass's engine call that began a wait returned (on the runner's clock).
        self._wait_began: dict[WaitKind, float] = {}
        self._fresh = False  # self.job was read (by a save or a check), nothing since
        # The one wait of this pass that may look sooner than where it is sure.
        self._probe = runner.services.pace.turn()
        # "done: ..." journal lines not yet written: they go with the next write of this
        # pass (nothing a resume needs: it reconciles from the engine, and every "calling:"
        # line is written before its call).
        self._journal: list[JobEvent] = []

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def record(self, kind: str, step: str | None, message: str, **data: Any) -> None:
        self._fresh = False  # a listener may act on the job (a cancel, say)
        self.runner._record(
            self.job,
            kind,
            step,
            message,
            elapsed=self.elapsed(),
            state=self.job.state,
            before=self.take_journal(),
            **data,
        )

    def emit(self, kind: str, step: str | None, message: str) -> None:
        """Tell the listener of an event already written (with `save(events=...)`)."""
        self._fresh = False  # a listener may act on the job (a cancel, say)
        self.runner._emit(self.job, kind, step, message, self.elapsed())

    def event(self, kind: str, step: str | None, message: str, **data: Any) -> JobEvent:
        """An event of this job by this runner, to be written with a save."""
        return self.runner._event(self.job, kind, step, message, **data)

    def take_journal(self) -> list[JobEvent]:
        journal, self._journal = self._journal, []
        return journal

    def refresh(self) -> Job:
        self.job = self.runner._job(self.job_id)
        return self.job

    def save(self, *, events: list[JobEvent] | None = None, **values: Any) -> Job:
        """Set the job's columns (and `events`, after the journal owed) in one commit."""
        self.job = repo.update_job(
            self.store, self.job_id, events=[*self.take_journal(), *(events or [])], **values
        )
        self._fresh = True
        return self.job

    def flush_journal(self) -> None:
        """Write the journal owed, at the end of a pass."""
        journal = self.take_journal()
        if journal:
            repo.add_events(self.store, journal)

    def check(self) -> None:
        """Between engine calls: stop if the lease was lost or a cancel was asked for."""
        if self.heart is not None and self.heart.lost:
            raise LeaseLost()
        if self.rolling_back:
            return
        # The row as a save or a check just read it, when neither an engine call nor a
        # sleep came since: reading it again would tell nothing new.
        job = self.job if self._fresh else self.refresh()
        self._fresh = False
        if job.cancel_requested_by:
            raise Cancelled()

    def sleep(self, seconds: float) -> None:
        self.check()
        time.sleep(seconds)
        self.check()
        self._fresh = True  # the look that follows need not read the job again

    def hand_over(self, vm: Vm, *, detail: bool) -> None:
        """The VM as this step leaves it, for the next step of this pass to start from
        instead of reading it again. Any change through `call` forgets it."""
        self._seen = (vm, detail)

    def take_seen(self, *, detail: bool) -> Vm | None:
        """The VM handed over by the previous step (once), if it was read in enough detail."""
        seen, self._seen = self._seen, None
        if seen is None or (detail and not seen[1]):
            return None
        return seen[0]

    def wait_begins(self, kind: WaitKind) -> None:
        """The engine call that begins the wait `kind` (create, extend, start) returned."""
        self._wait_began[kind] = utcnow().timestamp()

    def poll(self, kind: WaitKind, key: str, default: float, step: str) -> Poll:
        """The paced wait `kind` of this pass (the same one while it lasts, across steps),
        its clock the return of the call that began it in this pass, else the persisted
        start of `step` (a resumed wait)."""
        poll = self._polls.get(kind)
        if poll is None:
            began = self._wait_began.pop(kind, None)
            since = self.since(step)  # stamps the step's start: its time limit counts from it
            poll = Poll(
                self.runner.services.pace,
                (self.engine.name, str(kind), key),
                default,
                self.timing,
                already=since if began is None else utcnow().timestamp() - began,
                clock=lambda: utcnow().timestamp(),
                watched=None if began is None else True,
                probe=kind == self._probe,
            )
            self._polls[kind] = poll
        return poll

    def waited(self, kind: WaitKind) -> None:
        """The wait `kind` is over: learn how long it took."""
        poll = self._polls.pop(kind, None)
        if poll is not None:
            poll.done()

    def since(self, step: str) -> float:
        """Seconds since `step` first began (persisted, so a resume keeps the clock)."""
        stamp = self.job.step_began_at(step)
        if stamp is None:
            now = utcnow()
            self.save(data={since_key(step): now.isoformat()})
            return 0.0
        return (utcnow() - datetime.fromisoformat(stamp)).total_seconds()

    def call(self, what: str, operation: Callable[[], T], *, changes: bool = True) -> T:
        """An engine call with backoff on busy/unavailable; changes are journaled around it."""
        step = self.job.state
        if changes:
            self._seen = None

        def journal(message: str, phase: Phase) -> None:
            event = self._engine_event(step, message, str(phase))
            if phase is Phase.BEFORE:
                # Durable before the call it announces: a resume after a crash in the call
                # knows the change may have happened.
                repo.add_events(self.store, [*self.take_journal(), event])
            else:
                self._journal.append(event)  # goes with the next write

        def fresh_after() -> T:
            try:
                return operation()
            finally:
                self._fresh = False  # the engine may have taken its time

        return call_with_backoff(
            self,
            what,
            fresh_after,
            journal=journal if changes else None,
            on_retry=lambda message: self.record("info", step, message),
        )

    def _engine_event(self, step: str, message: str, phase: str) -> JobEvent:
        return repo.new_event(
            job_id=self.job_id,
            order_id=self.job.order_id,
            kind="engine",
            step=step,
            actor=self.runner.actor,
            message=message,
            phase=phase,
        )

    def read_vm(self, vm_id: str, *, detail: bool = True) -> Vm:
        self._seen = None
        return self.call(
            f"read VM {self.plan.vm_name}",
            lambda: self.engine.get_vm(
                vm_id, detail=detail, correlation_id=self.job.correlation_id
            ),
            changes=False,
        )

    def secrets(self) -> tuple[dict[str, str], str]:
        store = self.runner.services.secrets
        # A launch killed after committing the job left its secrets staged: move them now.
        job_secrets.promote(store, self.job_id, self.plan.order_id, self.plan.key_kinds)
        licenses = {}
        for kind in self.plan.key_kinds:
            value = store.get(license_secret(self.plan.order_id, kind))
            if not value:
                raise StepFailed(
                    f"the {KIND_LABELS[kind]} for order {self.plan.order_id} is not "
                    "in the secret store",
                    f"vps-console credentials set license "
                    f"{self.plan.order_id} {kind}, then retry the job",
                    code="secret_missing",
                )
            licenses[kind] = value
        password = store.get(admin_password_secret(self.plan.order_id))
        if not password:
            raise StepFailed(
                f"the admin password for order {self.plan.order_id} is not in the secret store",
                "vps-console credentials set admin-password "
                f"{self.plan.order_id}, then retry the job",
                code="secret_missing",
            )
        return licenses, password
