"""Pre-cloned jobs: parked at ready_for_engineer, then taken on by the engineer's launch.

A job created on payment (intake policy preclone, or provision when the plan needs a
human) carries the PARK flag: the runner stops it after clone_wait, VM copied, down,
order-marked and never started. The engineer's launch of the order does not create a
second job: it gives this one the engineer's plan (resources, hostname, keys) and its
secrets, and moves it on to resizing; from there it is an ordinary job. The template,
engine, cluster and VM name stay those of the copy (a different template is a new clone:
cancel the pre-clone first).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from console.errors import BadInput
from console.flow import job_secrets, vault
from console.flow.errors import JobBusy
from console.flow.machine import Event, State, transition
from console.flow.plan import Plan
from console.flow.preflight import Check, warnings
from console.secrets import generate_password, mask
from console.store import jobs as repo
from console.store.models import PREFLIGHT, Job, since_key
from console.store.orders import set_order_status
from console.store.states import JobState, OrderStatus, Step

if TYPE_CHECKING:
    from console.flow.context import RunContext
    from console.flow.runner import Runner

# Keys of Job.data.
PARK = "park_at_ready"  # stop at ready_for_engineer after the copy
READY_REASON = "ready_reason"  # why a human is needed (provision policy fallback)
INTAKE_POLICY = "intake_policy"  # the policy that created the job


def parks(job: Job) -> bool:
    """The job stops for the engineer once its copy is done (not yet taken on)."""
    return bool((job.data or {}).get(PARK))


def ready_reason(job: Job) -> str | None:
    return (job.data or {}).get(READY_REASON)


def next_state(job: Job, state: State, step: Step) -> State:
    """The state after `step` finished: parked after the copy of a pre-clone."""
    park = step == Step.CLONE_WAIT and parks(job)
    return transition(state, Event.PARK if park else Event.ADVANCE)


def on_parked(ctx: RunContext) -> None:
    """The copy is done: the order waits for its engineer, the VM stays down."""
    set_order_status(ctx.store, ctx.job.order_id, OrderStatus.READY_FOR_ENGINEER)
    reason = ready_reason(ctx.job)
    ctx.record(
        "finished",
        None,
        f"{ctx.plan.vm_name} is pre-cloned and down, ready for the engineer"
        + (f" ({reason})" if reason else ""),
    )


def busy_preclone(job: Job) -> JobBusy | None:
    """The launch's refusal while the order's pre-clone is still copying, else None."""
    if not parks(job) or job.state in (JobState.READY_FOR_ENGINEER, JobState.FAILED):
        return None
    return JobBusy(
        f"order {job.order_id} is being pre-cloned (job {job.id}, {job.state}); its VM is "
        "not ready for the launch yet",
        "launch it again once the order is ready_for_engineer (a minute or so), or cancel "
        f"the pre-clone with vps-console jobs cancel {job.id}",
    )


def wait_until_parked(runner: Runner, order_id: str, timeout: float) -> Job | None:
    """The order's pre-clone once parked (polling the store), None if there is none or it
    failed; raises JobBusy when it is still copying after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        job = repo.open_job_for_order(runner.store, order_id)
        if job is None or not parks(job) or job.state == JobState.FAILED:
            return None
        if job.state == JobState.READY_FOR_ENGINEER:
            return job
        if time.monotonic() > deadline:
            busy = busy_preclone(job)
            assert busy is not None
            raise busy
        time.sleep(runner.timing.poll_seconds)


def copying(runner: Runner, order_id: str) -> Job | None:
    """The order's pre-clone while it is still copying (not parked yet), else None."""
    job = repo.open_job_for_order(runner.store, order_id)
    return job if job is not None and busy_preclone(job) is not None else None


def wait_if_copying(
    runner: Runner, order_id: str, disk_gib: int, say: Callable[[], None] | None = None
) -> bool:
    """Before a launch: wait for the order's pre-clone to park (as long as a clone of that
    size may take), so the launch takes its VM on; `say` is called first when there is a
    wait. False when there was nothing to wait for."""
    if copying(runner, order_id) is None:
        return False
    if say is not None:
        say()
    wait_until_parked(runner, order_id, runner.timing.clone_limit(disk_gib))
    return True


def take_on(
    runner: Runner,
    job: Job,
    plan: Plan,
    licenses: dict[str, str],
    admin_password: str | None,
    checks: list[Check],
) -> Job:
    """The engineer's launch of a parked job: their plan and secrets, then on to resizing.
    The caller has checked the keys, run the preflight and claimed the order."""
    before = Plan.from_dict(job.plan)
    same = (before.template_id, before.engine, before.cluster, before.vm_name)
    if (plan.template_id, plan.engine, plan.cluster, plan.vm_name) != same:
        raise BadInput(
            f"order {job.order_id} was pre-cloned as {before.vm_name} from "
            f"{before.template_name} v{before.template_version} on {before.engine}/"
            f"{before.cluster}; the launch asks for {plan.template_name} "
            f"v{plan.template_version} on {plan.engine}/{plan.cluster}",
            f"keep the template and cluster, or cancel the pre-clone first "
            f"(vps-console jobs cancel {job.id}) and launch again",
        )
    lease = repo.acquire_lease(
        runner.store, job.id, runner.actor, lease_seconds=runner.timing.lease_seconds
    )
    if not lease.won:
        raise JobBusy(
            f"job {job.id} for order {job.order_id} is held by {lease.describe()}",
            "wait a moment and launch again",
        )
    try:
        current = repo.get_job(runner.store, job.id)
        if current is None or current.state != JobState.READY_FOR_ENGINEER:
            raise JobBusy(
                f"job {job.id} is {current.state if current else 'gone'}, no longer ready",
                "see vps-console jobs show " + job.id,
            )
        secrets = runner.services.secrets
        vault.on_launch(runner.store, secrets, job.order_id, licenses, actor=runner.actor)
        # The VM has never booted: a new password opens it like any other.
        password = admin_password or generate_password()
        keys = {kind: licenses[kind] for kind in plan.key_kinds}
        job_secrets.stage(secrets, job.id, keys, password)
        plan = replace(plan, license_masks={kind: mask(keys[kind]) for kind in plan.key_kinds})
        state = transition(State(current.state), Event.CONTINUE)
        repo.update_job(
            runner.store,
            job.id,
            state=state.name,
            plan=plan.to_dict(),
            created_by=runner.actor,
            data={
                PARK: None,
                READY_REASON: None,
                since_key(Step.RESIZING): None,
                PREFLIGHT: [c.__dict__ for c in checks],
                "warnings_confirmed": bool(warnings(checks)),
            },
        )
        job_secrets.promote(secrets, job.id, job.order_id, plan.key_kinds)
    finally:
        repo.release_lease(runner.store, job.id, runner.actor)
    set_order_status(
        runner.store, job.order_id, OrderStatus.PROVISIONING, template_name=plan.template_name
    )
    taken = repo.get_job(runner.store, job.id)
    assert taken is not None
    return taken
