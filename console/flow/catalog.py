"""The template catalog as the console sees it: the engine's list when it answers (which
refreshes the cache), the cached one with its age when it does not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from console.ovirt import Engine, Template
from console.store.catalog import cached_catalog, replace_catalog
from console.store.db import Store
from console.store.models import TemplateRecord, ensure_aware


@dataclass(frozen=True)
class Catalog:
    templates: list[Template]
    cached_at: datetime | None = None  # when the engine last gave this list; None: never


def rank_templates(templates: list[Template], recommended: list[str]) -> list[Template]:
    """The templates to offer for an order: the recommended ones first (in their order),
    then the others by name, each name's newest version first."""

    def rank(template: Template) -> tuple[int, str, int]:
        name = template.name
        return (
            recommended.index(name) if name in recommended else len(recommended),
            name,
            -template.version_number,
        )

    return sorted(templates, key=rank)


def refresh_catalog(
    engine: Engine, store: Store, engine_name: str, *, removed: frozenset[str] = frozenset()
) -> list[Template]:
    """Ask the engine, keep the answer in the cache; engine errors go to the caller.
    `removed`: ids of templates whose removal the engine just accepted; it lists them (locked)
    until their disks are gone, but nobody can clone from them any more."""
    templates = [t for t in engine.list_templates() if t.id not in removed]
    replace_catalog(store, engine_name, [record_of(template) for template in templates])
    return templates


def catalog_from_cache(store: Store, engine_name: str) -> Catalog:
    records = cached_catalog(store, engine_name)
    if not records:
        return Catalog([], None)
    return Catalog(
        [template_of(record) for record in records],
        ensure_aware(min(record.refreshed_at for record in records)),
    )


def record_of(template: Template) -> TemplateRecord:
    return TemplateRecord(
        engine="",  # replace_catalog stamps the engine whose list it replaces
        engine_id=template.id,
        name=template.name,
        version_number=template.version_number,
        version_name=template.version_name,
        os_type=template.os_type,
        description=template.description,
        cpus=template.cpus,
        memory_mib=template.memory_mib,
        disk_gib=template.disk_gib,
        sealed_at=template.created_at,
        status=template.status,
        apps=list(template.apps),
        is_windows=template.is_windows,
        storage_domain_ids=list(template.storage_domain_ids),
    )


def template_of(record: TemplateRecord) -> Template:
    return Template(
        id=record.engine_id,
        name=record.name,
        version_number=record.version_number,
        version_name=record.version_name,
        os_type=record.os_type,
        description=record.description,
        apps=tuple(record.apps or ()),
        cpus=record.cpus,
        memory_mib=record.memory_mib,
        disk_gib=record.disk_gib,
        created_at=ensure_aware(record.sealed_at),
        status=record.status,
        is_windows=record.is_windows,
        storage_domain_ids=tuple(record.storage_domain_ids or ()),
    )
