"""The warm pool: VMs cloned ahead of orders, so that an order skips the clone.

Each `[[pool]]` entry keeps `size` VMs cloned from its template's latest version on its
cluster (and storage domain), down and never started, named `pool-<template>-<hex>` and
carrying the pool mark (console.flow.marks) instead of an order mark.

Refill (`refill`): reconcile, then act. The engine says which pool VMs exist (found by
name and mark); the store's rows (console.store.pool) are corrected from it, then VMs of
an older template version or past `max_age_hours` are retired (a compare-and-set in the
store first, so one an order has taken is never removed), and missing ones are cloned.
One refiller per pool at a time, by a lease in the store.

Take (`take_for`, called by the cloning step before it would clone): the job claims a
ready row in the store (one conditional UPDATE: one winner per VM, even with several
consoles on one PostgreSQL store), records the claim on the job, checks the VM on the
engine, then renames and re-marks it in one engine call (pool mark → the order's mark).
A crash before that call leaves the VM in the pool under its pool name, claimed by the
job, whose resume finishes the take; after it, the VM is the order's by name and mark and
the usual lookup adopts it. A claim whose job was cancelled before the rename goes back to
the pool at the next refill.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from console.config import Config, PoolEntry
from console.flow import marks
from console.flow.context import RunContext
from console.flow.services import Services
from console.ovirt import Engine, EngineError, EngineNotFound, Template, Vm
from console.store import jobs as job_repo
from console.store import pool as repo
from console.store.db import Store
from console.store.models import ensure_aware, utcnow
from console.store.pool import PoolVm, PoolVmState
from console.store.states import JobState

log = logging.getLogger(__name__)

POOL_VM = "pool_vm"  # Job.data: the pool VM this job claimed (its name in the pool)
POOL_SEARCH = f"name={marks.POOL_NAME_PREFIX}*"
LEASE_SECONDS = 120.0
FINISHED_JOB_STATES = (JobState.DONE, JobState.CANCELLED)


def pool_vm_name(template: str) -> str:
    return f"{marks.POOL_NAME_PREFIX}{template}-{uuid.uuid4().hex[:8]}"


def entry_engine(config: Config, entry: PoolEntry) -> str:
    return config.engine(entry.engine).name


def key_of(config: Config, entry: PoolEntry) -> str:
    return repo.pool_key(entry_engine(config, entry), entry.template, entry.cluster)


# ---------------------------------------------------------------- take
def take_for(ctx: RunContext) -> tuple[Vm, str] | None:
    """Give the job a pool VM instead of a clone: (the VM, now the order's, and what was
    done), or None when the pool has none for its template version and cluster."""
    plan = ctx.plan
    while True:
        row = repo.claimed_by(ctx.store, ctx.job_id) or repo.claim(
            ctx.store,
            engine=plan.engine or ctx.runner.services.config.engine().name,
            template_id=plan.template_id,
            cluster=plan.cluster,
            job_id=ctx.job_id,
            order_id=plan.order_id,
        )
        if row is None:
            if ctx.job.data.get(POOL_VM):
                ctx.save(data={POOL_VM: None})
            return None
        # The intent is on the job before the engine is touched: a resume, `jobs show` and
        # the ETA see that this job takes a pool VM.
        ctx.save(data={POOL_VM: row.name})
        vm = _pool_vm(ctx, row)
        if vm is None:
            repo.forget(ctx.store, row.name)
            ctx.record("info", ctx.job.state, f"pool VM {row.name} is not usable; next one")
            continue
        renamed = _rename(ctx, row, vm.id)
        ctx.save(vm_id=renamed.id, vm_name=renamed.name, vm_created_by_job=True)
        ready = ensure_aware(row.ready_at)
        age = f", ready for {_age(utcnow() - ready)}" if ready else ""
        return renamed, (
            f"took pool VM {row.name} ({row.template_name} v{row.template_version}{age}) "
            f"as {renamed.name}: no clone to wait for"
        )


def _rename(ctx: RunContext, row: PoolVm, vm_id: str) -> Vm:
    """One engine call: the order's name and mark replace the pool's together."""
    plan = ctx.plan
    return ctx.call(
        f"take pool VM {row.name} as {plan.vm_name}",
        lambda: ctx.engine.update_vm(
            vm_id,
            name=plan.vm_name,
            comment=marks.comment(plan.order_id, plan.service_id, ctx.job_id),
            description=marks.description(plan.order_id, plan.service_id, ctx.job_id),
            correlation_id=ctx.job.correlation_id,
        ),
    )


def _pool_vm(ctx: RunContext, row: PoolVm) -> Vm | None:
    """The claimed VM when it is still a usable pool VM on the engine: same name, pool
    mark, down. One started or re-marked by hand is not taken (nor touched)."""
    if not row.vm_id:
        return None
    try:
        vm = ctx.read_vm(row.vm_id, detail=False)
    except EngineNotFound:
        return None
    if vm.name != row.name or marks.pool_of(vm) is None or vm.status != "down":
        return None
    return vm


def took_from_pool(data: dict[str, object] | None) -> bool:
    return bool((data or {}).get(POOL_VM))


# ---------------------------------------------------------------- refill
@dataclass
class RefillReport:
    pool_key: str
    actions: list[str] = field(default_factory=list)
    error: str = ""
    held_by: str | None = None

    def line(self) -> str:
        if self.held_by:
            return f"{self.pool_key}: refilled by {self.held_by} now; skipped"
        text = "; ".join(self.actions) or "full, nothing to do"
        return f"{self.pool_key}: {text}" + (f" (error: {self.error})" if self.error else "")


class PoolKeeper:
    """Refills every configured pool; `now` is injectable so tests can age VMs."""

    def __init__(self, services: Services, *, now: Callable[[], datetime] = utcnow):
        self.services = services
        self.store = services.store
        self.now = now
        self.holder = services.actor

    def refill(self) -> list[RefillReport]:
        reports = []
        for entry in self.services.config.pool:
            try:
                reports.append(self.refill_entry(entry))
            except EngineError as error:
                key = key_of(self.services.config, entry)
                repo.note(self.store, key, "refill failed", error=error.message)
                reports.append(RefillReport(key, error=error.message))
        return reports

    def refill_entry(self, entry: PoolEntry) -> RefillReport:
        key = key_of(self.services.config, entry)
        report = RefillReport(key)
        if not repo.acquire_refill(self.store, key, self.holder, LEASE_SECONDS):
            report.held_by = repo.refills(self.store).get(key, repo.PoolRefill(pool_key=key)).holder
            return report
        try:
            self._refill(entry, key, report)
        finally:
            repo.release_refill(self.store, key, self.holder)
        if report.actions or report.error:
            repo.note(self.store, key, "; ".join(report.actions), error=report.error)
        return report

    def _refill(self, entry: PoolEntry, key: str, report: RefillReport) -> None:
        engine = self.services.engine(entry.engine)
        latest = latest_version(engine.list_templates(search=f"name={entry.template}"))
        if latest is None:
            report.error = f"no template {entry.template} (status ok) on the engine"
            return
        on_engine = self._reconcile(entry, key, engine.list_vms(search=POOL_SEARCH), report)
        by_name = {vm.name: vm for vm in on_engine}
        now = self.now()
        keep: list[PoolVm] = []
        for row in repo.rows(self.store, key):
            vm = by_name.get(row.name)
            if row.state == PoolVmState.RETIRING:
                self._remove(engine, row, vm, "retired earlier", report)
                continue
            if row.state not in (PoolVmState.READY, PoolVmState.CLONING):
                continue
            reason = self._stale(row, latest, entry, now)
            if reason is None:
                keep.append(row)
            elif vm is not None and vm.status == "image_locked":
                keep.append(row)  # the engine refuses to remove it while copying; next time
            elif repo.retire(self.store, row.name):
                self._remove(engine, row, vm, reason, report)
        for row in keep[entry.size :]:  # newest first out: the pool was made smaller
            if repo.retire(self.store, row.name):
                self._remove(engine, row, by_name.get(row.name), "pool size lowered", report)
        for _ in range(entry.size - len(keep)):
            self._clone(engine, entry, key, latest, report)

    def _reconcile(
        self, entry: PoolEntry, key: str, found: list[Vm], report: RefillReport
    ) -> list[Vm]:
        """Rows from the engine: adopt pool VMs without a row (a refiller killed after its
        clone call), mark copied ones ready, forget rows whose VM is gone; a claim whose
        job ended without renaming its VM returns that VM to the pool."""
        ours = [
            vm
            for vm in found
            if (mark := marks.pool_of(vm)) is not None
            and mark[0] == entry.template
            and mark[2] == entry.cluster
        ]
        rows = {row.name: row for row in repo.rows(self.store, key)}
        for vm in ours:
            row = rows.get(vm.name)
            mark = marks.pool_of(vm)
            assert mark is not None
            if row is None:
                repo.add(
                    self.store,
                    PoolVm(
                        name=vm.name,
                        vm_id=vm.id,
                        engine=entry_engine(self.services.config, entry),
                        pool_key=key,
                        template_name=entry.template,
                        template_id=vm.template_id or "",
                        template_version=mark[1],
                        cluster=entry.cluster,
                        storage_domain=entry.storage_domain,
                        state=PoolVmState.CLONING.value,
                        created_at=vm.created_at or utcnow(),
                    ),
                )
                report.actions.append(f"adopted {vm.name}")
                row = repo.get(self.store, vm.name)
            assert row is not None
            if row.state == PoolVmState.CLONING and vm.status == "down":
                repo.set_vm(self.store, row.name, vm_id=vm.id, ready=True)
            elif row.state == PoolVmState.TAKEN and row.job_id:
                job = job_repo.find_job(self.store, row.job_id)
                if job is None or job.state in FINISHED_JOB_STATES:
                    repo.unclaim(self.store, row.name, row.job_id)
                    report.actions.append(f"{vm.name} back in the pool (its job ended)")
        names = {vm.name for vm in ours}
        for row in rows.values():
            if row.name in names:
                continue
            if row.state == PoolVmState.TAKEN:
                job = job_repo.find_job(self.store, row.job_id) if row.job_id else None
                if job is None or job.state in FINISHED_JOB_STATES:
                    repo.forget(self.store, row.name)  # renamed into its order: history done
            else:
                repo.forget(self.store, row.name)  # lost clone request, or removed by hand
        return ours

    def _stale(self, row: PoolVm, latest: Template, entry: PoolEntry, now: datetime) -> str | None:
        if row.template_version < latest.version_number:
            return f"v{row.template_version} < v{latest.version_number}"
        created = ensure_aware(row.created_at)
        if created is not None and now - created > timedelta(hours=entry.max_age_hours):
            return f"older than {entry.max_age_hours} h"
        return None

    def _remove(
        self, engine: Engine, row: PoolVm, vm: Vm | None, reason: str, report: RefillReport
    ) -> None:
        if vm is not None and marks.pool_of(vm) is not None and vm.status == "down":
            engine.remove_vm(vm.id)
        elif vm is not None and vm.status != "down":
            return  # not ours to stop: left retiring, tried again next time
        repo.forget(self.store, row.name)
        report.actions.append(f"removed {row.name} ({reason})")

    def _clone(
        self,
        engine: Engine,
        entry: PoolEntry,
        key: str,
        latest: Template,
        report: RefillReport,
    ) -> None:
        name = pool_vm_name(entry.template)
        # The row first: a refiller killed during the call leaves a row the next
        # reconcile forgets (no VM) or corrects (the VM it finds by name and mark).
        repo.add(
            self.store,
            PoolVm(
                name=name,
                engine=entry_engine(self.services.config, entry),
                pool_key=key,
                template_name=entry.template,
                template_id=latest.id,
                template_version=latest.version_number,
                cluster=entry.cluster,
                storage_domain=entry.storage_domain,
            ),
        )
        try:
            vm = engine.clone_vm(
                name,
                template_id=latest.id,
                cluster=entry.cluster,
                description=marks.pool_description(entry.template, latest.version_number),
                comment=marks.pool_comment(entry.template, latest.version_number, entry.cluster),
                storage_domain=entry.storage_domain or None,
            )
        except EngineError as error:
            repo.forget(self.store, name)
            report.error = error.message
            raise
        repo.set_vm(self.store, name, vm_id=vm.id)
        report.actions.append(f"cloning {name} from v{latest.version_number}")


def latest_version(templates: list[Template]) -> Template | None:
    usable = [t for t in templates if t.status == "ok"]
    return max(usable, key=lambda t: t.version_number) if usable else None


# ---------------------------------------------------------------- status
@dataclass(frozen=True)
class PoolStatus:
    entry: PoolEntry
    key: str
    ready: int
    cloning: int
    taken: int
    retiring: int
    versions: tuple[int, ...]
    oldest_age: timedelta | None
    last_action: str
    last_action_at: datetime | None
    last_error: str
    refilling_by: str | None

    def line(self) -> str:
        """`alma9-cpanel on prod-a: 3/4 ready, 1 cloning (v3), oldest 2h10m`."""
        parts = [f"{self.ready}/{self.entry.size} ready"]
        if self.cloning:
            parts.append(f"{self.cloning} cloning")
        if self.taken:
            parts.append(f"{self.taken} being taken")
        versions = ", ".join(f"v{v}" for v in self.versions)
        text = f"pool {self.entry.template} on {self.entry.cluster}: " + ", ".join(parts)
        if versions:
            text += f" ({versions})"
        if self.oldest_age is not None:
            text += f", oldest {_age(self.oldest_age)}"
        if self.last_error:
            text += f"; last refill failed: {self.last_error}"
        return text


def status(config: Config, store: Store, *, now: datetime | None = None) -> list[PoolStatus]:
    """Each configured pool from the store (no engine call: the refiller keeps it true)."""
    moment = now or utcnow()
    activity = repo.refills(store)
    result = []
    for entry in config.pool:
        key = key_of(config, entry)
        rows = repo.rows(store, key)
        by_state = {s: [r for r in rows if r.state == s] for s in PoolVmState}
        live = by_state[PoolVmState.READY] + by_state[PoolVmState.CLONING]
        ages = [moment - c for r in live if (c := ensure_aware(r.created_at)) is not None]
        refill = activity.get(key)
        lease = refill.lease_until if refill else None
        result.append(
            PoolStatus(
                entry=entry,
                key=key,
                ready=len(by_state[PoolVmState.READY]),
                cloning=len(by_state[PoolVmState.CLONING]),
                taken=len(by_state[PoolVmState.TAKEN]),
                retiring=len(by_state[PoolVmState.RETIRING]),
                versions=tuple(sorted({r.template_version for r in live})),
                oldest_age=max(ages) if ages else None,
                last_action=refill.last_action if refill else "",
                last_action_at=refill.last_action_at if refill else None,
                last_error=refill.last_error if refill else "",
                refilling_by=refill.holder if refill and lease and lease > moment else None,
            )
        )
    return result


def pool_rows(store: Store) -> list[PoolVm]:
    return repo.rows(store)


def _age(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d"
