"""The template catalog cache: the last list read from each engine, replaced whole, so the
console has a catalog to show (marked with its age) before, or without, the engine."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, delete, select

from console.store.db import Store
from console.store.models import TemplateRecord, utcnow


def replace_catalog(store: Store, engine: str, records: Iterable[TemplateRecord]) -> None:
    """The engine's whole list replaces what was cached for it (templates removed go too)."""
    now = utcnow()
    with store.session() as session:
        session.exec(delete(TemplateRecord).where(col(TemplateRecord.engine) == engine))
        for record in records:
            record.engine, record.refreshed_at = engine, now
            session.add(record)


def cached_catalog(store: Store, engine: str) -> list[TemplateRecord]:
    with store.session() as session:
        return list(
            session.exec(
                select(TemplateRecord)
                .where(col(TemplateRecord.engine) == engine)
                .order_by(col(TemplateRecord.name), col(TemplateRecord.version_number))
            )
        )
