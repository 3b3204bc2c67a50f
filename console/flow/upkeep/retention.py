"""Retention: keep the newest `keep_versions` versions of a template; of the older ones, remove
those nothing uses. A version still used is kept and the reason said: VMs based on it (the
engine refuses to remove it anyway), an unfinished provisioning job or refresh that clones from
it, a product pinned to it, or the base version (the engine removes a base only after its
sub-versions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.config import Config
from console.errors import BadInput
from console.flow.catalog import refresh_catalog
from console.flow.upkeep.machine import UNFINISHED
from console.ovirt import Engine, EngineError, EngineNotFound, Template
from console.store import audit, refresh_jobs
from console.store import jobs as provisioning_jobs
from console.store.db import Store
from console.store.states import UNFINISHED_JOB_STATES, JobState


@dataclass(frozen=True)
class Kept:
    template: Template
    reason: str


@dataclass
class RetentionPlan:
    template: str
    keep_versions: int
    newest: list[Template] = field(default_factory=list)  # kept by count
    kept: list[Kept] = field(default_factory=list)  # older, still used
    remove: list[Template] = field(default_factory=list)  # older, unused
    removed: list[Template] = field(default_factory=list)
    refused: list[Kept] = field(default_factory=list)  # the engine said no

    def to_dict(self) -> dict[str, Any]:
        def label(t: Template) -> dict[str, Any]:
            return {"id": t.id, "version": t.version_number, "name": t.version_name}

        return {
            "template": self.template,
            "keep_versions": self.keep_versions,
            "newest": [label(t) for t in self.newest],
            "kept": [{**label(k.template), "reason": k.reason} for k in self.kept],
            "remove": [label(t) for t in self.remove],
            "removed": [label(t) for t in self.removed],
            "refused": [{**label(k.template), "reason": k.reason} for k in self.refused],
        }


def _users(engine: Engine, name: str) -> dict[str, list[str]]:
    """Template version id -> names of the VMs based on it (one engine search)."""
    users: dict[str, list[str]] = {}
    for vm in engine.list_vms(search=f"template={name}"):
        if vm.template_id:
            users.setdefault(vm.template_id, []).append(vm.name)
    return users


def keep_reasons(
    config: Config, store: Store, engine: Engine, name: str, versions: list[Template]
) -> dict[str, str]:
    """Why each version must stay (version id -> reason); absent: nothing uses it."""
    reasons: dict[str, str] = {}
    base = min(versions, key=lambda t: t.version_number)
    users = _users(engine, name)
    jobs = provisioning_jobs.list_jobs(store, states=(*UNFINISHED_JOB_STATES, JobState.FAILED))
    refreshes = refresh_jobs.list_refreshes(
        store, template_name=name, states=UNFINISHED + ("failed",)
    )
    pinned = {
        p.version: p.billing_product
        for p in config.catalog.products
        if p.template == name and p.version != "latest"
    }
    for template in versions:
        why = []
        vms = sorted(users.get(template.id, []))
        if vms:
            shown = ", ".join(vms[:3]) + (f" and {len(vms) - 3} more" if len(vms) > 3 else "")
            why.append(f"{len(vms)} VM(s) are based on it ({shown})")
        for job in jobs:
            if (job.plan or {}).get("template_id") == template.id:
                why.append(f"provisioning job {job.id} (order {job.order_id}) clones from it")
        for row in refreshes:
            if row.source_template_id == template.id:
                why.append(f"refresh {row.id} builds from it")
        if template.version_number in pinned:
            why.append(f"product {pinned[template.version_number]!r} is pinned to it")
        if template.id == base.id and len(versions) > 1:
            why.append("the base version: the engine removes it only after all its sub-versions")
        if template.status != "ok":
            why.append(f"it is {template.status}")
        if why:
            reasons[template.id] = "; ".join(why)
    return reasons


def versions_of(engine: Engine, name: str) -> list[Template]:
    versions = [t for t in engine.list_templates(search=f"name={name}") if t.name == name]
    if not versions:
        raise BadInput(
            f"the engine has no template {name!r}", "check the name with vps-console templates list"
        )
    return sorted(versions, key=lambda t: t.version_number, reverse=True)


def plan_retention(config: Config, store: Store, engine: Engine, name: str) -> RetentionPlan:
    versions = versions_of(engine, name)
    keep = config.catalog.upkeep_for(name).keep_versions
    plan = RetentionPlan(name, keep, newest=versions[:keep])
    reasons = keep_reasons(config, store, engine, name, versions)
    for template in versions[keep:]:
        if template.id in reasons:
            plan.kept.append(Kept(template, reasons[template.id]))
        else:
            plan.remove.append(template)
    return plan


def _remove(engine: Engine, store: Store, actor: str, template: Template, why: str) -> str | None:
    """Remove one version; the engine's refusal comes back as the reason, else None."""
    try:
        engine.remove_template(template.id)
    except EngineNotFound:
        return None
    except EngineError as error:
        return error.detail or error.message
    with store.session() as session:
        audit.record(
            session,
            "template_retired",
            actor=actor,
            message=f"{template.label} ({template.version_name}) removed: {why}",
            template=template.name,
            version=template.version_number,
        )
    return None


def apply_retention(
    plan: RetentionPlan, engine: Engine, store: Store, actor: str, engine_name: str
) -> RetentionPlan:
    for template in plan.remove:
        refusal = _remove(
            engine, store, actor, template, f"older than the newest {plan.keep_versions} and unused"
        )
        if refusal is None:
            plan.removed.append(template)
        else:
            plan.refused.append(Kept(template, refusal))
    if plan.removed:
        refresh_catalog(engine, store, engine_name, removed=frozenset(t.id for t in plan.removed))
    return plan


def retire(
    config: Config,
    store: Store,
    engine: Engine,
    actor: str,
    engine_name: str,
    name: str,
    version: int,
) -> Template:
    """Remove one version by hand, refused with the reason while something uses it."""
    versions = versions_of(engine, name)
    template = next((t for t in versions if t.version_number == version), None)
    if template is None:
        raise BadInput(
            f"{name} has no version {version}",
            "pick one of versions "
            + ", ".join(
                str(t.version_number) for t in sorted(versions, key=lambda t: t.version_number)
            ),
        )
    if template.id == versions[0].id:
        raise BadInput(
            f"{template.label} is the latest version: new VMs are cloned from it",
            f"refresh the template first (vps-console templates refresh {name})",
        )
    reason = keep_reasons(config, store, engine, name, versions).get(template.id)
    if reason:
        raise BadInput(
            f"{template.label} is kept: {reason}",
            "move or remove what uses it, then retire it again",
        )
    refusal = _remove(engine, store, actor, template, "retired by hand")
    if refusal:
        raise BadInput(
            f"the engine refused to remove {template.label}: {refusal}",
            "see the engine's events for the template",
        )
    refresh_catalog(engine, store, engine_name, removed=frozenset({template.id}))
    return template
