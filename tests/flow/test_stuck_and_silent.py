"""Stuck and silent failures are flagged with what to check, not waited on forever.

A clone that stays `image_locked` past the threshold derived from the disk size, a guest
that never reports an IP, a guest reporting another hostname than the plan's, and a VM that
fails to boot: each ends the job `failed(step)` with a message and a hint naming what to
check, the order is not handed over, and (where the cause can be fixed) `retry` finishes
the job with the same single VM. All through the real SDK against the engine simulator.
"""

from __future__ import annotations

from dataclasses import replace

from console.flow.plan import Overrides, draft_plan
from console.flow.runner import Runner
from console.store import jobs as repo
from console.store.models import Order
from tests.plugins.flow import FAST

# The runner's patience, shrunk so each silent failure is flagged within about a second.
QUICK = replace(
    FAST,
    clone_base_seconds=0.5,
    clone_seconds_per_gib=0.01,
    ip_seconds=1.5,
    boot_seconds=5.0,
    hostname_grace_seconds=0.5,
)


def launch(services, runner, order_id, product="VPS Linux", overrides=Overrides(), **values):
    with services.store.session() as session:
        session.add(
            Order(
                id=order_id,
                source="manual",
                product_name=product,
                client_name="Test Client",
                **values,
            )
        )
    with services.store.session() as session:
        order = session.get(Order, order_id)
    draft = draft_plan(
        order,
        services.config.catalog.product_for(product),
        services.engine().list_templates(),
        services.config,
        overrides,
    )
    assert draft.problems == [], draft.problems
    return runner.launch(order_id, draft.plan, {}, confirm_warnings=True)


def vms_of(engine_sim, order_id):
    with engine_sim.world.lock:
        vms = list(engine_sim.world.vms.values())
    return [vm for vm in vms if f"order={order_id} " in (vm.comment or "")]


def order_status(services, order_id):
    with services.store.session() as session:
        return session.get(Order, order_id).status


def assert_flagged(job, step, code, *, message_has, hint_has):
    assert (job.state, job.failed_step) == ("failed", step), (
        job.state,
        job.failed_step,
        job.error_message,
    )
    assert job.error_code == code, (job.error_code, job.error_message)
    for words in message_has:
        assert words in job.error_message, job.error_message
    assert job.error_hint, "a failure must say what to check"
    for words in hint_has:
        assert words in job.error_hint, job.error_hint


def test_a_clone_stuck_image_locked_past_its_disk_threshold_is_flagged_then_retry_finishes(
    flow_services, engine_sim
):
    runner = Runner(flow_services, timing=QUICK)
    job = launch(flow_services, runner, "3101")
    disk_gib = job.plan["disk_gib"]
    limit = QUICK.clone_limit(disk_gib)
    assert limit > QUICK.clone_limit(1)  # the threshold grows with the disk
    # The storage crawls: the full copy now takes thousands of simulated seconds.
    engine_sim.set_time_scale(1000)
    failed = runner.run(job.id)
    engine_sim.set_time_scale(0.01)
    assert_flagged(
        failed,
        "clone_wait",
        "stuck_image_locked",
        message_has=("vps-3101", "image_locked", f"{disk_gib} GiB", f"at most {limit:.0f}s"),
        hint_has=("Tasks", "storage domain"),
    )
    assert engine_sim.vm("vps-3101")["status"] == "image_locked"  # not removed, not waited on
    assert order_status(flow_services, "3101") == "failed"
    events = repo.job_events(flow_services.store, job.id)
    assert any(e.kind == "step_failed" and e.step == "clone_wait" for e in events)

    engine_sim.advance()  # the copy completes after all
    done = runner.retry(job.id)
    assert done.state == "done", (done.failed_step, done.error_message)
    assert len(vms_of(engine_sim, "3101")) == 1
    assert engine_sim.vm("vps-3101")["status"] == "up"
    creates = [c for c in engine_sim.calls if c[0] == "POST" and c[1] == "/vms"]
    assert len(creates) == 1


def test_a_guest_that_never_reports_an_ip_is_flagged_and_not_handed_over(flow_services, engine_sim):
    engine_sim.set_guest_behaviour("vps-3102", never_ip=True)
    runner = Runner(flow_services, timing=QUICK)
    job = launch(flow_services, runner, "3102")
    failed = runner.run(job.id)
    assert_flagged(
        failed,
        "ip_wait",
        "no_ip",
        message_has=("vps-3102", "no IP address"),
        hint_has=("guest agent", "DHCP"),
    )
    assert failed.ips == []
    assert engine_sim.vm("vps-3102")["status"] == "up"  # the VM runs; only the guest is silent
    assert order_status(flow_services, "3102") == "failed"
    with flow_services.store.session() as session:
        assert session.get(Order, "3102").handed_over_at is None

    # Once the agent talks (here: a fixed guest rule and a reboot of the agent's report)
    # retry picks the job up at ip_wait and finishes it with the same VM.
    engine_sim.set_guest_behaviour("vps-3102")
    with engine_sim.world.lock:
        vm = engine_sim.world.vm_by_name("vps-3102")
        engine_sim.world._schedule_guest_report(vm, engine_sim.world.guest_behaviour(vm.name))
    done = runner.retry(job.id)
    assert done.state == "done", (done.failed_step, done.error_message)
    assert done.ips and len(vms_of(engine_sim, "3102")) == 1


