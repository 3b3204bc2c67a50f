"""Store reads for the screens. Plain functions, run inside workers, returning plain rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, or_, select

from console.flow.intake import reason_in
from console.store import audit
from console.store.db import Store
from console.store.models import Job, JobEvent, Order, ensure_aware
from console.store.states import IN_QUEUE_STATUSES, JobState, OrderStatus

RECENT_DONE = timedelta(hours=24)
FAILED_FIRST = {JobState.FAILED: 0}


QUEUE_BATCH = 1000  # rows per fetch while the queue is read


class QueueOrder:
    """What the queue shows, filters and sorts of one order, and nothing else: ten thousand
    of these instead of ten thousand SQLModel orders (with their raw billing payloads)."""

    __slots__ = (
        "id",
        "status",
        "client_name",
        "client_company",
        "client_email",
        "product_id",
        "product_name",
        "os_choice",
        "template_name",
        "cpus",
        "memory_mib",
        "disk_gib",
        "hostname",
        "claimed_by",
        "problem",
        "reason",
        "created_at",
        "paid_at",
        "updated_at",
    )

    id: str
    status: OrderStatus
    client_name: str
    client_company: str
    client_email: str
    product_id: str | None
    product_name: str
    os_choice: str | None
    template_name: str | None
    cpus: int | None
    memory_mib: int | None
    disk_gib: int | None
    hostname: str | None
    claimed_by: str | None
    problem: str | None
    reason: str | None  # why the intake left it to an engineer
    created_at: datetime
    paid_at: datetime | None
    updated_at: datetime

    def __init__(self, **values: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, values[name])


# The columns read into a QueueOrder (`reason` comes out of `data`, `id` is the key).
_QUEUE_COLUMNS = [name for name in QueueOrder.__slots__ if name != "reason"] + ["data"]
_SHARED = ("product_id", "product_name", "os_choice", "template_name", "claimed_by")


def _read_queue(store: Store, condition: Any, order_by: Any = (), limit: int | None = None):
    """QueueOrders for the rows matching `condition`, fetched in batches: never a whole
    SQLModel Order, not even for a moment."""
    columns = [getattr(Order, name) for name in _QUEUE_COLUMNS]
    query = sa_select(*columns).where(condition).order_by(*order_by)
    if limit:
        query = query.limit(limit)
    shared: dict[str, str] = {}  # a product name is held once, not once per order
    found: list[QueueOrder] = []
    with store.session() as session:
        result = session.execute(query.execution_options(yield_per=QUEUE_BATCH))
        for batch in result.partitions(QUEUE_BATCH):
            for row in batch:
                values = dict(zip(_QUEUE_COLUMNS, row, strict=True))
                for name in _SHARED:
                    value = values[name]
                    if value is not None:
                        values[name] = shared.setdefault(value, value)
                values["reason"] = reason_in(values.pop("data"))
                values["created_at"] = ensure_aware(values["created_at"])
                values["paid_at"] = ensure_aware(values["paid_at"])
                values["updated_at"] = ensure_aware(values["updated_at"])
                found.append(QueueOrder(**values))
    return found


def queue_orders(
    store: Store, now: datetime, changed_since: datetime | None = None
) -> list[QueueOrder]:
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
    return _read_queue(store, condition)


def queue_first_page(store: Store, limit: int) -> list[QueueOrder]:
    """The queue's first screenful as it opens (oldest first, as it is sorted): shown while
    the whole queue is still being read."""
    return _read_queue(
        store,
        col(Order.status).in_(IN_QUEUE_STATUSES),
        (func.coalesce(col(Order.paid_at), col(Order.created_at)), col(Order.id)),
        limit,
    )


def in_queue(order: QueueOrder, now: datetime) -> bool:
    return order.status in IN_QUEUE_STATUSES or (
        order.updated_at is not None and order.updated_at >= now - RECENT_DONE
    )


def orders_by_id(store: Store, ids: list[str]) -> list[Order]:
    """Whole orders, for the few that are acted on (a bulk launch), in the order of `ids`."""
    with store.session() as session:
        found = {o.id: o for o in session.exec(select(Order).where(col(Order.id).in_(ids)))}
    return [found[order_id] for order_id in ids if order_id in found]


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


def job_mark(job: Job | None) -> tuple | None:
    """What tells a job's row or detail it must be made again: its state and last change."""
    return (job.state, job.updated_at) if job is not None else None


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
