"""Store reads for the screens. Plain functions, run inside workers, returning plain rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, or_, select

from console.store import audit, orders
from console.store.db import Store
from console.store.models import Job, JobEvent, Order, ensure_aware
from console.store.states import IN_QUEUE_STATUSES, JobState

RECENT_DONE = timedelta(hours=24)
FAILED_FIRST = {JobState.FAILED: 0}


def queue_orders(store: Store, now: datetime, changed_since: datetime | None = None) -> list[Order]:
    """Orders waiting or in flight, plus those finished in the last day (for context).

    With `changed_since`, only the orders updated after it (whatever their status): a
    queue of ten thousand orders is then re-read in full only now and then.
    """
    if changed_since is not None:
        condition = col(Order.updated_at) > changed_since
    else:
        condition = or_(
            col(Order.status).in_(IN_QUEUE_STATUSES), col(Order.updated_at) >= now - RECENT_DONE
        )
    with store.session() as session:
        rows = session.exec(select(Order).where(condition)).all()
    for order in rows:
        order.created_at = ensure_aware(order.created_at)
        order.paid_at = ensure_aware(order.paid_at)
        order.claimed_at = ensure_aware(order.claimed_at)
        order.updated_at = ensure_aware(order.updated_at)
    return list(rows)


def queue_first_page(store: Store, limit: int) -> list[Order]:
    """The queue's first screenful as it opens (oldest first, as it is sorted): shown while
    the whole queue is still being read."""
    rows = orders.list_orders(store, limit=limit)
    for order in rows:
        order.created_at = ensure_aware(order.created_at)
        order.paid_at = ensure_aware(order.paid_at)
        order.claimed_at = ensure_aware(order.claimed_at)
        order.updated_at = ensure_aware(order.updated_at)
    return rows


def in_queue(order: Order, now: datetime) -> bool:
    return order.status in IN_QUEUE_STATUSES or (
        order.updated_at is not None and order.updated_at >= now - RECENT_DONE
    )


def get_order(store: Store, order_id: str) -> Order | None:
    with store.session() as session:
        return session.get(Order, order_id)


def all_jobs(store: Store, limit: int = 500) -> list[Job]:
    """Every recent job, failed first, then newest first."""
    with store.session() as session:
        rows = list(session.exec(select(Job).order_by(col(Job.updated_at).desc()).limit(limit)))
    for job in rows:
        job.created_at = ensure_aware(job.created_at)
        job.updated_at = ensure_aware(job.updated_at)
    rows.sort(key=lambda job: FAILED_FIRST.get(job.state, 1))
    return rows


def jobs_by_order(jobs: list[Job]) -> dict[str, Job]:
    """The latest job of each order."""
    latest: dict[str, Job] = {}
    for job in jobs:
        current = latest.get(job.order_id)
        if current is None or (job.created_at or datetime.min) > (
            current.created_at or datetime.min
        ):
            latest[job.order_id] = job
    return latest


def job_events(
    store: Store, job_id: str | None = None, order_id: str | None = None, limit: int = 200
) -> list[JobEvent]:
    query = select(JobEvent)
    if job_id is not None:
        query = query.where(JobEvent.job_id == job_id)
    if order_id is not None:
        query = query.where(JobEvent.order_id == order_id)
    query = query.order_by(col(JobEvent.at).desc(), col(JobEvent.id).desc()).limit(limit)
    with store.session() as session:
        rows = list(session.exec(query))
    for event in rows:
        event.at = ensure_aware(event.at)
    return rows


def audit_entries(store: Store, limit: int = 200) -> list[JobEvent]:
    """The newest recorded actions (claims, launches, cancels, VM power actions...)."""
    with store.session() as session:
        rows = audit.entries(session, limit=limit)
    for event in rows:
        event.at = ensure_aware(event.at)
    return rows
