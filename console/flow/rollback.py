"""Cancelling a job: withdraw what billing was given, remove the VM only if this job created
it, and put the order back in the queue."""

from __future__ import annotations

import time

from console.errors import ConsoleError
from console.flow import marks, vault
from console.flow.context import RunContext
from console.flow.errors import StepFailed
from console.flow.machine import Event, State, transition
from console.flow.steps import RUNNING_STATUSES
from console.ovirt import EngineNotFound, EngineRejected, Vm
from console.store.models import BILLING_SERVICE_UPDATED, CANCEL_REQUESTED, Job, Order, utcnow
from console.store.orders import set_order_status
from console.store.states import OrderStatus


def rollback(ctx: RunContext) -> Job:
    """Remove the VM if (and only if) this job created it, then cancel the job."""
    ctx.rolling_back = True
    job = ctx.refresh()
    step = job.failed_step or job.state
    vm = None
    try:
        if job.vm_id:
            vm = ctx.read_vm(job.vm_id, detail=False)
    except EngineNotFound:
        vm = None
    if vm is None:
        vm = ctx.call(
            "look up VM",
            lambda: ctx.engine.find_vm(ctx.plan.vm_name, correlation_id=job.correlation_id),
            changes=False,
        )
    billing_note = withdraw_billing(ctx, job)
    if vm is not None and marks.job_of(vm) == ctx.job_id:
        remove(ctx, vm)
        note = f"removed {vm.name}, which this job created"
    elif vm is not None:
        note = f"left {vm.name} alone: this job did not create it"
    else:
        note = "no VM to remove"
    if billing_note:
        note += f"; {billing_note}"
    state = transition(State(job.state, job.failed_step), Event.CANCEL)
    # Before the job is saved cancelled, so that a crash here is redone by the next cancel.
    vault.on_cancel(ctx.store, job.order_id, actor=ctx.runner.actor)
    ctx.save(
        state=state.name,
        failed_step=None,
        finished_at=utcnow(),
        data={CANCEL_REQUESTED: None, "cancelled_at_step": step},
    )
    with ctx.store.session() as session:
        order = session.get(Order, job.order_id)
    if order is not None and order.status == OrderStatus.CANCELLED:  # ended in billing
        set_order_status(ctx.store, job.order_id, OrderStatus.CANCELLED, release=True)
        where = "stays cancelled, as in billing"
    else:
        set_order_status(ctx.store, job.order_id, OrderStatus.NEW, release=True)
        where = "is back in the queue"
    ctx.record("finished", step, f"cancelled: {note}; order {job.order_id} {where}")
    return ctx.job


def withdraw_billing(ctx: RunContext, job: Job) -> str | None:
    """A handover that wrote to WHMCS but never finished leaves the service pointing at
    this VM: take that back before the VM goes. A failure here does not stop the cancel."""
    if not job.billing_service_updated:
        return None
    from console.billing.errors import BillingError
    from console.billing.handover import withdraw_handover

    with ctx.store.session() as session:
        order = session.get(Order, job.order_id)
    try:
        client = ctx.runner.services.billing()
        if order is None or client is None:
            return None
        note = withdraw_handover(client, order)
    except (BillingError, ConsoleError) as error:
        note = (
            f"could not withdraw the handover from WHMCS ({error.message}): clear the "
            f"IPs of service {order.service_id if order else '?'} and set it Pending "
            "by hand"
        )
    ctx.record("info", job.state, note)
    ctx.save(data={BILLING_SERVICE_UPDATED: None})
    return note


def remove(ctx: RunContext, vm: Vm) -> None:
    deadline = time.monotonic() + ctx.timing.retry_budget_seconds
    while True:
        current = ctx.read_vm(vm.id, detail=False)
        if current.status == "down":
            break
        if current.status in RUNNING_STATUSES or current.status in (
            "paused",
            "suspended",
            "not_responding",
            "powering_down",
        ):
            if current.status != "powering_down":
                try:
                    ctx.call(
                        f"stop {vm.name}",
                        lambda: ctx.engine.stop_vm(vm.id, correlation_id=ctx.job.correlation_id),
                    )
                except EngineRejected as error:
                    if "not running" not in (error.detail or error.message):
                        raise
        if time.monotonic() > deadline:
            raise StepFailed(
                f"{vm.name} did not stop (it is {current.status})",
                "stop it on the engine, then cancel again",
                code="stop_failed",
            )
        time.sleep(ctx.timing.poll_seconds)
    try:
        ctx.call(
            f"remove {vm.name}",
            lambda: ctx.engine.remove_vm(vm.id, correlation_id=ctx.job.correlation_id),
        )
    except EngineNotFound:
        pass
