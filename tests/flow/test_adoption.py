"""Identity lives on the VM: with the local store thrown away, the same order launched again
finds its VM on the engine by the deterministic name and the marks it carries (comment
`vps-console order=… service=… job=…`, tag `order-<id>`) and adopts it: no second clone.

"Throwing the store away" is a new, empty SQLite file with the order re-added (as a billing
sync or `orders add` would), and new Services on it; the engine simulator keeps its VMs.
"""

from __future__ import annotations

import ovirtsdk4.types as types
import pytest

from console.flow.plan import draft_plan
from console.flow.runner import PreflightBlocked, Runner
from console.flow.services import Services
from console.secrets import admin_password_secret
from console.store import jobs as repo
from console.store.db import open_store
from console.store.models import Order
from tests.plugins.flow import FAST, sim_config

ORDER, SERVICE = "2301", "7301"


def creates(engine_sim) -> int:
    return sum(1 for method, path, _ in engine_sim.calls if method == "POST" and path == "/vms")


def vms_of(engine_sim, order_id):
    """VMs whose comment or tags say they belong to the order."""
    with engine_sim.world.lock:
        found = []
        for vm in engine_sim.world.vms.values():
            tags = {engine_sim.world.tags[t].name for t in vm.tag_ids}
            if f"order={order_id} " in (vm.comment or "") or f"order-{order_id}" in tags:
                found.append(vm)
        return found


def add(store, order_id=ORDER, service_id=SERVICE):
    with store.session() as session:
        session.add(
            Order(
                id=order_id,
                source="manual",
                product_name="VPS Linux",
                service_id=service_id,
                client_name="Test Client",
            )
        )


def launch(services, runner, order_id=ORDER):
    with services.store.session() as session:
        order = session.get(Order, order_id)
    draft = draft_plan(
        order,
        services.config.catalog.product_for(order.product_name),
        services.engine().list_templates(),
        services.config,
    )
    assert draft.problems == [], draft.problems
    return runner.launch(order_id, draft.plan, {}, confirm_warnings=True)


@pytest.fixture
def lose_store(engine_sim, tmp_path, memory_secrets, monkeypatch):
    """New, empty store (same order re-added) and new Services on it; the secret store
    (the keyring) survives unless the test passes another one."""
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", engine_sim.password)
    opened = []

    def make(secrets=None, name="restored.db"):
        url = f"sqlite:///{tmp_path / name}"
        store = open_store(url)
        add(store)
        services = Services(sim_config(engine_sim, url), store, secrets or memory_secrets)
        opened.append((services, store))
        return services

    yield make
    for services, store in opened:
        services.close()
        store.close()


def provision_first(flow_services, engine_sim, *, fail_at_start=False):
    add(flow_services.store)
    runner = Runner(flow_services, timing=FAST)
    job = launch(flow_services, runner)
    if fail_at_start:
        rule = engine_sim.faults.add(
            "POST",
            r"^/vms/[^/]+/start$",
            status=409,
            detail="[Cannot run VM. Low disk space on Storage Domain data-ssd.]",
        )
        first = runner.run(job.id)
        assert (first.state, first.failed_step) == ("failed", "starting"), first.error_message
        assert rule.fired == 1
        engine_sim.faults.clear()
    else:
        first = runner.run(job.id)
        assert first.state == "done", (first.failed_step, first.error_message)
    return first


