"""Snapshots and templates through the SDK: lifecycles (locked -> ok), restore, clone, versions, refusals."""

from __future__ import annotations

import ovirtsdk4
import ovirtsdk4.types as types
import pytest

from tests.plugins.engine import ready_vm, wait_for, wait_status

GiB = 1024**3


def _snapshot_ok(service, snapshot_id):
    one = service.snapshots_service().snapshot_service(snapshot_id)
    return wait_for(lambda: (s := one.get()).snapshot_status == types.SnapshotStatus.OK and s)


def test_snapshot_create_list_restore_remove(engine_sim, sdk_connection):
    vm, service = ready_vm(sdk_connection, "vps-2401", memory=2 * GiB)
    engine_sim.set_time_scale(100.0)
    snapshot = service.snapshots_service().add(types.Snapshot(description="before upgrade"))
    assert snapshot.snapshot_status == types.SnapshotStatus.LOCKED
    with pytest.raises(ovirtsdk4.Error) as caught:
        service.snapshots_service().add(types.Snapshot(description="again"))
    assert "Cannot create Snapshot. Related operation is currently in progress." in str(
        caught.value
    )
    engine_sim.advance()
    engine_sim.set_time_scale(0.01)
    listed = service.snapshots_service().list()
    assert [(s.description, s.snapshot_type) for s in listed] == [
        ("before upgrade", types.SnapshotType.REGULAR),
        ("Active VM", types.SnapshotType.ACTIVE),
    ]
    service.update(
        types.Vm(
            memory=4 * GiB, serial_number=types.SerialNumber(policy=types.SerialNumberPolicy.VM)
        )
    )
    assert service.get().memory == 4 * GiB
    service.snapshots_service().snapshot_service(snapshot.id).restore()
    wait_status(service, types.VmStatus.DOWN)
    restored = service.get()
    assert restored.memory == 2 * GiB and restored.serial_number is None
    events = {e["code"] for e in engine_sim.events() if e["vm"] == "vps-2401"}
    assert {45, 68, 1190, 100} <= events
    # The active snapshot cannot be removed; a regular one can.
    active = [s for s in listed if s.snapshot_type == types.SnapshotType.ACTIVE][0]
    with pytest.raises(ovirtsdk4.Error):
        service.snapshots_service().snapshot_service(active.id).remove()
    service.snapshots_service().snapshot_service(snapshot.id).remove()
    engine_sim.advance()
    assert [s.description for s in service.snapshots_service().list()] == ["Active VM"]


def test_restore_needs_a_down_vm(engine_sim, sdk_connection):
    vm, service = ready_vm(sdk_connection, "vps-2402")
    snapshot = service.snapshots_service().add(types.Snapshot(description="s1"))
    _snapshot_ok(service, snapshot.id)
    service.start()
    wait_status(service, types.VmStatus.UP)
    with pytest.raises(ovirtsdk4.Error) as caught:
        service.snapshots_service().snapshot_service(snapshot.id).restore()
    assert "Cannot preview Snapshot. At least one of the VMs is not down." in str(caught.value)


def test_clone_vm_from_snapshot(engine_sim, sdk_connection):
    vm, service = ready_vm(sdk_connection, "vps-2403", memory=2 * GiB)
    snapshot = service.snapshots_service().add(types.Snapshot(description="golden"))
    _snapshot_ok(service, snapshot.id)
    vms = sdk_connection.system_service().vms_service()
    clone = vms.add(
        types.Vm(
            name="vps-2404",
            snapshots=[types.Snapshot(id=snapshot.id)],
            cluster=types.Cluster(name="prod-a"),
        )
    )
    assert clone.status == types.VmStatus.IMAGE_LOCKED
    clone = wait_status(vms.vm_service(clone.id), types.VmStatus.DOWN)
    assert clone.memory == 2 * GiB and clone.template.id == vm.template.id
    clone_disks = vms.vm_service(clone.id).disk_attachments_service().list()
    source_disks = service.disk_attachments_service().list()
    assert len(clone_disks) == len(source_disks) and {a.id for a in clone_disks}.isdisjoint(
        a.id for a in source_disks
    )


def test_template_from_vm_with_version_seal_and_removal(engine_sim, sdk_connection):
    system = sdk_connection.system_service()
    templates = system.templates_service()
    vm, service = ready_vm(sdk_connection, "vps-2405")
    engine_sim.set_time_scale(100.0)
    base = templates.add(types.Template(name="shop-base", vm=types.Vm(id=vm.id)), seal=True)
    assert base.status == types.TemplateStatus.LOCKED
    assert service.get().status == types.VmStatus.IMAGE_LOCKED
    with pytest.raises(ovirtsdk4.Error) as caught:
        templates.template_service(base.id).remove()
    assert "Related operation is currently in progress" in str(caught.value)
    engine_sim.advance()
    engine_sim.set_time_scale(0.01)
    base = templates.template_service(base.id).get()
    assert base.status == types.TemplateStatus.OK and base.version.version_number == 1
    assert base.version.base_template.id == base.id
    assert [n.name for n in templates.template_service(base.id).nics_service().list()] == ["nic1"]
    with pytest.raises(ovirtsdk4.Error) as caught:
        templates.add(types.Template(name="shop-base", vm=types.Vm(id=vm.id)))
    assert "Cannot add Template. Template name shop-base already used." in str(caught.value)
    v2 = templates.add(
        types.Template(
            name="shop-base",
            vm=types.Vm(id=vm.id),
            version=types.TemplateVersion(
                base_template=types.Template(id=base.id), version_name="2026-12 patch"
            ),
        )
    )
    v2 = wait_for(
        lambda: (
            (t := templates.template_service(v2.id).get()).status == types.TemplateStatus.OK and t
        )
    )
    assert (v2.name, v2.version.version_number, v2.version.version_name) == (
        "shop-base",
        2,
        "2026-12 patch",
    )
    assert v2.version.base_template.id == base.id

    # A VM based on the template blocks its removal; a base template with versions too.
    thin, thin_service = ready_vm(sdk_connection, "vps-2406", template="shop-base", clone=False)
    assert thin.template.id == v2.id  # by name: the latest version
    with pytest.raises(ovirtsdk4.Error) as caught:
        templates.template_service(v2.id).remove()
    assert "Cannot delete Template. Template is being used by the following VMs: vps-2406." in str(
        caught.value
    )
    with pytest.raises(ovirtsdk4.Error) as caught:
        templates.template_service(base.id).remove()
    assert "please first remove all Template Versions for this Template: 2026-12 patch." in str(
        caught.value
    )
    with pytest.raises(ovirtsdk4.Error) as caught:
        templates.template_service("00000000-0000-0000-0000-000000000000").remove()
    assert "Removing Blank Template is not allowed." in str(caught.value)
    thin_service.remove()
    engine_sim.advance()
    used = engine_sim.storage_domain("data-ssd")["used"]
    templates.template_service(v2.id).remove()
    engine_sim.advance()
    with pytest.raises(ovirtsdk4.NotFoundError):
        templates.template_service(v2.id).get()
    assert engine_sim.storage_domain("data-ssd")["used"] < used
    assert {48, 51, 50, 251} <= {e["code"] for e in engine_sim.events()}
