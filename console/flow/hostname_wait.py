"""A guest reporting another hostname than the plan's: said at once, decided by a person.

While ip_wait gives cloud-init (or sysprep) its grace period to set the planned name, the
job carries the name the guest reports (`hostname_mismatch` in Job.data) and the log says
so, so nobody waits five minutes in silence. An engineer may end the wait early from the
console or the CLI: `accept` hands the VM over under the name it reports, `fail` fails the
step now. The request is stored on the job; the runner reads it at its next poll, so any
console (or the CLI on another host) can answer for a job run elsewhere.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from console.errors import BadInput
from console.flow.context import RunContext
from console.flow.errors import StepFailed
from console.store import audit
from console.store import jobs as repo
from console.store.db import Store
from console.store.models import Job, utcnow
from console.store.states import JobState, Step

# Keys of Job.data.
MISMATCH = "hostname_mismatch"  # {"reported", "expected", "attempt", "seen_at"}
DECISION = "hostname_decision"  # {"decision": accept | fail, "by": user@host}
ACCEPTED = "hostname_accepted"  # the reported name an engineer accepted


class HostnameDecision(StrEnum):
    ACCEPT = "accept"
    FAIL = "fail"


def mismatch_of(job: Job) -> dict[str, Any] | None:
    """The hostname the guest reports against the plan's, while ip_wait waits on it."""
    if job.state != JobState.IP_WAIT:
        return None
    seen = (job.data or {}).get(MISMATCH)
    return dict(seen) if isinstance(seen, dict) else None


def waiting_text(seen: dict[str, Any]) -> str:
    """What the console's run pane and the log say about the wait."""
    return (
        f"guest reports {seen.get('reported')!r}, waiting up to "
        f"{format_wait(seen.get('grace_seconds', 0))} for {seen.get('init_kind', 'cloud-init')} "
        f"to set {seen.get('expected')!r}"
    )


def format_wait(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f}s"


def request_decision(store: Store, job_id: str, decision: HostnameDecision, actor: str) -> Job:
    """Ask the runner of a job waiting on a hostname mismatch to accept it or fail now."""
    job = repo.find_job(store, job_id)
    if job is None:
        raise BadInput(f"no job {job_id}", "list jobs with vps-console jobs list")
    seen = mismatch_of(job)
    if seen is None:
        raise BadInput(
            f"job {job_id} is {job.state}, not waiting on a guest's hostname",
            "only a job at ip_wait whose guest reports another hostname can be decided",
        )
    job = repo.update_job(store, job_id, data={DECISION: {"decision": decision, "by": actor}})
    with store.session() as session:
        audit.record(
            session,
            f"hostname_{decision}",
            actor=actor,
            order_id=job.order_id,
            job_id=job_id,
            message=f"{decision} the reported hostname {seen.get('reported')!r} "
            f"(plan: {seen.get('expected')!r})",
        )
    return job


def on_mismatch(
    ctx: RunContext, reported: str, ips: tuple[str, ...]
) -> tuple[str, dict[str, Any]] | None:
    """Called by ip_wait on each poll that sees `reported` instead of the plan's name:
    announces it once per run, then carries out an engineer's decision if one came."""
    job, plan = ctx.job, ctx.plan
    seen = (job.data or {}).get(MISMATCH) or {}
    if seen.get("reported") != reported or seen.get("attempt") != job.attempts:
        seen = {
            "reported": reported,
            "expected": plan.hostname,
            "init_kind": plan.init_kind,
            "grace_seconds": ctx.timing.hostname_grace_seconds,
            "attempt": job.attempts,
            "seen_at": utcnow().isoformat(),
        }
        ctx.save(data={MISMATCH: seen, DECISION: None})
        ctx.record("info", Step.IP_WAIT, waiting_text(seen), hostname_mismatch=reported)
        return None
    wanted = (job.data or {}).get(DECISION)
    if not wanted:
        return None
    by = wanted.get("by", "someone")
    ctx.save(data={DECISION: None, MISMATCH: None})
    if wanted.get("decision") == HostnameDecision.ACCEPT:
        return (
            f"guest reports {', '.join(ips)} as {reported}; {by} accepted that name "
            f"(plan: {plan.hostname})",
            {"ips": list(ips), "data": {ACCEPTED: reported}},
        )
    raise StepFailed(
        f"the guest reports hostname {reported!r} but the plan says {plan.hostname!r}; "
        f"{by} failed the step without waiting longer",
        f"check that {plan.init_kind} ran and the template was sealed; fix the name, then retry",
        code="hostname_mismatch",
    )


# What ip_wait saves when it ends with the planned name: no mismatch left to show.
CLEARED: dict[str, Any] = {MISMATCH: None, DECISION: None}
