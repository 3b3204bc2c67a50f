"""Drive the simulator the way Ansible's ovirt.ovirt.ovirt_vm does, through the unmodified SDK.

The calls follow ovirt_vm.py and module_utils/ovirt.py of oVirt/ovirt-ansible-collection:
find by name (search), resolve the template in the cluster's data center, add, wait
for Down, then the post-create passes (NUMA nodes, watchdog, graphics consoles, NICs
by vNIC profile, disks by name), and on a re-run compare and change nothing.
"""

from __future__ import annotations

import ovirtsdk4
import ovirtsdk4.types as types
import pytest

from tests.plugins.engine import wait_for, wait_status

GiB = 1024**3
NAME = "vps-3001"


def _desired():
    return {
        "memory": 2 * GiB,
        "cores": 2,
        "os": "rhel_9x64",
        "serial": "vps-3001-serial",
        "custom": [("hugepages", "2048")],
        "nics": [("nic1", "ovirtmgmt"), ("nic2", "customers")],
        "disks": [("vps-3001-data", 10 * GiB)],
    }


def _profile_ids(connection, cluster) -> dict[str, str]:
    """ovirt_vm.__get_vnic_profile_id: the profiles whose network is one of the cluster's."""
    networks = {n.id for n in connection.follow_link(cluster.networks)}
    return {
        p.name: p.id
        for p in connection.system_service().vnic_profiles_service().list()
        if p.network.id in networks
    }


def _ensure(connection, want) -> bool:
    """One ovirt_vm run with state=present; returns ``changed``."""
    system = connection.system_service()
    vms = system.vms_service()
    changed = False
    found = vms.list(search=f"name={NAME}")
    cluster = system.clusters_service().list(search="name=prod-a")[0]
    if not found:
        data_center = connection.follow_link(cluster.data_center)
        template = system.templates_service().list(
            search=f"name=alma9 and datacenter={data_center.name}"
        )[-1]
        vm = vms.add(
            types.Vm(
                name=NAME,
                cluster=types.Cluster(name=cluster.name),
                template=types.Template(id=template.id),
                memory=want["memory"],
                cpu=types.Cpu(
                    topology=types.CpuTopology(cores=want["cores"], sockets=1, threads=1)
                ),
                os=types.OperatingSystem(type=want["os"]),
                type=types.VmType.SERVER,
                serial_number=types.SerialNumber(
                    policy=types.SerialNumberPolicy.CUSTOM, value=want["serial"]
                ),
                custom_properties=[
                    types.CustomProperty(name=n, value=v) for n, v in want["custom"]
                ],
                high_availability=types.HighAvailability(enabled=True, priority=50),
                initialization=types.Initialization(
                    host_name="vps-3001.example.net",
                    user_name="root",
                    root_password="s3cret",
                    authorized_ssh_keys="ssh-ed25519 AAAA k",
                    nic_configurations=[
                        types.NicConfiguration(
                            name="eth0", on_boot=True, boot_protocol=types.BootProtocol.DHCP
                        )
                    ],
                ),
            ),
            clone=False,
        )
        changed = True
        vm = wait_status(vms.vm_service(vm.id), types.VmStatus.DOWN)
    else:
        vm = found[0]
        same = (
            vm.memory == want["memory"]
            and vm.cpu.topology.cores == want["cores"]
            and vm.os.type == want["os"]
            and vm.serial_number.value == want["serial"]
            and [(p.name, p.value) for p in vm.custom_properties] == want["custom"]
            and vm.high_availability.enabled
        )
        if not same:
            vms.vm_service(vm.id).update(types.Vm(memory=want["memory"]))
            changed = True
    service = vms.vm_service(vm.id)
    # post_present: the device passes list what is there and change only what differs.
    assert service.numa_nodes_service().list() == []
    assert service.watchdogs_service().list() == []
    assert service.graphics_consoles_service().list() == []
    assert service.host_devices_service().list() == []
    cdrom = service.cdroms_service().list()[0]
    assert cdrom.file is None
    profiles = _profile_ids(connection, cluster)
    nics_service = service.nics_service()
    current = {n.name: n for n in nics_service.list()}
    for name, profile in want["nics"]:
        nic = current.get(name)
        if nic is None:
            nics_service.add(
                types.Nic(
                    name=name,
                    interface=types.NicInterface.VIRTIO,
                    vnic_profile=types.VnicProfile(id=profiles[profile]),
                )
            )
            changed = True
        elif nic.vnic_profile is None or nic.vnic_profile.id != profiles[profile]:
            nics_service.nic_service(nic.id).update(
                types.Nic(vnic_profile=types.VnicProfile(id=profiles[profile]))
            )
            changed = True
    attachments = service.disk_attachments_service()
    disks = system.disks_service()
    for alias, size in want["disks"]:
        existing = disks.list(search=f"name={alias}")
        if not existing:
            sd = system.storage_domains_service().list(search="name=data-ssd")[0]
            attachment = attachments.add(
                types.DiskAttachment(
                    disk=types.Disk(
                        name=alias,
                        provisioned_size=size,
                        format=types.DiskFormat.COW,
                        storage_domains=[types.StorageDomain(id=sd.id)],
                    ),
                    interface=types.DiskInterface.VIRTIO_SCSI,
                    bootable=False,
                    active=True,
                )
            )
            wait_for(
                lambda attachment=attachment: (
                    disks.disk_service(attachment.disk.id).get().status == types.DiskStatus.OK
                )
            )
            changed = True
        elif existing[0].provisioned_size < size:
            attachments.attachment_service(existing[0].id).update(
                types.DiskAttachment(disk=types.Disk(provisioned_size=size))
            )
            changed = True
    return changed


