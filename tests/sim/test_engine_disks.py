"""Disks through the SDK: floating disks, attachments, plug state, boot flag, storage accounting, faults."""

from __future__ import annotations

import ovirtsdk4
import ovirtsdk4.types as types
import pytest

from tests.plugins.engine import ready_vm, wait_for

GiB = 1024**3


def _floating(
    system, alias: str, size: int = 5 * GiB, sd: str = "data-ssd", sparse: bool = True
) -> types.Disk:
    return system.disks_service().add(
        types.Disk(
            name=alias,
            provisioned_size=size,
            format=types.DiskFormat.COW if sparse else types.DiskFormat.RAW,
            sparse=sparse,
            storage_domains=[types.StorageDomain(name=sd)],
        )
    )


def _ok(system, disk_id: str) -> types.Disk:
    service = system.disks_service().disk_service(disk_id)
    return wait_for(lambda: (d := service.get()).status == types.DiskStatus.OK and d)


def test_floating_disk_lifecycle_and_accounting(engine_sim, sdk_connection):
    system = sdk_connection.system_service()
    before = engine_sim.storage_domain("data-hdd")
    disk = _floating(system, "scratch", 8 * GiB, sd="data-hdd", sparse=False)
    assert disk.status == types.DiskStatus.LOCKED
    disk = _ok(system, disk.id)
    after = engine_sim.storage_domain("data-hdd")
    assert after["committed"] - before["committed"] == 8 * GiB
    assert after["used"] - before["used"] == 8 * GiB  # preallocated
    sd = system.storage_domains_service().list(search="name=data-hdd")[0]
    on_domain = (
        system.storage_domains_service().storage_domain_service(sd.id).disks_service().list()
    )
    assert disk.id in {d.id for d in on_domain}
    assert [
        d.id for d in system.disks_service().list(search="Storage.name=data-hdd and name=scratch")
    ] == [disk.id]
    system.disks_service().disk_service(disk.id).remove()
    engine_sim.advance()
    with pytest.raises(ovirtsdk4.NotFoundError):
        system.disks_service().disk_service(disk.id).get()
    assert engine_sim.storage_domain("data-hdd")["used"] == before["used"]
    codes = [e["code"] for e in engine_sim.events()]
    assert {2020, 2021, 2038, 2014} <= set(codes)


def test_add_disk_needs_its_fields_and_space(engine_sim, sdk_connection):
    disks = sdk_connection.system_service().disks_service()
    with pytest.raises(ovirtsdk4.Error) as caught:
        disks.add(types.Disk(name="x", format=types.DiskFormat.COW))
    assert caught.value.code == 400
    assert (
        "Disk [provisioned_size, storage_domains.storage_domain.id|name] required for add"
        in str(caught.value)
    )
    engine_sim.fill_storage_domain("data-hdd")
    with pytest.raises(ovirtsdk4.Error) as caught:
        disks.add(
            types.Disk(
                name="big",
                provisioned_size=GiB,
                format=types.DiskFormat.RAW,
                sparse=False,
                storage_domains=[types.StorageDomain(name="data-hdd")],
            )
        )
    assert caught.value.code == 409
    assert "Cannot add Virtual Disk. Low disk space on Storage Domain data-hdd." in str(
        caught.value
    )


def test_attach_existing_disk_plug_state_and_detach(engine_sim, sdk_connection):
    system = sdk_connection.system_service()
    vm, service = ready_vm(sdk_connection, "vps-2201")
    disk = _ok(system, _floating(system, "extra").id)
    attachments = service.disk_attachments_service()
    attachment = attachments.add(
        types.DiskAttachment(
            disk=types.Disk(id=disk.id),
            active=False,
            bootable=False,
            interface=types.DiskInterface.VIRTIO,
        )
    )
    assert attachment.active is False and attachment.interface == types.DiskInterface.VIRTIO
    # Attached already: the engine refuses a second attach.
    with pytest.raises(ovirtsdk4.Error) as caught:
        attachments.add(
            types.DiskAttachment(disk=types.Disk(id=disk.id), interface=types.DiskInterface.VIRTIO)
        )
    assert "Cannot attach Virtual Disk. The disk is already attached to VM." in str(caught.value)
    one = attachments.attachment_service(disk.id)
    one.update(types.DiskAttachment(active=True))
    assert one.get().active is True
    # A second boot disk is refused while the template's disk is bootable.
    with pytest.raises(ovirtsdk4.Error) as caught:
        one.update(types.DiskAttachment(bootable=True))
    assert "is already marked as boot" in str(caught.value)
    one.remove()
    assert disk.id not in {a.id for a in attachments.list()}
    floating = system.disks_service().disk_service(disk.id).get()
    assert floating.id == disk.id  # detached, not removed


def test_new_disk_on_a_vm_is_locked_then_ok(engine_sim, sdk_connection):
    system = sdk_connection.system_service()
    vm, service = ready_vm(sdk_connection, "vps-2202")
    engine_sim.set_time_scale(100.0)  # slow enough to see the lock
    attachment = service.disk_attachments_service().add(
        types.DiskAttachment(
            disk=types.Disk(
                name="vps-2202-data",
                provisioned_size=2 * GiB,
                format=types.DiskFormat.COW,
                storage_domains=[types.StorageDomain(name="data-ssd")],
            ),
            interface=types.DiskInterface.VIRTIO_SCSI,
            bootable=False,
            active=True,
        )
    )
    disk_service = system.disks_service().disk_service(attachment.disk.id)
    assert disk_service.get().status == types.DiskStatus.LOCKED
    with pytest.raises(ovirtsdk4.Error) as caught:
        disk_service.remove()
    assert "The following disks are locked: vps-2202-data" in str(caught.value)
    engine_sim.advance()
    assert disk_service.get().status == types.DiskStatus.OK
    assert {e["code"] for e in engine_sim.events() if e["vm"] == "vps-2202"} >= {78, 97}