@pytest.mark.parametrize("marks_left", ["comment and tag", "tag only"])
def test_a_done_vm_is_adopted_after_the_store_is_lost_and_not_cloned_again(
    marks_left, flow_services, engine_sim, lose_store, sdk_connection
):
    first = provision_first(flow_services, engine_sim)
    original = engine_sim.vm("vps-2301")
    # What marks.py writes: order, billing service and job in the comment and description.
    assert f"vps-console order={ORDER} service={SERVICE} job={first.id}" in original["comment"]
    assert f"order {ORDER}, service {SERVICE}" in original["description"]
    assert first.id in original["description"] and f"order-{ORDER}" in original["tags"]
    assert first.plan["service_id"] == SERVICE
    if marks_left == "tag only":
        # The comment is gone: a tag alone is what anyone with tagging rights can put on any
        # VM, so it does not make the VM this order's. Refused, naming the VM and the fix.
        sdk_connection.system_service().vms_service().vm_service(original["id"]).update(
            types.Vm(comment="")
        )
        assert engine_sim.vm("vps-2301")["comment"] == ""
    assert creates(engine_sim) == 1

    services = lose_store()
    assert repo.list_jobs(services.store) == []
    runner = Runner(services, timing=FAST)
    if marks_left == "tag only":
        with pytest.raises(PreflightBlocked) as refused:
            launch(services, runner)
        assert "vps-2301" in refused.value.message and "tag order-2301" in refused.value.message
        assert f"vps-console order={ORDER}" in refused.value.hint
        assert creates(engine_sim) == 1 and engine_sim.vm("vps-2301")["comment"] == ""
        return
    second = launch(services, runner)
    name_check = next(c for c in second.data["preflight"] if c["name"] == "name")
    assert name_check["level"] == "ok" and "adopted" in name_check["message"], name_check
    done = runner.run(second.id)
    assert done.state == "done", (done.failed_step, done.error_message)

    assert creates(engine_sim) == 1  # no second POST /vms
    assert [vm.id for vm in vms_of(engine_sim, ORDER)] == [original["id"]]
    assert (done.vm_id, done.vm_name) == (original["id"], "vps-2301")
    assert done.vm_created_by_job is False  # so a cancel of this job would leave it alone
    assert done.ips and set(done.ips) <= set(engine_sim.vm("vps-2301")["ips"])
    if marks_left == "comment and tag":
        # The marks still name the job that created it; adoption does not rewrite them.
        assert f"job={first.id}" in engine_sim.vm("vps-2301")["comment"]
    messages = [e.message for e in repo.job_events(services.store, second.id)]
    assert any("adopted vps-2301" in m for m in messages), messages
    with services.store.session() as session:
        assert session.get(Order, ORDER).status == "done"


def test_a_vm_left_mid_way_is_adopted_and_finished_after_the_store_is_lost(
    flow_services, engine_sim, lose_store
):
    first = provision_first(flow_services, engine_sim, fail_at_start=True)
    assert engine_sim.vm("vps-2301")["status"] == "down"

    services = lose_store()
    runner = Runner(services, timing=FAST)
    done = runner.run(launch(services, runner).id)
    assert done.state == "done", (done.failed_step, done.error_message)
    assert creates(engine_sim) == 1
    assert [vm.id for vm in vms_of(engine_sim, ORDER)] == [first.vm_id]
    vm = engine_sim.vm("vps-2301")
    assert vm["status"] == "up" and f"order-{ORDER}" in vm["tags"]
    assert f"service={SERVICE}" in vm["comment"]
    # It had not booted yet: it boots with the password the console holds now.
    booted_with = (vm["run_initialization"] or vm["initialization"])["root_password"]
    assert services.secrets.get(admin_password_secret(ORDER)) == booted_with


def test_adopting_a_booted_vm_keeps_the_password_the_vm_was_given(
    flow_services, engine_sim, lose_store, memory_secrets
):
    provision_first(flow_services, engine_sim)
    given = memory_secrets.get(admin_password_secret(ORDER))
    vm = engine_sim.vm("vps-2301")
    booted_with = (vm["run_initialization"] or vm["initialization"])["root_password"]
    assert given == booted_with

    services = lose_store()  # the keyring (memory_secrets) survives the lost store
    runner = Runner(services, timing=FAST)
    done = runner.run(launch(services, runner).id)
    assert done.state == "done", (done.failed_step, done.error_message)
    assert creates(engine_sim) == 1
    assert memory_secrets.get(admin_password_secret(ORDER)) == booted_with
