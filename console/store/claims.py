"""Claiming an order: one engineer at a time, decided by single atomic UPDATEs.

A fresh claim is a compare-and-set on `claimed_by IS NULL`, so two engineers (or a hundred
processes) racing for one order produce exactly one winner on SQLite and PostgreSQL alike.
A claim left behind by someone who went home can be taken over once it is older than the
timeout and no job for the order has shown a heartbeat since; the console asks first
(`take_over=False` reports such a claim as `stale` instead of taking it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Exists, and_, exists, or_, update
from sqlalchemy import select as sql_select
from sqlmodel import col, select

from console.store import audit
from console.store.db import Store, changed_one
from console.store.models import Job, Order, utcnow
from console.store.states import CLAIMABLE_STATUSES, TERMINAL_JOB_STATES, JobState


@dataclass(frozen=True)
class ClaimResult:
    won: bool
    holder: str | None
    since: datetime | None
    took_over_from: str | None = None
    reason: str = ""
    stale: bool = False  # refused only because take_over was off: it could be taken over


def _live_job(order_id: str, cutoff: datetime) -> Exists:
    return exists().where(
        and_(
            col(Job.order_id) == order_id,
            col(Job.state).not_in([*TERMINAL_JOB_STATES, JobState.FAILED]),
            col(Job.heartbeat_at).is_not(None),
            col(Job.heartbeat_at) > cutoff,
        )
    )


def claim_order(
    store: Store,
    order_id: str,
    owner: str,
    *,
    takeover_after: timedelta = timedelta(minutes=30),
    take_over: bool = True,
) -> ClaimResult:
    now = utcnow()
    with store.session() as session:
        fresh = session.execute(
            update(Order)
            .where(
                col(Order.id) == order_id,
                col(Order.status).in_(CLAIMABLE_STATUSES),
                or_(col(Order.claimed_by).is_(None), col(Order.claimed_by) == owner),
            )
            .values(claimed_by=owner, claimed_at=now, updated_at=now)
        )
        if changed_one(fresh):
            audit.record(session, "claim", actor=owner, order_id=order_id)
            return ClaimResult(True, owner, now)

    with store.session() as session:
        order = session.exec(select(Order).where(col(Order.id) == order_id)).first()
        if order is None:
            return ClaimResult(False, None, None, reason=f"no order {order_id!r} in the queue")
        if order.status not in CLAIMABLE_STATUSES:
            return ClaimResult(
                False,
                order.claimed_by,
                order.claimed_at,
                reason=f"order {order_id} is {order.status}; nothing to claim",
            )
        cutoff = now - takeover_after
        stale = order.claimed_at is not None and order.claimed_at < cutoff
        if not stale:
            return ClaimResult(
                False,
                order.claimed_by,
                order.claimed_at,
                reason=f"order {order_id} is claimed by {order.claimed_by}",
            )
        # Copy before the UPDATE: the ORM refreshes `order` in place when it runs.
        previous, previous_at = order.claimed_by, order.claimed_at
        if not take_over and not session.scalar(sql_select(_live_job(order_id, cutoff))):
            return ClaimResult(
                False,
                previous,
                previous_at,
                reason=f"order {order_id} is claimed by {previous}, idle since "
                f"{previous_at:%Y-%m-%d %H:%M} UTC",
                stale=True,
            )
        taken = session.execute(
            update(Order)
            .where(
                col(Order.id) == order_id,
                col(Order.claimed_by) == previous,
                col(Order.claimed_at) == previous_at,
                ~_live_job(order_id, cutoff),
            )
            .values(claimed_by=owner, claimed_at=now, updated_at=now)
        )
        if changed_one(taken):
            audit.record(
                session,
                "claim_takeover",
                actor=owner,
                order_id=order_id,
                message=f"took over a claim by {previous} idle since "
                f"{previous_at:%Y-%m-%d %H:%M} UTC",
                previous=previous,
            )
            return ClaimResult(True, owner, now, took_over_from=previous)
    with store.session() as session:
        order = session.get(Order, order_id)
        return ClaimResult(
            False,
            order.claimed_by if order else None,
            order.claimed_at if order else None,
            reason=f"order {order_id} is claimed by "
            f"{order.claimed_by if order else 'someone'} with a live job",
        )


def release_order(store: Store, order_id: str, owner: str, *, force: bool = False) -> bool:
    """Give an order back to the queue. Only its holder may, unless `force`."""
    now = utcnow()
    with store.session() as session:
        condition = [col(Order.id) == order_id, col(Order.claimed_by).is_not(None)]
        if not force:
            condition.append(col(Order.claimed_by) == owner)
        result = session.execute(
            update(Order).where(*condition).values(claimed_by=None, claimed_at=None, updated_at=now)
        )
        if changed_one(result):
            audit.record(
                session,
                "release",
                actor=owner,
                order_id=order_id,
                message="forced release" if force else "",
            )
            return True
    return False
