"""How long each finished step of a provisioning took, with what drives it: the history
the ETA is estimated from (console/flow/eta.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Field, SQLModel, col, select

from console.store.db import Store
from console.store.models import utcnow


class StepRun(SQLModel, table=True):
    __tablename__ = "step_runs"

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(index=True)
    step: str = Field(index=True)
    template_name: str = ""
    disk_gib: int = 0  # what was copied for a clone step: the template's disk
    storage_domain: str = ""
    source: str = "clone"  # clone | pool
    seconds: float = 0.0
    finished_at: datetime = Field(default_factory=utcnow)


def add(store: Store, run: StepRun) -> None:
    with store.session() as session:
        session.add(run)
        session.commit()


def runs(
    store: Store, steps: Iterable[str], *, source: str | None = None, limit: int = 2000
) -> list[StepRun]:
    """The latest finished runs of `steps` (newest first), of one source when given."""
    with store.session() as session:
        query = select(StepRun).where(col(StepRun.step).in_(list(steps)))
        if source is not None:
            query = query.where(col(StepRun.source) == source)
        return list(session.exec(query.order_by(col(StepRun.id).desc()).limit(limit)))
