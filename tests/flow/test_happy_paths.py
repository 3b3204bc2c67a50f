"""Linux + cPanel and Windows + Plesk orders, end to end against the engine simulator."""

from __future__ import annotations

from console.flow.plan import Overrides, draft_plan
from console.flow.runner import Runner
from console.store import jobs as repo
from console.store.models import Order
from tests.plugins.flow import FAST, PLESK_CODE, WINDOWS_KEY


def plan_for(services, order_id, overrides=Overrides()):
    engine = services.engine()
    with services.store.session() as session:
        order = session.get(Order, order_id)
    product = services.config.catalog.product_for(order.product_name)
    draft = draft_plan(order, product, engine.list_templates(), services.config, overrides)
    assert draft.problems == [], draft.problems
    return draft.plan


def test_linux_cpanel_order_ends_done_with_vm_up_resized_and_initialised(
    flow_services, add_order, engine_sim
):
    add_order("2001", "VPS Linux cPanel", cpus=4, memory_mib=8192, disk_gib=100)
    events = []
    runner = Runner(flow_services, on_event=events.append, timing=FAST)
    plan = plan_for(
        flow_services,
        "2001",
        Overrides(
            hostname="shop.example.net", ssh_keys=("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITEST t@x",)
        ),
    )
    job = runner.launch("2001", plan, {}, confirm_warnings=True)
    assert job.state == "planned"
    done = runner.run(job.id)
    assert done.state == "done", (done.error_message, done.error_hint)
    assert done.ips and not done.ips[0].startswith("fe80")

    vm = engine_sim.vm("vps-2001")
    assert vm["status"] == "up"
    assert vm["sockets"] * vm["cores"] * vm["threads"] == 4
    assert vm["memory"] == 8192 * 1024**2 and vm["memory_guaranteed"] == 8192 * 1024**2
    assert vm["disks"][0]["provisioned_size"] == 100 * 1024**3
    assert vm["run_initialization_type"] == "cloud_init"
    engine_vm = flow_services.engine().find_vm("vps-2001")
    assert (engine_vm.cpus, engine_vm.memory_mib, engine_vm.guaranteed_mib) == (4, 8192, 8192)
    assert engine_vm.disk_gib == 100
    assert "order-2001" in engine_vm.tags
    assert f"job={job.id}" in engine_vm.comment
    assert engine_vm.fqdn == "shop.example.net"
    init = vm["initialization"]
    assert init["host_name"] == "shop.example.net"
    assert "cpkeyclt" in init["custom_script"]
    assert "ssh-ed25519" in init["authorized_ssh_keys"]

    kinds = [(e.step, e.kind) for e in events]
    for step in (
        "cloning",
        "clone_wait",
        "resizing",
        "initializing",
        "starting",
        "ip_wait",
        "handover",
    ):
        assert (step, "started") in kinds and (step, "finished") in kinds
    with flow_services.store.session() as session:
        assert session.get(Order, "2001").status == "done"


def test_windows_plesk_order_carries_sysprep_hostname_and_both_keys(
    flow_services, add_order, engine_sim
):
    add_order("2002", "VPS Windows Plesk")
    runner = Runner(flow_services, timing=FAST)
    plan = plan_for(flow_services, "2002", Overrides(hostname="win-2002.example.net"))
    assert plan.init_kind == "sysprep" and plan.key_kinds == ("windows", "plesk")
    job = runner.launch(
        "2002", plan, {"windows": WINDOWS_KEY.lower(), "plesk": PLESK_CODE}, confirm_warnings=True
    )
    assert job.plan["license_masks"] == {"windows": "…-VMK7H", "plesk": "…-JKLMN0"}
    done = runner.run(job.id)
    assert done.state == "done", (done.error_message, done.error_hint)
    vm = engine_sim.vm("vps-2002")
    assert vm["status"] == "up"
    assert vm["memory"] == plan.memory_mib * 1024**2  # resized as planned
    assert vm["sockets"] * vm["cores"] * vm["threads"] == plan.cpus
    assert vm["disks"][0]["provisioned_size"] == plan.disk_gib * 1024**3
    assert vm["run_initialization_type"] == "sysprep"
    init = vm["initialization"]
    assert init["windows_license_key"] == WINDOWS_KEY
    assert init["host_name"].lower() == "win-2002"
    assert PLESK_CODE in init["custom_script"] and "plesk bin license" in init["custom_script"]
    assert done.ips
    assert vm["template_version"] == 2  # the newest win2022-plesk
    # Keys live in the secret store only; the store holds masks.
    for event in repo.job_events(flow_services.store, job.id):
        assert WINDOWS_KEY not in event.message and PLESK_CODE not in str(event.data)
    assert WINDOWS_KEY not in str(done.plan) and PLESK_CODE not in str(done.data)


def test_windows_mssql_order_upgrades_sql_server_with_its_key_at_first_boot(
    flow_services, add_order, engine_sim
):
    from console.config import ProductMapping

    mssql_key = "QDR6B-GVGMK-7DDHR-FV9C4-JQW3C"  # a product-key-shaped test value
    mapping = ProductMapping(
        billing_product="VPS Windows MSSQL",
        template="win2022-mssql",
        cpus=4,
        memory_mib=16384,
        disk_gib=200,
        license_kinds=("windows", "mssql"),
    )
    catalog = flow_services.config.catalog
    flow_services.config = flow_services.config.model_copy(
        update={"catalog": catalog.model_copy(update={"products": (*catalog.products, mapping)})}
    )
    add_order("2003", "VPS Windows MSSQL")
    runner = Runner(flow_services, timing=FAST)
    plan = plan_for(flow_services, "2003", Overrides(hostname="sql-2003.example.net"))
    assert plan.key_kinds == ("windows", "mssql") and plan.init_kind == "sysprep"
    job = runner.launch(
        "2003", plan, {"windows": WINDOWS_KEY, "mssql": mssql_key}, confirm_warnings=True
    )
    done = runner.run(job.id)
    assert done.state == "done", (done.error_message, done.error_hint)
    init = engine_sim.vm("vps-2003")["initialization"]
    assert init["windows_license_key"] == WINDOWS_KEY
    assert f"/PID={mssql_key}" in init["custom_script"]
    assert "/ACTION=EditionUpgrade" in init["custom_script"]
    assert done.plan["license_masks"]["mssql"] == "…-JQW3C"
