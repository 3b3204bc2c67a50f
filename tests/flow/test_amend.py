"""Plans changed by hand (console.flow.amend): what a retry may change, and what the
engineer provides for an order billing left short. Pure rules first, then through the
runner against the engine simulator."""

from __future__ import annotations

from dataclasses import replace

import pytest

from console.config import CatalogConfig
from console.errors import BadInput
from console.flow import amend
from console.flow.plan import Overrides, Plan, draft_plan
from console.flow.runner import Runner
from console.store import audit
from console.store.models import Order
from tests.plugins.flow import FAST

PLAN = Plan(
    order_id="7001",
    vm_name="vps-7001",
    engine="sim",
    template_name="alma9",
    template_id="t-1",
    template_version=2,
    cluster="prod-a",
    cpus=2,
    memory_mib=4096,
    guaranteed_mib=4096,
    disk_gib=40,
    hostname="vps-7001.example.net",
    init_kind="cloud-init",
)


def test_what_a_retry_may_change_follows_the_steps_not_yet_done():
    assert amend.editable_on_retry("planned") == frozenset(amend.APPLIED_BY)
    at_resizing = amend.editable_on_retry("resizing")
    assert {"cpus", "memory_mib", "disk_gib", "hostname", "ssh_keys"} <= at_resizing
    assert "template_name" not in at_resizing and "cluster" not in at_resizing
    at_initializing = amend.editable_on_retry("initializing")
    assert "hostname" in at_initializing and "memory_mib" not in at_initializing
    assert amend.editable_on_retry("ip_wait") == frozenset()
    assert amend.editable_on_retry(None) == frozenset()


def test_a_retry_plan_takes_the_editable_values_and_names_each_change():
    edited = replace(PLAN, memory_mib=8192, guaranteed_mib=8192, hostname="shop.example.net")
    amended, changes = amend.amend_plan(PLAN, edited, "resizing")
    assert amended.memory_mib == 8192 and amended.hostname == "shop.example.net"
    assert amended.vm_name == PLAN.vm_name and amended.template_id == PLAN.template_id
    assert "RAM 4GiB -> 8GiB" in changes
    assert "hostname vps-7001.example.net -> shop.example.net" in changes
    assert amend.amend_plan(PLAN, PLAN, "ip_wait") == (PLAN, [])


def test_a_retry_may_not_change_what_a_finished_step_applied():
    with pytest.raises(BadInput) as refused:
        amend.amend_plan(PLAN, replace(PLAN, memory_mib=8192), "initializing")
    assert "RAM cannot change" in refused.value.message and "resizing" in refused.value.message
    assert refused.value.hint
    with pytest.raises(BadInput, match="hostname cannot change"):
        amend.amend_plan(PLAN, replace(PLAN, hostname="other.example.net"), "ip_wait")
    with pytest.raises(BadInput, match="license keys"):
        amend.amend_plan(PLAN, replace(PLAN, license_kinds=("plesk",)), "planned")


def test_the_form_of_a_retry_drafts_the_jobs_plan_again(flow_services):
    order = Order(id="7001", source="manual", product_name="VPS Linux", client_name="C")
    draft = draft_plan(
        order,
        flow_services.config.catalog.product_for("VPS Linux"),
        flow_services.engine().list_templates(),
        flow_services.config,
    )
    assert draft.plan is not None
    again = draft_plan(
        order,
        flow_services.config.catalog.product_for("VPS Linux"),
        flow_services.engine().list_templates(),
        flow_services.config,
        amend.overrides_of(draft.plan),
    )
    assert again.plan == draft.plan


def short_order(**values) -> Order:
    return Order(
        id="7002",
        source="whmcs",
        product_name="Dedicated Game Server",
        client_name="C",
        status="needs_mapping",
        **values,
    )


