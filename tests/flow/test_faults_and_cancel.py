"""Injected engine faults fail the step they hit with the engine's reason; retry completes
the job; cancel at any step removes only a VM the job created; one runner per job."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from console.flow.plan import Overrides, draft_plan
from console.flow.runner import JobBusy, Runner
from console.flow.services import Services
from console.store import jobs as repo
from console.store.models import Order
from console.store.orders import set_order_status
from console.store.states import OrderStatus
from tests.plugins.flow import FAST

# step → (method, path, nth, status, detail, words expected in the job's error). The create
# carries sizes and initialization, so resizing extends the disk and initializing calls
# nothing (tests/flow/test_call_budget.py covers a VM that still needs both).
FAULTS = {
    "cloning": ("POST", r"^/vms$", None, 503, None, "HTTP 503"),
    "clone_wait": ("GET", r"^/vms/[^/]+$", None, 500, None, "HTTP 500"),
    "resizing": (
        "PUT",
        r"/diskattachments/",
        None,
        409,
        "[Cannot edit Virtual Disk. Low disk space on Storage Domain data-ssd.]",
        "Low disk space",
    ),
    "starting": (
        "POST",
        r"^/vms/[^/]+/start$",
        None,
        409,
        "[Cannot run VM. Low disk space on Storage Domain data-ssd.]",
        "Low disk space",
    ),
}


def launch(services, order_id, runner):
    with services.store.session() as session:
        session.add(Order(id=order_id, source="manual", product_name="VPS Linux"))
    with services.store.session() as session:
        order = session.get(Order, order_id)
    draft = draft_plan(
        order,
        services.config.catalog.product_for("VPS Linux"),
        services.engine().list_templates(),
        services.config,
        Overrides(),
    )
    return runner.launch(order_id, draft.plan, {}, confirm_warnings=True)


def marked_vms(engine_sim, order_id):
    with engine_sim.world.lock:
        vms = list(engine_sim.world.vms.values())
    return [vm for vm in vms if f"order={order_id} " in (vm.comment or "")]


@pytest.mark.parametrize("step", list(FAULTS))
@pytest.mark.parametrize("then", ["retry", "cancel"])
def test_a_fault_fails_its_step_then_retry_finishes_or_cancel_cleans_up(
    step, then, flow_services, engine_sim
):
    runner = Runner(flow_services, timing=FAST)
    job = launch(flow_services, "2201", runner)
    method, path, nth, status, detail, words = FAULTS[step]
    engine_sim.faults.add(
        method, path, nth=nth, count=None if nth is None else 1, status=status, detail=detail
    )
    failed = runner.run(job.id)
    assert (failed.state, failed.failed_step) == ("failed", step), failed.error_message
    assert words in failed.error_message and failed.error_hint
    with flow_services.store.session() as session:
        assert session.get(Order, "2201").status == "failed"
    engine_sim.faults.clear()

    if then == "retry":
        done = runner.retry(job.id)
        assert done.state == "done", done.error_message
        assert len(marked_vms(engine_sim, "2201")) == 1
    else:
        cancelled = runner.cancel(job.id)
        assert cancelled.state == "cancelled"
        assert marked_vms(engine_sim, "2201") == []
        with flow_services.store.session() as session:
            order = session.get(Order, "2201")
            assert (order.status, order.claimed_by) == ("new", None)


def test_transient_locks_are_retried_without_failing(flow_services, engine_sim):
    runner = Runner(flow_services, timing=FAST)
    job = launch(flow_services, "2202", runner)
    engine_sim.faults.add(
        "POST",
        r"^/vms/[^/]+/start$",
        count=2,
        status=409,
        detail="[Cannot run VM: VM is locked. Please try again in a few minutes.]",
    )
    done = runner.run(job.id)
    assert done.state == "done"
    messages = [e.message for e in repo.job_events(flow_services.store, job.id)]
    assert sum("retrying" in m for m in messages) == 2


def test_an_engine_call_that_times_out_is_retried_and_lands_once(
    flow_services, engine_sim, memory_secrets
):
    """The create's answer comes after the client gave up (the engine created the VM anyway):
    the runner retries, finds the name in use, adopts its own VM, and the job finishes with
    one VM."""
    engine = flow_services.config.engines[0].model_copy(update={"timeout_seconds": 1})
    config = flow_services.config.model_copy(update={"engines": (engine,)})
    services = Services(config, flow_services.store, memory_secrets)
    try:
        runner = Runner(services, timing=replace(FAST, retry_budget_seconds=15.0))
        job = launch(services, "2206", runner)
        slow = engine_sim.faults.add("POST", r"^/vms$", nth=1, delay=2.5)
        done = runner.run(job.id)
    finally:
        services.close()
    assert done.state == "done", (done.failed_step, done.error_message)
    assert slow.fired == 1
    messages = [e.message for e in repo.job_events(flow_services.store, job.id)]
    assert any("timed out" in m and "retrying" in m for m in messages), messages
    assert len(marked_vms(engine_sim, "2206")) == 1


def test_cancel_leaves_a_vm_this_job_did_not_create(flow_services, engine_sim):
    runner = Runner(flow_services, timing=FAST)
    first = launch(flow_services, "2203", runner)
    assert runner.run(first.id).state == "done"
    # The order comes back (say the store was restored); a new job adopts the VM.
    repo.update_job(flow_services.store, first.id, state="cancelled")
    set_order_status(flow_services.store, "2203", OrderStatus.NEW, release=True)
    with flow_services.store.session() as session:
        order = session.get(Order, "2203")
    plan = draft_plan(
        order,
        flow_services.config.catalog.product_for("VPS Linux"),
        flow_services.engine().list_templates(),
        flow_services.config,
    ).plan
    second = runner.launch("2203", plan, {}, confirm_warnings=True)
    engine_sim.faults.add("POST", r"^/vms/[^/]+/tags$", status=400, detail="[no]")
    engine_sim.faults.add("GET", r"^/vms/[^/]+$", status=400, detail="[held]")
    assert runner.run(second.id).state == "failed"
    engine_sim.faults.clear()
    assert runner.cancel(second.id).state == "cancelled"
    assert len(marked_vms(engine_sim, "2203")) == 1


def test_name_collision_with_a_foreign_vm_fails_and_touches_nothing(flow_services, engine_sim):
    runner = Runner(flow_services, timing=FAST)
    with flow_services.store.session() as session:
        session.add(Order(id="1005", source="manual", product_name="VPS Linux"))
    with flow_services.store.session() as session:
        order = session.get(Order, "1005")
    plan = draft_plan(
        order,
        flow_services.config.catalog.product_for("VPS Linux"),
        flow_services.engine().list_templates(),
        flow_services.config,
    ).plan
    with pytest.raises(Exception) as blocked:
        runner.launch("1005", plan, {}, confirm_warnings=True)
    assert "already exists on the engine" in str(blocked.value)
    assert engine_sim.vm("vps-1005")["description"] == "customer VPS vps-1005"


def test_two_runners_on_one_job_one_runs_the_other_names_the_holder(
    flow_services, engine_sim, memory_secrets
):
    alice = Runner(flow_services, timing=FAST)
    job = launch(flow_services, "2204", alice)
    bob_services = Services(flow_services.config, flow_services.store, memory_secrets)
    bob_services.actor = "bob@ws2"
    bob = Runner(bob_services, timing=FAST)
    engine_sim.faults.add("POST", r"^/vms$", delay=1.0)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("job", alice.run(job.id)))
    thread.start()
    deadline = time.monotonic() + 10
    while repo.get_job(flow_services.store, job.id).owner is None and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(JobBusy) as busy:
        bob.run(job.id)
    assert "tester@ci" in busy.value.message
    thread.join(30)
    assert result["job"].state == "done"
    assert len(marked_vms(engine_sim, "2204")) == 1
    # And the order itself: bob cannot launch a second job for it.
    with pytest.raises(JobBusy) as claimed:
        bob.launch("2204", replace(job_plan(job)), {}, confirm_warnings=True)
    assert "2204" in claimed.value.message
    bob_services.close()


def job_plan(job):
    from console.flow.plan import Plan

    return Plan.from_dict(job.plan)
