"""The audit trail: append-only rows in job_events with kind "audit".

Callers pass masked values only; this module refuses nothing, so masking is the caller's
duty (see console.secrets.mask) and a redaction test scans the database for leaks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from console.store.models import JobEvent, utcnow


def record(
    session: Session,
    action: str,
    *,
    actor: str,
    order_id: str | None = None,
    job_id: str | None = None,
    message: str = "",
    **data: Any,
) -> JobEvent:
    event = JobEvent(
        kind="audit",
        step=action,
        actor=actor,
        order_id=order_id,
        job_id=job_id,
        message=message,
        data=data,
        at=utcnow(),
    )
    session.add(event)
    return event


def entries(
    session: Session,
    *,
    since: datetime | None = None,
    order_id: str | None = None,
    limit: int | None = None,
) -> list[JobEvent]:
    query = select(JobEvent).where(JobEvent.kind == "audit")
    if since is not None:
        query = query.where(JobEvent.at >= since)
    if order_id is not None:
        query = query.where(JobEvent.order_id == order_id)
    query = query.order_by(col(JobEvent.at).desc(), col(JobEvent.id).desc())
    if limit:
        query = query.limit(limit)
    return list(session.exec(query))