def test_a_guest_reporting_another_hostname_is_flagged_and_never_handed_over(
    flow_services, engine_sim, whmcs_sim
):
    engine_sim.set_guest_behaviour("vps-3103", hostname="other.example")
    runner = Runner(flow_services, timing=QUICK)
    job = launch(flow_services, runner, "3103", overrides=Overrides(hostname="shop.example.net"))
    failed = runner.run(job.id)
    assert_flagged(
        failed,
        "ip_wait",
        "hostname_mismatch",
        message_has=("'other.example'", "'shop.example.net'"),
        hint_has=("cloud-init", "/var/log/cloud-init.log"),
    )
    assert failed.ips == []  # the IP of an unverified guest is not recorded for handover
    assert order_status(flow_services, "3103") == "failed"
    with flow_services.store.session() as session:
        assert session.get(Order, "3103").handed_over_at is None
    assert not any(e.step == "handover" for e in repo.job_events(flow_services.store, job.id))
    assert whmcs_sim.calls_for("AcceptOrder") == []
    assert whmcs_sim.calls_for("UpdateClientProduct") == []
    # Retrying without fixing the guest flags it again: never a handover to the wrong host.
    again = runner.retry(job.id)
    assert (again.state, again.failed_step, again.error_code) == (
        "failed",
        "ip_wait",
        "hostname_mismatch",
    )
    assert len(vms_of(engine_sim, "3103")) == 1


def test_a_windows_guest_reporting_another_computer_name_is_flagged_with_sysprep_hints(
    flow_services, engine_sim
):
    from tests.plugins.flow import PLESK_CODE, WINDOWS_KEY

    engine_sim.set_guest_behaviour("vps-3105", hostname="WIN-8F2K1Q")
    runner = Runner(flow_services, timing=QUICK)
    with flow_services.store.session() as session:
        session.add(Order(id="3105", source="manual", product_name="VPS Windows Plesk"))
    with flow_services.store.session() as session:
        order = session.get(Order, "3105")
    plan = draft_plan(
        order,
        flow_services.config.catalog.product_for("VPS Windows Plesk"),
        flow_services.engine().list_templates(),
        flow_services.config,
        Overrides(hostname="win-3105.example.net"),
    ).plan
    job = runner.launch(
        "3105", plan, {"windows": WINDOWS_KEY, "plesk": PLESK_CODE}, confirm_warnings=True
    )
    failed = runner.run(job.id)
    assert_flagged(
        failed,
        "ip_wait",
        "hostname_mismatch",
        message_has=("'WIN-8F2K1Q'", "win-3105.example.net"),
        hint_has=("sysprep", "setupact.log"),
    )


def test_a_vm_that_fails_to_boot_is_flagged_with_where_to_look(flow_services, engine_sim):
    engine_sim.set_guest_behaviour("vps-3104", fail_boot=True)
    runner = Runner(flow_services, timing=QUICK)
    job = launch(flow_services, runner, "3104")
    failed = runner.run(job.id)
    assert_flagged(
        failed,
        "starting",
        "boot_failed",
        message_has=("vps-3104", "went down"),
        hint_has=("console", "VM_DOWN_ERROR"),
    )
    assert engine_sim.vm("vps-3104")["status"] == "down"
    assert any(
        "down with error" in e["description"] for e in engine_sim.events() if e["vm"] == "vps-3104"
    )
    # The host is fixed: retry boots the same VM and finishes.
    engine_sim.set_guest_behaviour("vps-3104")
    done = runner.retry(job.id)
    assert done.state == "done", (done.failed_step, done.error_message)
    assert len(vms_of(engine_sim, "3104")) == 1


def test_a_guest_reporting_an_ip_but_no_hostname_is_flagged_for_the_hostname(
    flow_services, engine_sim
):
    """The agent reports the address but not the name: the IP is there, so the flag must
    be about the hostname (not "no IP"), and there is no handover."""

    def drop_the_name(event):
        if event.step == "ip_wait" and event.kind == "started":
            engine_sim.advance()  # let the guest agent report
            with engine_sim.world.lock:
                engine_sim.world.vm_by_name("vps-3106").fqdn = None

    runner = Runner(flow_services, timing=QUICK, on_event=drop_the_name)
    job = launch(flow_services, runner, "3106")
    failed = runner.run(job.id)
    assert engine_sim.vm("vps-3106")["status"] == "up"
    reported = engine_sim.vm("vps-3106")["ips"]
    assert reported
    assert_flagged(
        failed,
        "ip_wait",
        "no_hostname",
        message_has=(reported[0], "hostname"),
        hint_has=("guest agent",),
    )
    assert "no IP address" not in failed.error_message
    with flow_services.store.session() as session:
        assert session.get(Order, "3106").handed_over_at is None
