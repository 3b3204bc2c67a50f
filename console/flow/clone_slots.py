"""The gate before a full clone: at most N clones at once per storage domain and engine.

Parallel full clones on one domain are what make real engines time out and leave locked
images, so a job about to clone first takes a slot of its template's storage domain
(console.store.clone_slots, decided in the store so it holds across consoles and
workers) and waits, saying what for, while all of them are busy.

The domain is found once per job by `storage_domain`, which the ETA (console.flow.eta)
shares: a launch stores the preflight's on the job, so both read it from there first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from console.flow.pool import POOL_VM
from console.ovirt import EngineError, StorageDomain
from console.store import catalog as catalog_cache
from console.store import clone_slots as slots
from console.store import pool as pool_repo

if TYPE_CHECKING:
    from console.flow.context import RunContext

DOMAIN = "storage_domain"  # Job.data: the domain the job's clone lands on
WAITING = "waiting_for"  # Job.data: what the job waits for, while it does
UNKNOWN = "unknown domain"  # a template without disks: one slot group for all of them

_domain_names: dict[str, dict[str, str]] = {}  # engine -> storage domain id -> name


def storage_domain(ctx: RunContext, *, advisory: bool = False) -> str:
    """The name of the domain this job's VM disks are on, kept on the job once known: the
    job's own (a launch stores the preflight's), else the pool VM's it took, else its
    template's (the engine copies a template's disk to its own domain unless told
    otherwise). Storage domain names are read once per process and engine.

    The clone slots ask with `advisory=False`: the template is read from the engine
    through the job (retries, cancel), and a failing engine fails the step; a template
    without disks gives UNKNOWN. The ETA asks with `advisory=True`: the template comes from
    the catalog cache, and whatever is missing or failing gives "" (an ETA label must
    never fail a step)."""
    known = (ctx.job.data or {}).get(DOMAIN)
    if known:
        return str(known)
    name = _pool_domain(ctx)
    if not name:
        try:
            name = _template_domain(ctx, advisory=advisory)
        except EngineError:
            if not advisory:
                raise
            name = ""
    if name:
        ctx.save(data={DOMAIN: name})
    return name


def _pool_domain(ctx: RunContext) -> str:
    pool_name = (ctx.job.data or {}).get(POOL_VM)
    row = pool_repo.get(ctx.store, str(pool_name)) if pool_name else None
    return row.storage_domain if row is not None else ""


def _template_domain(ctx: RunContext, *, advisory: bool) -> str:
    plan = ctx.plan
    ids: Sequence[str]
    list_domains: Callable[[], list[StorageDomain]]
    if advisory:
        cached = catalog_cache.cached_catalog(ctx.store, plan.engine)
        ids = next((r.storage_domain_ids for r in cached if r.engine_id == plan.template_id), [])
        list_domains = ctx.engine.storage_domains  # no retries: the ETA does not wait
    else:
        templates = ctx.call(
            f"read template {plan.template_name}",
            lambda: ctx.engine.list_templates(search=f"name={plan.template_name}"),
            changes=False,
        )
        template = next((t for t in templates if t.id == plan.template_id), None)
        ids = template.storage_domain_ids if template is not None else ()

        def list_domains() -> list[StorageDomain]:
            return ctx.call("list storage domains", ctx.engine.storage_domains, changes=False)

    if not ids:
        return "" if advisory else UNKNOWN
    names = _domain_names.get(ctx.engine.name)
    if names is None or ids[0] not in names:
        names = {d.id: d.name for d in list_domains()}
        _domain_names[ctx.engine.name] = names
    return names.get(ids[0], "" if advisory else ids[0])


def wait_for_slot(ctx: RunContext) -> None:
    """Return once this job holds a clone slot; until then wait, and say so once per
    change of who is busy (a job event and Job.data's waiting_for)."""
    domain = storage_domain(ctx)
    engine = ctx.plan.engine or ctx.engine.config.name
    limit = ctx.engine.config.max_clones_per_storage_domain
    said = None
    while True:
        outcome = slots.take(ctx.store, engine, domain, ctx.job_id, limit)
        if outcome.won:
            if said is not None:
                ctx.save(data={WAITING: None})
                ctx.record("info", ctx.job.state, f"got a clone slot on {domain}")
            return
        message = (
            f"waiting for a clone slot on {domain} ({len(outcome.busy)} of {limit} busy)"
            f"; cloning: job {', '.join(outcome.busy)}"
        )
        if message != said:
            ctx.save(data={WAITING: message})
            ctx.record("info", ctx.job.state, message)
            said = message
        ctx.sleep(ctx.timing.poll_seconds * 5)


__all__ = ["DOMAIN", "UNKNOWN", "WAITING", "storage_domain", "wait_for_slot"]
