"""Template refresh jobs: one row per refresh of one template, committed at every change, with
their own small event log and the lease that lets one runner act on a job.

Apart from the provisioning jobs on purpose: a refresh belongs to no order, and its states
are not the provisioning steps.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Column, ColumnElement, or_
from sqlmodel import Field, SQLModel, col, select

from console.errors import ConsoleError
from console.store import updates
from console.store.db import Store
from console.store.jobs import _pid_alive
from console.store.models import utcnow

EVENTS_KEPT = 200


class TemplateRefresh(SQLModel, table=True):
    """One refresh: build VM from the latest version, script, new sealed sub-version."""

    __tablename__ = "template_refreshes"

    id: str = Field(primary_key=True)
    engine: str = ""
    template_name: str = Field(index=True)
    state: str = Field(default="planned", index=True)
    failed_step: str | None = None
    source_template_id: str | None = None
    source_version: int | None = None
    base_template_id: str | None = None
    build_vm_id: str | None = None
    build_vm_name: str = ""
    new_template_id: str | None = None
    new_version_number: int | None = None
    new_version_name: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    error_hint: str | None = None
    correlation_id: str = ""
    owner: str | None = None
    owner_pid: int | None = None
    heartbeat_at: datetime | None = None
    created_by: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    events: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def new_refresh_id() -> str:
    return uuid.uuid4().hex[:8]


def create(
    store: Store,
    *,
    template_name: str,
    engine: str,
    created_by: str,
    build_vm_name: str,
    refresh_id: str,
    data: dict[str, Any] | None = None,
) -> TemplateRefresh:
    row = TemplateRefresh(
        id=refresh_id,
        engine=engine,
        template_name=template_name,
        build_vm_name=build_vm_name,
        created_by=created_by,
        correlation_id=f"vpsc-tpl-{refresh_id}",
        data=dict(data or {}),
        events=[
            {
                "at": utcnow().isoformat(),
                "step": "planned",
                "kind": "info",
                "message": f"refresh of {template_name} planned by {created_by}",
            }
        ],
    )
    with store.session() as session:
        session.add(row)
    return row


def get(store: Store, refresh_id: str) -> TemplateRefresh | None:
    with store.session() as session:
        row = session.get(TemplateRefresh, refresh_id)
        if row is not None:
            return row
        found = list(
            session.exec(
                select(TemplateRefresh)
                .where(col(TemplateRefresh.id).startswith(refresh_id))
                .limit(2)
            )
        )
    return found[0] if len(found) == 1 else None


def list_refreshes(
    store: Store,
    *,
    template_name: str | None = None,
    states: tuple[str, ...] | None = None,
    limit: int | None = None,
) -> list[TemplateRefresh]:
    query = select(TemplateRefresh)
    if template_name is not None:
        query = query.where(TemplateRefresh.template_name == template_name)
    if states:
        query = query.where(col(TemplateRefresh.state).in_(states))
    query = query.order_by(col(TemplateRefresh.created_at).desc())
    if limit:
        query = query.limit(limit)
    with store.session() as session:
        return list(session.exec(query))


def update_row(
    store: Store,
    refresh_id: str,
    *,
    data: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
    **values: Any,
) -> TemplateRefresh:
    """Set columns, merge keys into `data` (None removes one), append an event: one commit."""

    def log(row: TemplateRefresh) -> None:
        if event:
            row.events = [*(row.events or []), {"at": utcnow().isoformat(), **event}][-EVENTS_KEPT:]

    return updates.update_row(
        store, TemplateRefresh, refresh_id, what="template refresh", data=data, change=log, **values
    )


# ------------------------------------------------------------------------- lease
def acquire(
    store: Store, refresh_id: str, owner: str, lease_seconds: float
) -> tuple[bool, str | None]:
    """Take the job for this process: (won, who holds it otherwise). A holder that stopped
    heart-beating, or whose process is gone from this host, is taken over."""
    now, pid, host = utcnow(), os.getpid(), socket.gethostname()
    cutoff = now - timedelta(seconds=lease_seconds)
    holder = {"owner": owner, "owner_pid": pid, "heartbeat_at": now}
    won = updates.update_if(
        store,
        TemplateRefresh,
        [
            col(TemplateRefresh.id) == refresh_id,
            or_(
                col(TemplateRefresh.owner).is_(None),
                col(TemplateRefresh.heartbeat_at).is_(None),
                col(TemplateRefresh.heartbeat_at) < cutoff,
            ),
        ],
        holder,
    )
    row = get(store, refresh_id)
    if row is None:
        raise ConsoleError(f"no template refresh {refresh_id}")
    if (
        not won
        # A holder killed between taking the lease and recording its host left no host:
        # only a runner on this host gets that far without one in the same instant.
        and (row.data or {}).get("runner_host", host) == host
        and row.owner_pid
        and row.owner_pid != pid
        and not _pid_alive(row.owner_pid)
    ):
        won = updates.update_if(
            store,
            TemplateRefresh,
            [
                col(TemplateRefresh.id) == refresh_id,
                col(TemplateRefresh.owner_pid) == row.owner_pid,
            ],
            holder,
        )
    if won:
        update_row(store, refresh_id, data={"runner_host": host})
        return True, None
    return False, f"{row.owner} (pid {row.owner_pid})"


def _held_here(refresh_id: str, owner: str) -> list[ColumnElement[bool]]:
    """The lease is still this process's."""
    return [
        col(TemplateRefresh.id) == refresh_id,
        col(TemplateRefresh.owner) == owner,
        col(TemplateRefresh.owner_pid) == os.getpid(),
    ]


def heartbeat(store: Store, refresh_id: str, owner: str) -> bool:
    return updates.update_if(
        store, TemplateRefresh, _held_here(refresh_id, owner), {"heartbeat_at": utcnow()}
    )


def release(store: Store, refresh_id: str, owner: str) -> None:
    updates.update_if(
        store,
        TemplateRefresh,
        _held_here(refresh_id, owner),
        {"owner": None, "owner_pid": None, "heartbeat_at": None},
    )
