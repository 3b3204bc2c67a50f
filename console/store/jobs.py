"""The job repository: jobs, their events, and the lease that lets one runner act on a job.

Every change is its own committed transaction, so a runner killed at any instant leaves
the last state it reached on disk. The lease is a compare-and-set on (owner, pid,
heartbeat): a second runner sees who holds the job; a holder that stopped heart-beating
(or whose process is gone from this host) can be taken over.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from console.errors import ConsoleError
from console.store import updates
from console.store.db import Store, changed_one
from console.store.models import RUNNER_HOST, Job, JobEvent, utcnow
from console.store.states import TERMINAL_JOB_STATES, JobState, Step

# Jobs being run by this very process: the database lease cannot tell two threads of one
# process apart (same user, host and pid), so they are told apart here.
_running_here: set[str] = set()
_running_lock = threading.Lock()


class OpenJobExists(ConsoleError):
    """The order already has an unfinished job (the store allows one per order)."""


@dataclass(frozen=True)
class Lease:
    won: bool
    holder: str | None = None
    pid: int | None = None
    since: datetime | None = None
    took_over_from: str | None = None

    def describe(self) -> str:
        who = self.holder or "another runner"
        return f"{who} (pid {self.pid})" if self.pid else who


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def create_job(
    store: Store,
    *,
    order_id: str,
    plan: dict[str, Any],
    engine: str,
    created_by: str,
    data: dict[str, Any] | None = None,
    job_id: str | None = None,
    leased: bool = False,
) -> Job:
    """Insert a `planned` job; the one-open-job-per-order index makes this the arbiter
    between two launches of one order. `leased`: born holding the lease for `created_by`
    in this process (the launcher still has the secrets to store; release it after)."""
    job_id = job_id or new_job_id()
    lease: dict[str, Any] = {}
    if leased:
        lease = {"owner": created_by, "owner_pid": os.getpid(), "heartbeat_at": utcnow()}
        data = {**(data or {}), RUNNER_HOST: socket.gethostname()}
    job = Job(
        id=job_id,
        order_id=order_id,
        engine=engine,
        state=JobState.PLANNED,
        plan=plan,
        vm_name=plan.get("vm_name"),
        created_by=created_by,
        correlation_id=f"vpsc-{job_id}",
        data=dict(data or {}),
        **lease,
    )
    try:
        with store.session() as session:
            session.add(job)
            session.add(
                JobEvent(
                    job_id=job_id,
                    order_id=order_id,
                    kind="step_finished",
                    step=Step.PLANNED,
                    actor=created_by,
                    message=f"planned {plan.get('vm_name')} from "
                    f"{plan.get('template_name')} "
                    f"v{plan.get('template_version')}",
                )
            )
    except IntegrityError:
        existing = open_job_for_order(store, order_id)
        holder = (
            f" (run by {existing.owner}, pid {existing.owner_pid})"
            if existing and existing.owner
            else ""
        )
        raise OpenJobExists(
            f"order {order_id} already has an unfinished job"
            + (f" {existing.id}, {existing.state}{holder}" if existing else ""),
            f"resume it (vps-console jobs resume) or cancel it (vps-console jobs cancel "
            f"{existing.id if existing else 'ID'})",
        ) from None
    return job


def get_job(store: Store, job_id: str) -> Job | None:
    with store.session() as session:
        return session.get(Job, job_id)


def find_job(store: Store, prefix: str) -> Job | None:
    """A job by id or unambiguous id prefix (what an engineer types)."""
    job = get_job(store, prefix)
    if job is not None:
        return job
    with store.session() as session:
        found = list(session.exec(select(Job).where(col(Job.id).startswith(prefix)).limit(2)))
    return found[0] if len(found) == 1 else None


def list_jobs(
    store: Store,
    *,
    states: Iterable[JobState] | None = None,
    order_id: str | None = None,
    limit: int | None = None,
) -> list[Job]:
    query = select(Job)
    if states:
        query = query.where(col(Job.state).in_(list(states)))
    if order_id is not None:
        query = query.where(col(Job.order_id) == order_id)
    query = query.order_by(col(Job.created_at).desc())
    if limit:
        query = query.limit(limit)
    with store.session() as session:
        return list(session.exec(query))


def open_job_for_order(store: Store, order_id: str) -> Job | None:
    with store.session() as session:
        return session.exec(
            select(Job).where(
                col(Job.order_id) == order_id, col(Job.state).not_in(list(TERMINAL_JOB_STATES))
            )
        ).first()


def update_job(
    store: Store,
    job_id: str,
    *,
    data: dict[str, Any] | None = None,
    events: Iterable[JobEvent] = (),
    **values: Any,
) -> Job:
    """Set columns (and merge keys into `data`), committed at once, with `events` in the
    same transaction (a step's state and the event that says so are never apart)."""
    return updates.update_row(
        store, Job, job_id, what="job", data=data, also=list(events), **values
    )


def new_event(
    *,
    job_id: str | None,
    order_id: str | None,
    kind: str,
    step: str | None = None,
    actor: str = "",
    message: str = "",
    **data: Any,
) -> JobEvent:
    """An event stamped now, not yet written (add_events or update_job write it)."""
    return JobEvent(
        job_id=job_id,
        order_id=order_id,
        kind=kind,
        step=step,
        actor=actor,
        message=message,
        data=data,
        at=utcnow(),
    )


def add_events(store: Store, events: Iterable[JobEvent]) -> None:
    """Several events, in order, in one commit."""
    with store.session() as session:
        session.add_all(list(events))


def add_event(store: Store, **fields: Any) -> JobEvent:
    """One event (new_event's fields), in its own commit."""
    event = new_event(**fields)
    add_events(store, [event])
    return event


def job_events(store: Store, job_id: str, *, limit: int | None = None) -> list[JobEvent]:
    query = select(JobEvent).where(col(JobEvent.job_id) == job_id).order_by(col(JobEvent.id))
    with store.session() as session:
        events = list(session.exec(query))
    return events[-limit:] if limit else events


# ------------------------------------------------------------------------- lease
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lease(store: Store, job_id: str, owner: str, *, lease_seconds: float = 60.0) -> Lease:
    """Take the job for this process, or say who holds it."""
    pid = os.getpid()
    with _running_lock:
        if job_id in _running_here:
            job = get_job(store, job_id)
            return Lease(False, job.owner if job else owner, pid, job.heartbeat_at if job else None)
        _running_here.add(job_id)
    try:
        lease = _acquire(store, job_id, owner, pid, lease_seconds)
    except BaseException:
        _forget(job_id)
        raise
    if not lease.won:
        _forget(job_id)
    return lease


def _forget(job_id: str) -> None:
    with _running_lock:
        _running_here.discard(job_id)


def _acquire(store: Store, job_id: str, owner: str, pid: int, lease_seconds: float) -> Lease:
    now = utcnow()
    cutoff = now - timedelta(seconds=lease_seconds)
    host = socket.gethostname()
    with store.session() as session:
        taken = session.execute(
            update(Job)
            .where(
                col(Job.id) == job_id,
                or_(
                    col(Job.owner).is_(None),
                    col(Job.heartbeat_at).is_(None),
                    col(Job.heartbeat_at) < cutoff,
                    and_(col(Job.owner) == owner, col(Job.owner_pid) == pid),
                ),
            )
            .values(owner=owner, owner_pid=pid, heartbeat_at=now)
        )
        won = changed_one(taken)
    if won:
        update_job(store, job_id, data={RUNNER_HOST: host})
        return Lease(True, owner, pid, now)
    job = get_job(store, job_id)
    if job is None:
        raise ConsoleError(f"no job {job_id}")
    # A holder killed between taking the lease and recording its host left none: only a
    # runner on this host gets that far without one in the same instant (as for refreshes).
    same_host = (job.runner_host or host) == host
    if same_host and job.owner_pid and not _pid_alive(job.owner_pid):
        # The holder died on this host (kill -9, power cut of a tmux pane): no need to
        # wait for its heartbeat to go stale.
        with store.session() as session:
            taken = session.execute(
                update(Job)
                .where(
                    col(Job.id) == job_id,
                    col(Job.owner_pid) == job.owner_pid,
                    col(Job.heartbeat_at) == job.heartbeat_at,
                )
                .values(owner=owner, owner_pid=pid, heartbeat_at=now)
            )
        if changed_one(taken):
            update_job(store, job_id, data={RUNNER_HOST: host})
            return Lease(True, owner, pid, now, took_over_from=job.owner)
        job = get_job(store, job_id)
        if job is None:
            raise ConsoleError(f"no job {job_id}")
    return Lease(False, job.owner, job.owner_pid, job.heartbeat_at)


def heartbeat(store: Store, job_id: str, owner: str) -> bool:
    """Refresh the lease; False when it was lost (taken over after going stale)."""
    with store.session() as session:
        result = session.execute(
            update(Job)
            .where(
                col(Job.id) == job_id, col(Job.owner) == owner, col(Job.owner_pid) == os.getpid()
            )
            .values(heartbeat_at=utcnow())
        )
        return changed_one(result)


def release_lease(store: Store, job_id: str, owner: str) -> None:
    try:
        with store.session() as session:
            session.execute(
                update(Job)
                .where(
                    col(Job.id) == job_id,
                    col(Job.owner) == owner,
                    col(Job.owner_pid) == os.getpid(),
                )
                .values(owner=None, owner_pid=None, heartbeat_at=None)
            )
    finally:
        _forget(job_id)
