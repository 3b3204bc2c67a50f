"""The console's tables.

Secrets are never columns: license keys and passwords live in the keyring, and rows keep
only a reference and a masked tail. `raw` payloads are stored with secrets stripped.
Times are timezone-aware UTC; SQLModel's UTCDateTime keeps them so in SQLite too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, overload

from sqlalchemy import JSON, Column, Index, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import AutoString, Field, SQLModel

from console.store.states import JobState, OrderStatus, Step


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def ensure_aware(moment: datetime) -> datetime: ...
@overload
def ensure_aware(moment: None) -> None: ...
def ensure_aware(moment: datetime | None) -> datetime | None:
    """SQLite may hand back naive datetimes; the store writes UTC, so read them as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class _StrEnumColumn(TypeDecorator[StrEnum]):
    """A plain string column (the schema is unchanged) read back as its StrEnum, so a row
    loaded from the database carries the same type as one built in code."""

    impl = AutoString
    cache_ok = True

    def __init__(self, enum: type[StrEnum]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else str(self.enum(value))

    def process_result_value(self, value: Any, dialect: Any) -> StrEnum | None:
        return None if value is None else self.enum(value)


def merge_data(current: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, Any]:
    """A JSON `data` column with `changes` merged in; a None value removes its key."""
    merged = dict(current or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class Order(SQLModel, table=True):
    __tablename__ = "orders"

    id: str = Field(primary_key=True, description="billing order id (or file/manual id)")
    source: str = Field(index=True, description="whmcs | file | manual")
    service_id: str | None = Field(default=None, index=True)
    client_name: str = ""
    client_email: str = ""
    client_company: str = ""
    product_id: str | None = None
    product_name: str = ""
    cpus: int | None = None
    memory_mib: int | None = None
    disk_gib: int | None = None
    os_choice: str | None = None
    hostname: str | None = None
    status: OrderStatus = Field(
        default=OrderStatus.NEW, index=True, sa_type=_StrEnumColumn(OrderStatus)
    )
    billing_status: str | None = None
    problem: str | None = Field(
        default=None, description="why it cannot be provisioned, and the fix"
    )
    template_name: str | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    paid_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)
    seen_at: datetime | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    handed_over_at: datetime | None = None
    notes: str = ""
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Job(SQLModel, table=True):
    """One provisioning of one order. At most one unfinished job per order (partial index)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index(
            "one_open_job_per_order",
            "order_id",
            unique=True,
            sqlite_where=text("state NOT IN ('done', 'cancelled')"),
            postgresql_where=text("state NOT IN ('done', 'cancelled')"),
        ),
    )

    id: str = Field(primary_key=True)
    order_id: str = Field(foreign_key="orders.id", index=True)
    engine: str = ""
    state: JobState = Field(default=JobState.PLANNED, index=True, sa_type=_StrEnumColumn(JobState))
    failed_step: Step | None = Field(default=None, sa_type=_StrEnumColumn(Step))
    plan: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    vm_id: str | None = None
    vm_name: str | None = None
    vm_created_by_job: bool = False
    ips: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    attempts: int = 0
    error_code: str | None = None
    error_message: str | None = None
    error_hint: str | None = None
    correlation_id: str = ""
    owner: str | None = Field(default=None, description="user@host of the runner holding it")
    owner_pid: int | None = None
    heartbeat_at: datetime | None = None
    created_by: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))

    # ---- the flags the runner keeps in `data`, by name (keys below, for writes) ----
    @property
    def cancel_requested_by(self) -> str | None:
        """Who asked for a cancel the runner has not carried out yet."""
        return (self.data or {}).get(CANCEL_REQUESTED)

    @property
    def billing_service_updated(self) -> bool:
        """WHMCS holds this VM's IP and credentials (a cancel must withdraw them)."""
        return bool((self.data or {}).get(BILLING_SERVICE_UPDATED))

    @property
    def runner_host(self) -> str | None:
        return (self.data or {}).get(RUNNER_HOST)

    @property
    def preflight_checks(self) -> list[dict[str, Any]]:
        """The preflight the launch saw (name, level, message, fix of each check)."""
        return list((self.data or {}).get(PREFLIGHT, []))

    def step_began_at(self, step: str) -> str | None:
        """When `step` first began (ISO time), kept across resumes for its time limits."""
        return (self.data or {}).get(since_key(step))


# Keys of Job.data (the flags above); a None value given to update_job removes one.
CANCEL_REQUESTED = "cancel_requested"
BILLING_SERVICE_UPDATED = "billing_service_updated"
RUNNER_HOST = "runner_host"
PREFLIGHT = "preflight"


def since_key(step: str) -> str:
    return f"since_{step}"


class JobEvent(SQLModel, table=True):
    """Append-only: what happened, to which order or job, and who did it. Also the audit trail."""

    __tablename__ = "job_events"

    id: int | None = Field(default=None, primary_key=True)
    job_id: str | None = Field(default=None, foreign_key="jobs.id", index=True)
    order_id: str | None = Field(default=None, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    kind: str = Field(
        index=True, description="step_started | step_finished | step_failed | engine | audit | …"
    )
    step: str | None = None
    actor: str = ""
    message: str = ""
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class TemplateRecord(SQLModel, table=True):
    """The catalog as last read from an engine, so the console starts with something to show."""

    __tablename__ = "templates"

    engine: str = Field(primary_key=True)
    engine_id: str = Field(primary_key=True)
    name: str = Field(index=True)
    version_number: int = 1
    version_name: str = ""
    os_type: str = ""
    description: str = ""
    cpus: int = 1
    memory_mib: int = 0
    disk_gib: int = 0
    sealed_at: datetime | None = None
    status: str = ""
    apps: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    is_windows: bool = False
    storage_domain_ids: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    refreshed_at: datetime = Field(default_factory=utcnow)


class SyncState(SQLModel, table=True):
    """Small named facts such as when billing was last reached."""

    __tablename__ = "sync_state"

    name: str = Field(primary_key=True)
    value: str = ""
    updated_at: datetime = Field(default_factory=utcnow)
