"""Every action on an order leaves a line in the audit trail, with who did it and the keys
masked: claim, launch, resources changed, keys given and applied, retry, cancel, VM power."""

from __future__ import annotations

import pytest

from console.flow.plan import Overrides
from console.flow.runner import Runner
from console.flow.vm_power import power
from console.ovirt import EngineRejected
from console.store import audit
from tests.flow.test_happy_paths import plan_for
from tests.plugins.flow import FAST, PLESK_CODE, WINDOWS_KEY


def trail(store, order_id):
    with store.session() as session:
        entries = audit.entries(session, order_id=order_id)
    return list(reversed(entries))  # oldest first


def test_a_provisioning_is_audited_from_claim_to_applied_keys(flow_services, add_order):
    add_order("2101", "VPS Windows Plesk", cpus=2, memory_mib=4096, disk_gib=100)
    runner = Runner(flow_services, timing=FAST)
    plan = plan_for(
        flow_services, "2101", Overrides(memory_mib=8192, hostname="win-2101.example.net")
    )
    job = runner.launch(
        "2101", plan, {"windows": WINDOWS_KEY, "plesk": PLESK_CODE}, confirm_warnings=True
    )
    assert runner.run(job.id).state == "done"

    entries = trail(flow_services.store, "2101")
    actions = [entry.step for entry in entries]
    assert actions[:2] == ["claim", "launch"]
    assert actions.count("license_given") == 2 and actions.count("license_applied") == 2
    assert actions.index("license_applied") > actions.index("launch")
    changed = next(entry for entry in entries if entry.step == "resources_changed")
    assert changed.message == "RAM 4GiB -> 8GiB"
    assert all(entry.actor == flow_services.actor for entry in entries)
    assert all(entry.job_id == job.id for entry in entries if entry.step != "claim")
    applied = [entry.message for entry in entries if entry.step == "license_applied"]
    assert any("…-VMK7H" in message for message in applied)
    for entry in entries:
        assert WINDOWS_KEY not in entry.message + str(entry.data)
        assert PLESK_CODE not in entry.message + str(entry.data)


def test_an_order_as_ordered_records_no_resource_change(flow_services, add_order):
    add_order("2102", "VPS Linux cPanel", cpus=2, memory_mib=4096, disk_gib=80)
    runner = Runner(flow_services, timing=FAST)
    runner.launch("2102", plan_for(flow_services, "2102"), {}, confirm_warnings=True)
    actions = [entry.step for entry in trail(flow_services.store, "2102")]
    assert actions == ["claim", "launch"]


def test_retry_and_cancel_are_audited(flow_services, add_order, engine_sim):
    add_order("2103", "VPS Linux cPanel")
    engine_sim.faults.add(
        "POST",
        r"^/vms/[^/]+/start$",
        nth=1,
        status=409,
        detail="[Cannot run VM. Low disk space on Storage Domain data-ssd.]",
    )
    runner = Runner(flow_services, timing=FAST)
    job = runner.launch("2103", plan_for(flow_services, "2103"), {}, confirm_warnings=True)
    assert runner.run(job.id).state == "failed"
    engine_sim.faults.add(
        "POST",
        r"^/vms/[^/]+/start$",
        nth=1,
        status=409,
        detail="[Cannot run VM. Low disk space on Storage Domain data-ssd.]",
    )
    assert runner.retry(job.id).state == "failed"
    runner.cancel(job.id)

    entries = trail(flow_services.store, "2103")
    retry = next(entry for entry in entries if entry.step == "retry")
    assert "starting" in retry.message and "Low disk space" in retry.message
    cancel = next(entry for entry in entries if entry.step == "cancel")
    assert cancel.job_id == job.id and "failed" in cancel.message


@pytest.mark.parametrize(
    ("operation", "status"), [("stop", "up"), ("start", "down"), ("remove", "down")]
)
def test_vm_power_actions_are_audited_once_the_engine_took_them(
    flow_services, engine_sim, operation, status
):
    engine = flow_services.engine()
    vm = next(vm for vm in engine.list_vms() if vm.status == status)
    message = power(engine, flow_services.store, "eng@jump1", operation, vm.id, vm.name, "77")
    assert message == f"{operation} {vm.name}: sent"
    entries = trail(flow_services.store, "77")
    assert [(entry.step, entry.actor) for entry in entries] == [(f"vm_{operation}", "eng@jump1")]
    assert vm.name in entries[0].message


def test_a_refused_power_action_leaves_no_line(flow_services, engine_sim):
    engine = flow_services.engine()
    vm = next(vm for vm in engine.list_vms() if vm.status == "up")
    with pytest.raises(EngineRejected) as refused:
        power(engine, flow_services.store, "eng@jump1", "remove", vm.id, vm.name, "78")
    assert "running" in refused.value.message.lower() or "up" in refused.value.message.lower()
    assert trail(flow_services.store, "78") == []
