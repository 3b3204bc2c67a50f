"""The license vault's table and the one atomic step it needs: taking a key out of stock.

A row is a key's reference, never the key: the key itself is in the secret store under
`secret_name`; here are its kind, product, masked tail, a fingerprint (SHA-256 of the
canonical key, so a duplicate is recognised without keeping the key), its state and to
which order and VM it belongs. Its history is the audit trail (console.store.audit),
where every change is recorded with `data.license` = the reference.

Taking a key is one conditional UPDATE (`... WHERE id = (oldest available) AND state =
'available'`, console.store.updates.claim_oldest): on SQLite writers are serialised, so the
statement sees no rival; on PostgreSQL the inner SELECT skips rows another transaction has
locked (FOR UPDATE SKIP LOCKED), and the outer condition is re-checked after any wait. A
partial unique index
keeps one active (reserved or bound) key per order and kind, so two reservations for the
same order that race end with one key, not two.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, text
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, func, select

from console.store import updates
from console.store.db import Store
from console.store.models import JobEvent, utcnow


class LicenseState(StrEnum):
    """Where a key is. `available` is stock; `released` is not a state but the action that
    puts a key back in stock (see LicenseAction)."""

    AVAILABLE = "available"
    RESERVED = "reserved"  # set aside for an order (plan drafted or launched)
    BOUND = "bound"  # on that order's VM (the VM has been started with it)
    RETIRED = "retired"  # burnt: never handed out again


ACTIVE_STATES = (LicenseState.RESERVED, LicenseState.BOUND)
_ACTIVE_SQL = "state IN ('reserved', 'bound')"


class LicenseKey(SQLModel, table=True):
    __tablename__ = "license_keys"
    __table_args__ = (
        Index(
            "one_active_key_per_order_kind",
            "order_id",
            "kind",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        Index("license_stock", "kind", "state", "product"),
    )

    id: str = Field(primary_key=True, description="the key's reference, e.g. lk-3f9a1c2b7d40")
    kind: str = Field(index=True, description="windows | mssql | plesk")
    product: str = Field(default="", description="what the key licenses, e.g. 2022 Standard")
    masked: str = Field(description="the key's last group, e.g. …-3V66T")
    fingerprint: str = Field(unique=True, description="SHA-256 of the canonical key")
    secret_name: str = Field(description="where the key is in the secret store")
    state: str = Field(default=LicenseState.AVAILABLE.value)
    order_id: str | None = Field(default=None, index=True)
    vm_name: str | None = None
    note: str = ""
    imported_by: str = ""
    imported_at: datetime = Field(default_factory=utcnow)
    reserved_at: datetime | None = None
    booted_at: datetime | None = Field(
        default=None, description="when a VM was first started with it: from then on it is burnt"
    )
    updated_at: datetime = Field(default_factory=utcnow)


def take_one(
    store: Store,
    *,
    kind: str,
    order_id: str,
    product: str | None = None,
    on_taken: Callable[[Session, LicenseKey], None] | None = None,
) -> LicenseKey | None:
    """Move the oldest available key of `kind` (and `product`, when given) to reserved for
    `order_id`; None when there is none left. `on_taken` writes the audit line in the same
    transaction, so a reservation never exists without its record."""
    stock = [col(LicenseKey.kind) == kind, col(LicenseKey.state) == LicenseState.AVAILABLE.value]
    if product is not None:
        stock.append(col(LicenseKey.product) == product)

    try:
        return updates.claim_oldest(
            store,
            LicenseKey,
            key=col(LicenseKey.id),
            stock=stock,
            order_by=[col(LicenseKey.imported_at), col(LicenseKey.id)],
            values={"state": LicenseState.RESERVED.value, "order_id": order_id, "vm_name": None},
            stamped=("reserved_at", "updated_at"),
            on_taken=on_taken,
        )
    except IntegrityError:
        # The order already holds a key of this kind (a rival reservation for the same
        # order won): the caller reads that one.
        return None


def active_key(session: Session, order_id: str, kind: str) -> LicenseKey | None:
    return session.exec(
        select(LicenseKey).where(
            col(LicenseKey.order_id) == order_id,
            col(LicenseKey.kind) == kind,
            col(LicenseKey.state).in_([s.value for s in ACTIVE_STATES]),
        )
    ).first()


def keys_of_order(session: Session, order_id: str) -> list[LicenseKey]:
    """The keys an order holds (reserved or bound)."""
    return list(
        session.exec(
            select(LicenseKey)
            .where(
                col(LicenseKey.order_id) == order_id,
                col(LicenseKey.state).in_([s.value for s in ACTIVE_STATES]),
            )
            .order_by(col(LicenseKey.kind))
        )
    )


def set_state(
    session: Session,
    key: LicenseKey,
    state: LicenseState,
    *,
    expect: tuple[LicenseState, ...],
    **values: object,
) -> bool:
    """Compare-and-set: move `key` to `state` only if it is still in one of `expect`."""
    return updates.set_if(
        session,
        LicenseKey,
        [col(LicenseKey.id) == key.id, col(LicenseKey.state).in_([str(s) for s in expect])],
        {"state": state.value, "updated_at": utcnow(), **values},
    )


def find(session: Session, reference: str) -> LicenseKey | None:
    return session.get(LicenseKey, reference)


def by_fingerprint(session: Session, fingerprints: list[str]) -> dict[str, LicenseKey]:
    if not fingerprints:
        return {}
    rows = session.exec(select(LicenseKey).where(col(LicenseKey.fingerprint).in_(fingerprints)))
    return {row.fingerprint: row for row in rows}


def list_keys(
    session: Session,
    *,
    kind: str | None = None,
    state: str | None = None,
    order_id: str | None = None,
) -> list[LicenseKey]:
    query = select(LicenseKey)
    if kind:
        query = query.where(col(LicenseKey.kind) == kind)
    if state:
        query = query.where(col(LicenseKey.state) == state)
    if order_id:
        query = query.where(col(LicenseKey.order_id) == order_id)
    return list(
        session.exec(
            query.order_by(
                col(LicenseKey.kind),
                col(LicenseKey.product),
                col(LicenseKey.imported_at),
                col(LicenseKey.id),
            )
        )
    )


def stock_counts(session: Session) -> dict[tuple[str, str, str], int]:
    """{(kind, product, state): count} over the whole vault."""
    rows = session.execute(
        sa_select(
            col(LicenseKey.kind), col(LicenseKey.product), col(LicenseKey.state), func.count()
        ).group_by(col(LicenseKey.kind), col(LicenseKey.product), col(LicenseKey.state))
    )
    return {(kind, product, state): count for kind, product, state, count in rows}


def history(session: Session, reference: str) -> list[JobEvent]:
    """The audit lines about one key, oldest first."""
    return list(
        session.exec(
            select(JobEvent)
            .where(
                col(JobEvent.kind) == "audit",
                col(JobEvent.data)["license"].as_string() == reference,
            )
            .order_by(col(JobEvent.at), col(JobEvent.id))
        )
    )