def test_ovirt_vm_style_create_rerun_stop_remove(engine_sim, sdk_connection):
    want = _desired()
    assert _ensure(sdk_connection, want) is True
    vms = sdk_connection.system_service().vms_service()
    vm = vms.list(search=f"name={NAME}")[0]
    service = vms.vm_service(vm.id)
    # What the engine keeps of the create: the fields it models and the ones it only stores.
    assert (
        vm.serial_number.policy == types.SerialNumberPolicy.CUSTOM
        and vm.serial_number.value == "vps-3001-serial"
    )
    assert [(p.name, p.value) for p in vm.custom_properties] == [("hugepages", "2048")]
    assert vm.high_availability.enabled and vm.high_availability.priority == 50
    assert vm.initialization.root_password == "******"
    assert vm.initialization.nic_configurations[0].name == "eth0"
    nics = service.nics_service().list()
    assert [n.name for n in nics] == ["nic1", "nic2"]
    assert len({n.mac.address for n in nics}) == 2
    assert all(n.mac.address.startswith("56:6f:") for n in nics)
    attachments = service.disk_attachments_service().list()
    assert len(attachments) == 2
    assert [a.bootable for a in attachments] == [True, False]

    # Idempotent re-run: only reads, nothing changed.
    engine_sim.reset_calls()
    assert _ensure(sdk_connection, want) is False
    assert {method for method, _path, _query in engine_sim.calls} == {"GET"}

    # state=running with cloud-init, then state=stopped.
    service.start(use_cloud_init=True)
    wait_status(service, types.VmStatus.UP)
    assert engine_sim.vm(NAME)["run_initialization"]["host_name"] == "vps-3001.example.net"
    service.stop()
    wait_status(service, types.VmStatus.DOWN)

    # state=absent: remove, then the VM is gone (404 on its service) and its disks free their space.
    before = engine_sim.storage_domain("data-ssd")["used"]
    service.remove()
    with pytest.raises(ovirtsdk4.NotFoundError):
        service.get()
    engine_sim.advance()
    assert engine_sim.storage_domain("data-ssd")["used"] < before
    assert sdk_connection.system_service().disks_service().list(search="name=vps-3001-data") == []
