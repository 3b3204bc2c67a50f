"""Zero-wait intake: pre-clone on payment, the engineer's launch going on from resizing,
cancel and billing refunds removing only what the pre-clone created; the provision policy's
automatic path and its fall-back with the reason."""

from __future__ import annotations

import pytest

from console.config import IntakePolicy
from console.flow import batch, parking
from console.flow.intake import IntakeAction, intake_reason, run_intake
from console.flow.plan import Overrides
from console.flow.runner import Runner
from console.flow.services import Services
from console.store import jobs as repo
from console.store.orders import get_order
from console.store.states import JobState, OrderStatus
from tests.flow.test_happy_paths import plan_for
from tests.plugins.flow import FAST, marked_vms


def with_policy(config, policy: IntakePolicy, **changes):
    products = tuple(
        p.model_copy(update={"on_paid": policy, **changes.get(p.billing_product, {})})
        for p in config.catalog.products
    )
    return config.model_copy(
        update={"catalog": config.catalog.model_copy(update={"products": products})}
    )


@pytest.fixture
def intake_services(flow_config, store, memory_secrets, engine_sim, monkeypatch, request):
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", engine_sim.password)
    made = []

    def make(policy: IntakePolicy, **changes) -> Services:
        services = Services(with_policy(flow_config, policy, **changes), store, memory_secrets)
        made.append(services)
        return services

    yield make
    for services in made:
        services.close()


def precloned(services, order_id: str):
    runner = Runner(services, timing=FAST)
    report = run_intake(runner)
    assert [(line.order_id, line.action) for line in report.lines] == [
        (order_id, IntakeAction.PRECLONED)
    ], report
    result = batch.run_jobs(runner, report.job_ids, concurrency=2)
    assert not result.skipped, result.skipped
    return runner, result.finished[0]


def test_preclone_parks_a_down_vm_then_the_launch_goes_on_from_resizing(
    intake_services, add_order, engine_sim
):
    services = intake_services(IntakePolicy.PRECLONE)
    add_order("501", "VPS Linux", cpus=2, memory_mib=2048, disk_gib=30)
    runner, parked = precloned(services, "501")

    assert parked.state == JobState.READY_FOR_ENGINEER, parked.error_message
    assert get_order(services.store, "501").status == OrderStatus.READY_FOR_ENGINEER
    vm = engine_sim.vm("vps-501")
    assert vm["status"] == "down"  # copied, never started
    template = services.engine().list_templates(search="name=alma9")[0]
    assert vm["disks"][0]["provisioned_size"] == template.disk_gib * 1024**3  # base size
    assert [v.id for v in marked_vms(engine_sim, "501")] == [parked.vm_id]
    assert vm["initialization"] is None or not vm["initialization"].get("host_name")
    # A second pass takes nothing in again, and `jobs resume` leaves the parked job alone.
    assert run_intake(runner).lines == []
    assert parked.id not in [job.id for job in runner.unfinished_jobs()]

    # The engineer opens the order: more vCPU and memory than the template, same job.
    plan = plan_for(services, "501", Overrides(cpus=4, memory_mib=4096, hostname="a.example.net"))
    taken = runner.launch("501", plan, {}, confirm_warnings=True)
    assert taken.id == parked.id and taken.state == JobState.RESIZING
    done = runner.run(taken.id)
    assert done.state == JobState.DONE, (done.error_message, done.error_hint)
    vm = engine_sim.vm("vps-501")
    assert vm["status"] == "up" and vm["sockets"] == 4 and vm["memory"] == 4096 * 1024**2
    assert vm["disks"][0]["provisioned_size"] == 30 * 1024**3
    assert len(marked_vms(engine_sim, "501")) == 1
    steps = [e.step for e in repo.job_events(services.store, done.id) if e.kind == "step_started"]
    assert steps.count("cloning") == 1 and "resizing" in steps
    assert get_order(services.store, "501").status == OrderStatus.DONE


