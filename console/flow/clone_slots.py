"""The gate before a full clone: at most N clones at once per storage domain and engine.

Parallel full clones on one domain are what make real engines time out and leave locked
images, so a job about to clone first takes a slot of its template's storage domain
(console.store.clone_slots, decided in the store so it holds across consoles and
workers) and waits, saying what for, while all of them are busy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.store import clone_slots as slots

if TYPE_CHECKING:
    from console.flow.context import RunContext

DOMAIN = "storage_domain"  # Job.data: the domain the job's clone lands on
WAITING = "waiting_for"  # Job.data: what the job waits for, while it does


def storage_domain(ctx: RunContext) -> str:
    """The name of the domain the clone is written to: that of the template's disks
    (the engine copies a template's disk to its own domain unless told otherwise)."""
    known = (ctx.job.data or {}).get(DOMAIN)
    if known:
        return str(known)
    plan = ctx.plan
    templates = ctx.call(
        f"read template {plan.template_name}",
        lambda: ctx.engine.list_templates(search=f"name={plan.template_name}"),
        changes=False,
    )
    template = next((t for t in templates if t.id == plan.template_id), None)
    ids = template.storage_domain_ids if template is not None else ()
    name = ids[0] if ids else "unknown domain"
    if ids:
        domains = ctx.call("list storage domains", ctx.engine.storage_domains, changes=False)
        name = next((d.name for d in domains if d.id == ids[0]), ids[0])
    ctx.save(data={DOMAIN: name})
    return name


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


__all__ = ["DOMAIN", "WAITING", "storage_domain", "wait_for_slot"]
