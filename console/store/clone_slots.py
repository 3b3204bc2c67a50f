"""Clone slots: how many full clones run at once on one storage domain of one engine.

A slot is a row (engine, storage domain, slot number) naming the job that holds it; the
primary key makes taking one a single insert that at most one writer wins, in SQLite and
PostgreSQL alike, so the limit holds across consoles and workers on one store. A slot
is held while its job is cloning or waiting for the copy (clone_wait); a row whose job
has left those states (done, failed, cancelled, on to resizing) is free again and is
swept by the next taker, so a crashed holder never needs a cleanup of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select

from console.store.db import Store
from console.store.models import Job, utcnow
from console.store.states import CLONE_STEPS


class CloneSlot(SQLModel, table=True):
    __tablename__ = "clone_slots"

    engine: str = Field(primary_key=True)
    storage_domain: str = Field(primary_key=True)
    slot: int = Field(primary_key=True)
    job_id: str = Field(index=True)
    taken_at: datetime = Field(default_factory=utcnow)


@dataclass(frozen=True)
class SlotOutcome:
    won: bool
    busy: tuple[str, ...] = ()  # the jobs holding the domain's slots when not won


def _holders(store: Store, engine: str, domain: str) -> tuple[str, ...]:
    with store.session() as session:
        rows = session.exec(
            select(CloneSlot.job_id).where(
                col(CloneSlot.engine) == engine, col(CloneSlot.storage_domain) == domain
            )
        )
        return tuple(rows)


def _sweep(store: Store, engine: str, domain: str) -> None:
    """Free the slots of jobs no longer cloning (or gone)."""
    cloning = select(Job.id).where(col(Job.state).in_(list(CLONE_STEPS)))
    with store.session() as session:
        session.execute(
            delete(CloneSlot).where(
                col(CloneSlot.engine) == engine,
                col(CloneSlot.storage_domain) == domain,
                col(CloneSlot.job_id).not_in(cloning),
            )
        )


def take(store: Store, engine: str, domain: str, job_id: str, limit: int) -> SlotOutcome:
    """A slot for `job_id` on (engine, domain), or who holds them all. Idempotent: a job
    that holds one already (a resume) keeps it."""
    if job_id in _holders(store, engine, domain):
        return SlotOutcome(True)
    _sweep(store, engine, domain)
    for number in range(limit):
        try:
            with store.session() as session:
                session.add(
                    CloneSlot(engine=engine, storage_domain=domain, slot=number, job_id=job_id)
                )
        except IntegrityError:
            continue
        return SlotOutcome(True)
    return SlotOutcome(False, _holders(store, engine, domain))


def release(store: Store, job_id: str) -> None:
    with store.session() as session:
        session.execute(delete(CloneSlot).where(col(CloneSlot.job_id) == job_id))


__all__ = ["CloneSlot", "SlotOutcome", "release", "take"]
