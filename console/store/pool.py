"""The warm pool's rows: one per pool VM, and one per pool for its refiller's lease.

The engine is the truth about which pool VMs exist (console/flow/pool.py reconciles these
rows from it before acting); the rows decide who may use one. Taking a pool VM for an
order is one conditional UPDATE (`ready` → `taken`, on PostgreSQL over `FOR UPDATE SKIP
LOCKED`), like a license key's reservation: two consoles on one store racing for the last
ready VM end with one winner, and the loser clones. Retiring one (too old, an older
template version) is the same compare-and-set (`ready` → `retiring`), so a VM an order
has taken is never removed by the refiller.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, delete, select

from console.store import updates
from console.store.db import Store
from console.store.models import ensure_aware, utcnow


class PoolVmState(StrEnum):
    CLONING = "cloning"  # asked of the engine; its disks are being copied
    READY = "ready"  # down, copied: an order may take it
    TAKEN = "taken"  # claimed by one job (renamed to that order's VM name by it)
    RETIRING = "retiring"  # being removed by the refiller (old version, past max age)


class PoolVm(SQLModel, table=True):
    __tablename__ = "pool_vms"

    name: str = Field(primary_key=True, description="the VM's name while in the pool")
    vm_id: str | None = Field(default=None, index=True)
    engine: str = ""
    pool_key: str = Field(index=True, description="engine/template/cluster")
    template_name: str = ""
    template_id: str = Field(default="", index=True)
    template_version: int = 0
    cluster: str = ""
    storage_domain: str = ""
    state: str = Field(default=PoolVmState.CLONING.value, index=True)
    job_id: str | None = Field(default=None, index=True)
    order_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    ready_at: datetime | None = None
    taken_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class PoolRefill(SQLModel, table=True):
    """Who refills a pool now (a lease, so two consoles do not both fill it), and what it
    did last: the refill activity `pool status` and the console show."""

    __tablename__ = "pool_refills"

    pool_key: str = Field(primary_key=True)
    holder: str | None = None
    lease_until: datetime | None = None
    last_action: str = ""
    last_action_at: datetime | None = None
    last_error: str = ""


def pool_key(engine: str, template: str, cluster: str) -> str:
    return f"{engine}/{template}/{cluster}"


def rows(store: Store, key: str | None = None) -> list[PoolVm]:
    with store.session() as session:
        query = select(PoolVm).order_by(col(PoolVm.created_at), col(PoolVm.name))
        if key is not None:
            query = query.where(col(PoolVm.pool_key) == key)
        return list(session.exec(query))


def get(store: Store, name: str) -> PoolVm | None:
    with store.session() as session:
        return session.get(PoolVm, name)


def add(store: Store, row: PoolVm) -> PoolVm:
    with store.session() as session:
        session.add(row)
        session.commit()
        session.refresh(row)
        return row


def set_vm(store: Store, name: str, *, vm_id: str | None = None, ready: bool = False) -> None:
    """Record the engine's id of a pool VM, and (`ready`) that its copy finished."""
    now = utcnow()
    values: dict[str, object] = {"updated_at": now}
    still = [col(PoolVm.name) == name]
    if vm_id is not None:
        values["vm_id"] = vm_id
    if ready:
        values.update(ready_at=now, state=PoolVmState.READY.value)
        still.append(col(PoolVm.state) == PoolVmState.CLONING.value)
    updates.update_if(store, PoolVm, still, values)


def claim(
    store: Store, *, engine: str, template_id: str, cluster: str, job_id: str, order_id: str
) -> PoolVm | None:
    """Take the oldest ready pool VM of this template version and cluster for `job_id`;
    None when there is none. Exactly one caller wins each row."""
    return updates.claim_oldest(
        store,
        PoolVm,
        key=col(PoolVm.name),
        stock=[
            col(PoolVm.engine) == engine,
            col(PoolVm.template_id) == template_id,
            col(PoolVm.cluster) == cluster,
            col(PoolVm.state) == PoolVmState.READY.value,
        ],
        order_by=[col(PoolVm.ready_at), col(PoolVm.name)],
        values={"state": PoolVmState.TAKEN.value, "job_id": job_id, "order_id": order_id},
        stamped=("taken_at", "updated_at"),
    )


def claimed_by(store: Store, job_id: str) -> PoolVm | None:
    """The pool VM this job claimed (its take may have been cut short by a crash)."""
    with store.session() as session:
        return session.exec(
            select(PoolVm).where(
                col(PoolVm.job_id) == job_id, col(PoolVm.state) == PoolVmState.TAKEN.value
            )
        ).first()


def unclaim(store: Store, name: str, job_id: str) -> bool:
    """Back to ready: the job that claimed it ended before renaming it."""
    return updates.update_if(
        store,
        PoolVm,
        [
            col(PoolVm.name) == name,
            col(PoolVm.job_id) == job_id,
            col(PoolVm.state) == PoolVmState.TAKEN.value,
        ],
        {
            "state": PoolVmState.READY.value,
            "job_id": None,
            "order_id": None,
            "taken_at": None,
            "updated_at": utcnow(),
        },
    )


def retire(store: Store, name: str) -> bool:
    """Reserve a ready (or never-finished) pool VM for removal; False when a job took it."""
    return updates.update_if(
        store,
        PoolVm,
        [
            col(PoolVm.name) == name,
            col(PoolVm.state).in_([PoolVmState.READY.value, PoolVmState.CLONING.value]),
        ],
        {"state": PoolVmState.RETIRING.value, "updated_at": utcnow()},
    )


def forget(store: Store, name: str) -> None:
    with store.session() as session:
        session.execute(delete(PoolVm).where(col(PoolVm.name) == name))
        session.commit()


# ---------------------------------------------------------------- the refiller's lease
def acquire_refill(store: Store, key: str, holder: str, seconds: float) -> bool:
    """Hold the refill of pool `key` for `seconds` (renewed by calling again); False while
    another holder's lease runs."""
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    with store.session() as session:
        if session.get(PoolRefill, key) is None:
            session.add(PoolRefill(pool_key=key))
            try:
                session.commit()
            except IntegrityError:  # a rival inserted it first: fine, the UPDATE decides
                session.rollback()
        return updates.set_if(
            session,
            PoolRefill,
            [
                col(PoolRefill.pool_key) == key,
                (col(PoolRefill.holder) == holder)
                | col(PoolRefill.holder).is_(None)
                | (col(PoolRefill.lease_until) < now),
            ],
            {"holder": holder, "lease_until": until},
        )


def release_refill(store: Store, key: str, holder: str) -> None:
    updates.update_if(
        store,
        PoolRefill,
        [col(PoolRefill.pool_key) == key, col(PoolRefill.holder) == holder],
        {"holder": None, "lease_until": None},
    )


def note(store: Store, key: str, action: str, *, error: str = "") -> None:
    """What the refiller did last on this pool (or why it could not)."""
    with store.session() as session:
        row = session.get(PoolRefill, key) or PoolRefill(pool_key=key)
        row.last_action, row.last_action_at, row.last_error = action, utcnow(), error
        session.add(row)
        session.commit()


def refills(store: Store) -> dict[str, PoolRefill]:
    with store.session() as session:
        found = list(session.exec(select(PoolRefill)))
    for row in found:
        row.lease_until = ensure_aware(row.lease_until)
        row.last_action_at = ensure_aware(row.last_action_at)
    return {row.pool_key: row for row in found}