def test_a_launch_with_another_template_is_refused_while_pre_cloned(intake_services, add_order):
    services = intake_services(IntakePolicy.PRECLONE)
    add_order("502", "VPS Linux")
    runner, parked = precloned(services, "502")
    plan = plan_for(services, "502", Overrides(template="ubuntu2204"))
    with pytest.raises(Exception, match="pre-cloned as vps-502 from alma9"):
        runner.launch("502", plan, {}, confirm_warnings=True)
    assert repo.get_job(services.store, parked.id).state == JobState.READY_FOR_ENGINEER


def test_cancelling_a_parked_pre_clone_removes_its_vm_and_requeues_the_order(
    intake_services, add_order, engine_sim
):
    services = intake_services(IntakePolicy.PRECLONE)
    add_order("503", "VPS Linux")
    runner, parked = precloned(services, "503")
    cancelled = runner.cancel(parked.id)
    assert cancelled.state == JobState.CANCELLED
    assert marked_vms(engine_sim, "503") == []
    assert get_order(services.store, "503").status == OrderStatus.NEW
    assert run_intake(runner).lines == []  # not cloned again


def test_cancelling_a_pre_clone_leaves_a_vm_it_did_not_create(
    intake_services, add_order, engine_sim
):
    services = intake_services(IntakePolicy.PRECLONE)
    add_order("504", "VPS Linux")
    runner = Runner(services, timing=FAST)
    report = run_intake(runner)
    job_id = report.job_ids[0]
    # A VM of this name was there before (adopted, not created by the job).
    engine = services.engine()
    template = engine.list_templates(search="name=alma9")[0]
    from console.flow import marks

    engine.clone_vm(
        "vps-504",
        template_id=template.id,
        cluster="prod-a",
        comment=marks.comment("504", None, "someone-else"),
    )
    done = batch.run_jobs(runner, [job_id], concurrency=1).finished[0]
    assert done.state == JobState.READY_FOR_ENGINEER and not done.vm_created_by_job
    runner.cancel(job_id)
    assert len(marked_vms(engine_sim, "504")) == 1


def test_polices_default_to_the_queue(flow_services, add_order):
    add_order("505", "VPS Linux")
    assert run_intake(Runner(flow_services, timing=FAST)).lines == []


def test_provision_policy_runs_a_complete_plan_with_no_engineer(
    intake_services, add_order, engine_sim
):
    services = intake_services(IntakePolicy.PROVISION)
    add_order("511", "VPS Linux", cpus=2, memory_mib=2048, disk_gib=30, hostname="p.example.net")
    runner = Runner(services, timing=FAST)
    report = run_intake(runner)
    assert [line.action for line in report.lines] == [IntakeAction.PROVISIONED]
    done = batch.run_jobs(runner, report.job_ids, concurrency=1).finished[0]
    assert done.state == JobState.DONE, (done.error_message, done.error_hint)
    assert engine_sim.vm("vps-511")["status"] == "up"
    assert get_order(services.store, "511").status == OrderStatus.DONE


def test_provision_policy_falls_back_to_ready_for_engineer_with_the_reason(
    intake_services, add_order, engine_sim
):
    # Windows needs a key, and the vault has none: an engineer must paste it.
    services = intake_services(IntakePolicy.PROVISION)
    add_order("512", "VPS Windows Plesk")
    runner = Runner(services, timing=FAST)
    report = run_intake(runner)
    (line,) = report.lines
    assert line.action == IntakeAction.FELL_BACK
    assert "Windows" in line.reason and "vault" in line.reason
    parked = batch.run_jobs(runner, report.job_ids, concurrency=1).finished[0]
    assert parked.state == JobState.READY_FOR_ENGINEER
    assert parking.ready_reason(parked) == line.reason
    assert intake_reason(get_order(services.store, "512")) == line.reason
    assert engine_sim.vm("vps-512")["status"] == "down"


def test_provision_policy_over_the_products_limits_falls_back(intake_services, add_order):
    services = intake_services(IntakePolicy.PROVISION)
    add_order("513", "VPS Linux", cpus=64)  # above max_cpus (16)
    report = run_intake(Runner(services, timing=FAST))
    (line,) = report.lines
    assert line.action == IntakeAction.FELL_BACK and "cpus" in line.reason
