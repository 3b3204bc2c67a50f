"""A refresh that cannot finish says which step, the engine's reason and what to do; retry goes
on from that step; cancel removes only what the refresh created."""

from __future__ import annotations

import ovirtsdk4.types as types

from console.config import TemplateUpkeep
from tests.plugins.engine import wait_for
from tests.plugins.upkeep import build_vms


def _with_policy(services, **fields):
    catalog = services.config.catalog.model_copy(
        update={"templates": (TemplateUpkeep(name="alma9-cpanel", **fields),)}
    )
    services.config = services.config.model_copy(update={"catalog": catalog})


def test_a_script_that_never_powers_off_fails_after_its_timeout_and_leaves_the_build_vm(
    engine_sim, flow_services, refresher
):
    _with_policy(flow_services, script_timeout_minutes=1)  # 0.6 s at the test's time scale
    engine_sim.set_guest_behaviour("tpl-build-*", script_hangs=True)
    before = engine_sim.template_versions("alma9-cpanel")
    row = refresher.refresh("alma9-cpanel")
    assert (row.state, row.failed_step, row.error_code) == (
        "failed",
        "script_wait",
        "script_timeout",
    )
    assert "did not power the guest off within 1s" in row.error_message
    assert "script_timeout_minutes (no earlier refresh)" in row.error_message
    assert f"{row.build_vm_name} is left running for inspection" in row.error_hint
    assert "/var/log/cloud-init-output.log" in row.error_hint
    assert build_vms(engine_sim) == [row.build_vm_name]
    assert engine_sim.vm(row.build_vm_name)["status"] == "up"

    # The operator looks, then powers it off by hand: retry goes on from the wait and finishes.
    engine_sim.set_guest_behaviour("tpl-build-*")
    with engine_sim.world.lock:
        vm_id = engine_sim.world.vm_by_name(row.build_vm_name).id
    import ovirtsdk4

    connection = ovirtsdk4.Connection(
        url=engine_sim.url, username=engine_sim.username, password=engine_sim.password
    )
    try:
        service = connection.system_service().vms_service().vm_service(vm_id)
        service.shutdown()
        wait_for(lambda: service.get().status == types.VmStatus.DOWN)
    finally:
        connection.close()
    row = refresher.retry(row.id)
    assert row.state == "done", (row.state, row.error_message)
    assert len(engine_sim.template_versions("alma9-cpanel")) == len(before) + 1
    assert build_vms(engine_sim) == []


def test_cancel_of_a_hung_refresh_removes_its_build_vm_and_nothing_else(
    engine_sim, flow_services, refresher
):
    _with_policy(flow_services, script_timeout_minutes=1)
    engine_sim.set_guest_behaviour("tpl-build-*", script_hangs=True)
    before = engine_sim.template_versions("alma9-cpanel")
    vms_before = len(engine_sim.world.vms)
    row = refresher.refresh("alma9-cpanel")
    assert row.failed_step == "script_wait"
    row = refresher.cancel(row.id)
    assert row.state == "cancelled"
    assert row.events[-1]["message"] == f"cancelled: removed build VM {row.build_vm_name}"
    wait_for(lambda: build_vms(engine_sim) == [])
    assert engine_sim.template_versions("alma9-cpanel") == before
    assert len(engine_sim.world.vms) == vms_before


def test_a_refused_version_fails_sealing_with_the_engines_reason_and_retry_finishes(
    engine_sim, refresher
):
    engine_sim.faults.add(
        "POST",
        r"^/templates$",
        nth=1,
        status=409,
        detail="[Cannot add Template. Low disk space on Storage Domain data-ssd.]",
    )
    row = refresher.refresh("alma9-cpanel")
    assert (row.state, row.failed_step) == ("failed", "sealing")
    assert "Low disk space on Storage Domain data-ssd" in row.error_message
    assert row.error_hint
    assert build_vms(engine_sim) == [row.build_vm_name]  # kept: retry makes the version from it
    row = refresher.retry(row.id)
    assert row.state == "done"
    versions = engine_sim.template_versions("alma9-cpanel")
    assert [v["version_number"] for v in versions] == [1, 2, 3, 4]
    assert build_vms(engine_sim) == []


def test_cancel_after_the_version_was_made_removes_that_version_too(engine_sim, refresher):
    engine_sim.faults.add(
        "DELETE",
        r"^/vms/[^/]+$",
        nth=1,
        status=409,
        detail="[Cannot remove VM. Disk is in use by a backup.]",
    )
    before = engine_sim.template_versions("alma9-cpanel")
    row = refresher.refresh("alma9-cpanel")
    assert (row.state, row.failed_step) == ("failed", "cleanup")
    assert len(engine_sim.template_versions("alma9-cpanel")) == len(before) + 1
    row = refresher.cancel(row.id)
    assert row.state == "cancelled"
    assert "removed alma9-cpanel v4, which this refresh made" in row.events[-1]["message"]
    wait_for(lambda: engine_sim.template_versions("alma9-cpanel") == before)
    wait_for(lambda: build_vms(engine_sim) == [])


def test_a_busy_engine_is_waited_out_and_the_change_journaled_once(engine_sim, refresher):
    """The refresh's engine calls go through the same backoff as a provisioning run's."""
    busy = engine_sim.faults.add("POST", r"^/templates$", nth=1, status=503, detail="[busy]")
    row = refresher.refresh("alma9-cpanel")
    assert busy.fired == 1
    assert row.state == "done"
    sealing = [
        e["message"] for e in row.events if e.get("kind") == "engine" and e["step"] == "sealing"
    ]
    assert [m.split(": ")[0] for m in sealing] == ["calling", "done"], sealing
    assert all(m.endswith("of alma9-cpanel") for m in sealing), sealing
