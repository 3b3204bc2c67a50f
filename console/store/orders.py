"""The order queue: reading orders, small named sync facts, JSON shape for scripts.

Claims live in console.store.claims; this module never changes who holds an order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from console.store.db import Store
from console.store.models import Job, Order, SyncState, utcnow
from console.store.states import IN_QUEUE_STATUSES, TERMINAL_JOB_STATES, OrderStatus


def get_order(store: Store, order_id: str) -> Order | None:
    with store.session() as session:
        return session.get(Order, str(order_id))


def list_orders(
    store: Store,
    *,
    statuses: Iterable[OrderStatus] | None = IN_QUEUE_STATUSES,
    source: str | None = None,
    limit: int | None = None,
) -> list[Order]:
    """Orders oldest first, by when they were paid as the queue's age is (the engineer takes
    the order that has waited longest next)."""
    with store.session() as session:
        query = select(Order)
        if statuses is not None:
            query = query.where(col(Order.status).in_(list(statuses)))
        if source is not None:
            query = query.where(Order.source == source)
        query = query.order_by(
            func.coalesce(col(Order.paid_at), col(Order.created_at)), col(Order.id)
        )
        if limit:
            query = query.limit(limit)
        return list(session.exec(query))


def open_job(session: Session, order_id: str) -> Job | None:
    """The unfinished job of an order, if any (there is at most one)."""
    return session.exec(
        select(Job).where(
            Job.order_id == order_id, col(Job.state).not_in(list(TERMINAL_JOB_STATES))
        )
    ).first()


def set_order_status(
    store: Store, order_id: str, status: OrderStatus, *, release: bool = False, **values: Any
) -> None:
    """Move an order to `status` (and set other columns); `release` drops its claim."""
    with store.session() as session:
        order = session.get(Order, order_id)
        if order is None:
            return
        order.status = status
        for key, value in values.items():
            setattr(order, key, value)
        if release:
            order.claimed_by = None
            order.claimed_at = None
        order.updated_at = utcnow()
        session.add(order)


def get_sync_state(store: Store, name: str) -> SyncState | None:
    with store.session() as session:
        return session.get(SyncState, name)


def set_sync_state(session: Session, name: str, value: str) -> None:
    row = session.get(SyncState, name)
    if row is None:
        session.add(SyncState(name=name, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()
        session.add(row)


def delete_sync_state(session: Session, name: str) -> None:
    row = session.get(SyncState, name)
    if row is not None:
        session.delete(row)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def order_to_dict(order: Order, *, full: bool = False) -> dict[str, Any]:
    """The JSON shape of `orders list/show --json`: stable keys, no secrets."""
    result: dict[str, Any] = {
        "id": order.id,
        "status": order.status,
        "source": order.source,
        "product": order.product_name,
        "product_id": order.product_id,
        "template": order.template_name,
        "problem": order.problem,
        "client": order.client_name,
        "client_email": order.client_email,
        "cpus": order.cpus,
        "memory_mib": order.memory_mib,
        "disk_gib": order.disk_gib,
        "os_choice": order.os_choice,
        "hostname": order.hostname,
        "billing_status": order.billing_status,
        "created_at": _iso(order.created_at),
        "claimed_by": order.claimed_by,
        "claimed_at": _iso(order.claimed_at),
    }
    if full:
        result.update(
            {
                "service_id": order.service_id,
                "client_company": order.client_company,
                "paid_at": _iso(order.paid_at),
                "updated_at": _iso(order.updated_at),
                "seen_at": _iso(order.seen_at),
                "handed_over_at": _iso(order.handed_over_at),
                "notes": order.notes,
                "data": order.data,
                "raw": order.raw,
            }
        )
    return result