def test_an_order_billing_left_short_needs_each_missing_size_typed():
    problems = amend.engineer_problems(short_order(cpus=2), Overrides(memory_mib=4096))
    assert [p.field for p in problems] == ["disk"]
    assert "does not say the disk" in problems[0].message and "80G" in problems[0].fix
    assert (
        amend.engineer_problems(short_order(), Overrides(cpus=1, memory_mib=1024, disk_gib=20))
        == []
    )
    # A clean order is never asked: its sizes come from billing or the product mapping.
    clean = Order(id="7003", source="manual", product_name="VPS Linux", client_name="C")
    assert amend.engineer_problems(clean, Overrides()) == []
    assert amend.missing_from_order(short_order(cpus=2)) == ("RAM", "disk")


def test_what_the_engineer_provided_is_named_for_the_audit():
    plan = replace(PLAN, order_id="7002")
    given = amend.engineer_provided(short_order(cpus=2), plan, CatalogConfig())
    assert given == {"RAM": "4GiB", "disk": "40GiB", "template": "alma9 v2"}
    clean = Order(id="7003", source="manual", product_name="VPS Linux", client_name="C")
    assert amend.engineer_provided(clean, plan, CatalogConfig()) == {}


def test_a_needs_mapping_order_launches_with_typed_values_audited_as_engineer_provided(
    flow_services, add_order
):
    add_order("7004", product="Dedicated Game Server", status="needs_mapping", cpus=2)
    with flow_services.store.session() as session:
        order = session.get(Order, "7004")
    overrides = Overrides(template="alma9", memory_mib=2048, disk_gib=40)
    draft = draft_plan(
        order,
        None,
        flow_services.engine().list_templates(),
        flow_services.config,
        overrides,
    )
    assert draft.problems == [] and amend.engineer_problems(order, overrides) == []
    runner = Runner(flow_services, timing=FAST)
    job = runner.launch("7004", draft.plan, {}, confirm_warnings=True)
    with flow_services.store.session() as session:
        trail = audit.entries(session, order_id="7004")
    provided = [e for e in trail if e.step == "engineer_provided"]
    assert len(provided) == 1, [(e.step, e.message) for e in trail]
    assert "RAM 2GiB" in provided[0].message and "disk 40GiB" in provided[0].message
    assert "template alma9" in provided[0].message and "vCPU" not in provided[0].message
    assert provided[0].data["fields"] == ["RAM", "disk", "template"]
    assert runner.run(job.id).state == "done"


def test_a_retry_with_an_edited_plan_runs_the_new_values_and_audits_them(
    flow_services, engine_sim, add_order
):
    # The disk's extend is refused once: the job fails at resizing, and the retry's new
    # memory is applied to the VM the create sized from the first plan.
    engine_sim.faults.add("PUT", r"/diskattachments/", nth=1, status=400, detail="[refused]")
    add_order("7005", product="VPS Linux", cpus=2, memory_mib=2048, disk_gib=30)
    with flow_services.store.session() as session:
        order = session.get(Order, "7005")
    plan = draft_plan(
        order,
        flow_services.config.catalog.product_for("VPS Linux"),
        flow_services.engine().list_templates(),
        flow_services.config,
    ).plan
    runner = Runner(flow_services, timing=FAST)
    job = runner.run(runner.launch("7005", plan, {}, confirm_warnings=True).id)
    assert (job.state, job.failed_step) == ("failed", "resizing"), job.error_message
    with pytest.raises(BadInput, match="template cannot change"):
        runner.retry(job.id, plan=replace(plan, template_name="alma9-cpanel"))
    done = runner.retry(job.id, plan=replace(plan, memory_mib=4096, guaranteed_mib=4096))
    assert done.state == "done", done.error_message
    assert done.plan["memory_mib"] == 4096
    assert engine_sim.world.vm_by_name("vps-7005").memory == 4096 * 1024**2
    with flow_services.store.session() as session:
        trail = audit.entries(session, order_id="7005")
    amended = [e.message for e in trail if e.step == "plan_amended"]
    assert amended == ["RAM 2GiB -> 4GiB; guaranteed RAM 2GiB -> 4GiB"]
