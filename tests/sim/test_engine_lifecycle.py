"""VM life through the real SDK: clone, resize, extend, start (cloud-init / sysprep), IPs, stop,
remove, tags, events."""

from __future__ import annotations

import ovirtsdk4
import ovirtsdk4.types as types
import pytest

from tests.plugins.engine import new_vm, ready_vm, wait_for, wait_status

GiB = 2**30


def test_clone_is_202_image_locked_then_down_with_disks_ok(engine_sim, sdk_connection):
    before = engine_sim.storage_domain("data-ssd")
    engine_sim.set_time_scale(
        1.0
    )  # a real-looking clone: we look at the locked state, then jump ahead
    vm, service = new_vm(
        sdk_connection,
        "vps-2001",
        description="order 2001",
        comment="job-1",
        memory=2 * GiB,
        cpu=types.Cpu(topology=types.CpuTopology(sockets=1, cores=2, threads=1)),
    )
    assert vm.status == types.VmStatus.IMAGE_LOCKED
    assert vm.href == f"/ovirt-engine/api/vms/{vm.id}"
    add_call = [c for c in engine_sim.calls if c[0] == "POST" and c[1] == "/vms"][-1]
    assert add_call[2]["clone"] == "true"
    attachments = service.disk_attachments_service().list()
    disks = sdk_connection.system_service().disks_service()
    assert [disks.disk_service(a.disk.id).get().status for a in attachments] == [
        types.DiskStatus.LOCKED
    ]
    assert engine_sim.storage_domain("data-ssd")["used"] > before["used"] + 10 * GiB  # a full copy
    assert service.get().status == types.VmStatus.IMAGE_LOCKED
    engine_sim.advance()
    down = service.get()
    assert down.status == types.VmStatus.DOWN
    assert disks.disk_service(attachments[0].disk.id).get().status == types.DiskStatus.OK
    assert (down.description, down.comment, down.memory) == ("order 2001", "job-1", 2 * GiB)
    assert down.cpu.topology.cores == 2
    # By name, the template resolves to its latest version.
    template = (
        sdk_connection.system_service().templates_service().template_service(down.template.id).get()
    )
    assert (template.name, template.version.version_number) == ("alma9-cpanel", 3)
    codes = [
        e.code
        for e in sdk_connection.system_service().events_service().list(search="event_vm=vps-2001")
    ]
    assert 37 in codes and 53 in codes


def test_thin_vm_consumes_little_space(engine_sim, sdk_connection):
    before = engine_sim.storage_domain("data-ssd")["used"]
    ready_vm(sdk_connection, "vps-2002", clone=False)
    assert engine_sim.storage_domain("data-ssd")["used"] - before <= 1 * GiB


def test_template_by_id_pins_a_version(engine_sim, sdk_connection):
    templates = sdk_connection.system_service().templates_service().list(search="name=alma9-cpanel")
    assert sorted(t.version.version_number for t in templates) == [1, 2, 3]
    base = next(t for t in templates if t.version.version_number == 1)
    assert all(t.version.base_template.id == base.id for t in templates)
    vms = sdk_connection.system_service().vms_service()
    vm = vms.add(
        types.Vm(
            name="vps-2003",
            cluster=types.Cluster(name="prod-a"),
            template=types.Template(id=base.id),
        )
    )
    assert vm.template.id == base.id


def test_resize_and_memory_validation(engine_sim, sdk_connection):
    _, service = ready_vm(sdk_connection, "vps-2004")
    updated = service.update(
        types.Vm(
            memory=4 * GiB,
            memory_policy=types.MemoryPolicy(guaranteed=2 * GiB, max=8 * GiB),
            cpu=types.Cpu(topology=types.CpuTopology(sockets=2, cores=2, threads=1)),
        )
    )
    assert (updated.memory, updated.memory_policy.guaranteed, updated.cpu.topology.sockets) == (
        4 * GiB,
        2 * GiB,
        2,
    )
    with pytest.raises(ovirtsdk4.Error) as err:
        service.update(types.Vm(memory_policy=types.MemoryPolicy(guaranteed=6 * GiB)))
    assert err.value.code == 400
    assert (
        err.value.fault.detail
        == "[Cannot edit VM. Physical Memory Guaranteed cannot exceed Memory Size.]"
    )
    with pytest.raises(ovirtsdk4.Error) as err:
        service.update(types.Vm(memory=16 * GiB))
    assert (
        err.value.code == 409
        and "cannot exceed maximum memory size (8192MB)" in err.value.fault.detail
    )


def test_update_description_comment_and_initialization(engine_sim, sdk_connection):
    _, service = ready_vm(sdk_connection, "vps-2014")
    updated = service.update(
        types.Vm(
            description="order 2014 for Acme",
            comment="order=2014 job=j1",
            initialization=types.Initialization(
                host_name="web.example.net",
                user_name="root",
                root_password="Sim-Init-Pw-1",
                custom_script="#cloud-config\n",
            ),
        )
    )
    assert (updated.description, updated.comment) == ("order 2014 for Acme", "order=2014 job=j1")
    assert updated.initialization.host_name == "web.example.net"
    read = service.get()
    assert (
        read.comment == "order=2014 job=j1" and read.initialization.host_name == "web.example.net"
    )
    assert read.initialization.root_password == "******"  # masked, as the engine answers
    assert engine_sim.vm("vps-2014")["initialization"]["root_password"] == "Sim-Init-Pw-1"


def test_next_run_update_on_a_running_vm(engine_sim, sdk_connection):
    _, service = ready_vm(sdk_connection, "vps-2005")
    service.start()
    wait_status(service, types.VmStatus.UP)
    staged = service.update(
        types.Vm(cpu=types.Cpu(topology=types.CpuTopology(cores=4))), next_run=True
    )
    assert staged.cpu.topology.cores == 4
    current = service.get()
    assert current.cpu.topology.cores != 4 and current.next_run_configuration_exists is True
    assert service.get(next_run=True).cpu.topology.cores == 4
    service.stop()
    down = wait_status(service, types.VmStatus.DOWN)
    assert down.cpu.topology.cores == 4 and down.next_run_configuration_exists is False


def test_extend_disk_grows_only(engine_sim, sdk_connection):
    _, service = ready_vm(sdk_connection, "vps-2006")
    attachment = service.disk_attachments_service().list()[0]
    disk_service = sdk_connection.system_service().disks_service().disk_service(attachment.disk.id)
    size = disk_service.get().provisioned_size
    att_service = service.disk_attachments_service().attachment_service(attachment.id)
    engine_sim.set_time_scale(1.0)  # slow enough to see the lock, then jump ahead
    att_service.update(types.DiskAttachment(disk=types.Disk(provisioned_size=size + 20 * GiB)))
    assert disk_service.get().status == types.DiskStatus.LOCKED
    engine_sim.advance()
    assert disk_service.get().status == types.DiskStatus.OK
    assert disk_service.get().provisioned_size == size + 20 * GiB
    with pytest.raises(ovirtsdk4.Error) as err:
        att_service.update(types.DiskAttachment(disk=types.Disk(provisioned_size=size)))
    assert err.value.code == 400
    assert err.value.fault.detail == (
        "[Cannot edit Virtual Disk. New disk size must be larger than the current disk size.]"
    )
    assert 371 in [e.code for e in sdk_connection.system_service().events_service().list(max=5)]


def test_start_with_cloud_init_reports_ips_and_fqdn(engine_sim, sdk_connection):
    init = types.Initialization(
        host_name="vps-2007.customer.example",
        root_password="Sup3r-secret",
        authorized_ssh_keys="ssh-ed25519 AAAA test",
    )
    _, service = ready_vm(sdk_connection, "vps-2007", initialization=init)
    assert service.get().initialization.root_password == "******"
    service.start(use_cloud_init=True)
    statuses = {service.get().status}
    up = wait_status(service, types.VmStatus.UP)
    assert statuses & {types.VmStatus.WAIT_FOR_LAUNCH, types.VmStatus.POWERING_UP}
    assert up.host is not None
    devices = wait_for(lambda: service.reported_devices_service().list())
    addresses = [ip.address for d in devices for ip in d.ips if ip.version == types.IpVersion.V4]
    assert addresses and addresses[0].startswith("10.")
    assert service.get().fqdn == "vps-2007.customer.example"
    nic = service.nics_service().list()[0]
    devices = service.nics_service().nic_service(nic.id).reported_devices_service().list()
    assert devices[0].mac.address == nic.mac.address
    snapshot = engine_sim.vm("vps-2007")
    assert snapshot["run_initialization"]["root_password"] == "Sup3r-secret"
    assert snapshot["run_initialization_type"] == "cloud_init"
    stats = {s.name: s for s in service.statistics_service().list()}
    assert stats["memory.installed"].values[0].datum == float(up.memory)


def test_start_with_sysprep_run_once(engine_sim, sdk_connection):
    _, service = ready_vm(sdk_connection, "vps-2008", template="win2022-plesk")
    run_once = types.Vm(
        initialization=types.Initialization(
            host_name="WIN-2008",
            root_password="Adm1n!",
            windows_license_key="AAAAA-BBBBB-CCCCC-DDDDD-EEEEE",
        )
    )
    service.start(use_sysprep=True, vm=run_once)
    wait_status(service, types.VmStatus.UP)
    wait_for(lambda: service.get().fqdn == "WIN-2008")
    snapshot = engine_sim.vm("vps-2008")
    assert snapshot["run_initialization_type"] == "sysprep"
    assert snapshot["run_initialization"]["windows_license_key"] == "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"


def test_two_initialization_flags_conflict(engine_sim, sdk_connection):
    _, service = ready_vm(sdk_connection, "vps-2009")
    with pytest.raises(ovirtsdk4.Error) as err:
        service.start(use_cloud_init=True, use_sysprep=True)
    assert err.value.code == 409
    assert (
        err.value.fault.reason
        == "Cannot use multiple initialization tags simultaneously when running VM."
    )


def _events(sdk_connection, vm_name):
    return sdk_connection.system_service().events_service().list(search=f"event_vm={vm_name}")


def test_status_matrix_refusals(engine_sim, sdk_connection):
    _, service = new_vm(sdk_connection, "vps-2010")
    # RunVmValidator.canRunVm: vmNotLocked() comes before the status matrix.
    with pytest.raises(ovirtsdk4.Error) as err:
        service.start()
    assert err.value.code == 409
    assert (
        err.value.fault.detail
        == "[Cannot run VM: VM is locked. Please try again in a few minutes.]"
    )
    failed = [e for e in _events(sdk_connection, "vps-2010") if e.code == 54]
    assert failed and failed[0].severity == types.LogSeverity.ERROR
    assert failed[0].description == (
        "Failed to run VM vps-2010 due to a failed validation: [Cannot run VM: VM is "
        "locked. Please try again in a few minutes.] (User: admin@internal-authz)."
    )
    # RemoveVmCommand.validate: the locked disks are reported before the VM lock.
    with pytest.raises(ovirtsdk4.Error) as err:
        service.remove()
    assert err.value.code == 409
    assert err.value.fault.detail == (
        "[Cannot remove VM: The following disks are locked: vps-2010_Disk1. "
        "Please try again in a few minutes.]"
    )
    # StopVmCommandBase: not running (ImageLocked) -> ACTION_TYPE_FAILED_VM_IS_NOT_RUNNING.
    with pytest.raises(ovirtsdk4.Error) as err:
        service.stop()
    assert err.value.code == 409
    assert err.value.fault.detail == "[Cannot stop VM. VM is not running.]"
    with pytest.raises(ovirtsdk4.Error) as err:
        service.suspend()
    assert err.value.fault.detail == "[Cannot hibernate VM. VM is not up.]"
    wait_status(service, types.VmStatus.DOWN)
    # A Down VM: stop and shutdown are skipped and succeed (shouldSkipCommandExecution, VM_ALREADY_IN_REQUESTED_STATUS).
    service.stop()
    service.shutdown()
    skipped = [e.description for e in _events(sdk_connection, "vps-2010") if e.code == 254]
    assert (
        "VM vps-2010 is already Down, Stop VM was skipped. User: admin@internal-authz." in skipped
    )
    assert (
        "VM vps-2010 is already Down, Shutdown VM was skipped. User: admin@internal-authz."
        in skipped
    )
    # RebootVmCommand: failVmStatusIllegal with VAR__ACTION__RESTART.
    with pytest.raises(ovirtsdk4.Error) as err:
        service.reboot()
    assert err.value.code == 409
    assert err.value.fault.detail == "[Cannot restart VM because the VM is in Down status.]"


def test_stop_shutdown_reboot(engine_sim, sdk_connection):
    _, service = ready_vm(sdk_connection, "vps-2011")
    service.start()
    wait_status(service, types.VmStatus.UP)
    with pytest.raises(ovirtsdk4.Error) as err:
        service.start()
    assert err.value.code == 409
    assert err.value.fault.detail == "[Cannot run VM because the VM is in Up status.]"
    service.reboot()
    assert service.get().status == types.VmStatus.REBOOT_IN_PROGRESS
    wait_status(service, types.VmStatus.UP)
    service.shutdown()
    assert service.get().status == types.VmStatus.POWERING_DOWN
    wait_status(service, types.VmStatus.DOWN)
    service.start()
    wait_status(service, types.VmStatus.UP)
    service.stop()
    # A hard stop (non-graceful DestroyVmVDSCommand) never shows PoweringDown.
    assert service.get().status in (types.VmStatus.UP, types.VmStatus.DOWN)
    down = wait_status(service, types.VmStatus.DOWN)
    assert down.host is None and not service.reported_devices_service().list()
    texts = {e.code: e.description for e in reversed(_events(sdk_connection, "vps-2011"))}
    for code in (153, 32, 157, 73, 61, 33):
        assert code in texts
    assert texts[157] == "VM vps-2011 is rebooting. Rebooted by: admin@internal-authz"
    assert texts[33].startswith("VM vps-2011 powered off by admin@internal-authz (Host: host-")
    assert (
        texts[61] == "VM vps-2011 is down.  "
    )  # power off: ExitMessage " " (VmAnalyzer.auditVmOnDownNormal)


def test_remove_refused_while_running_then_complete(engine_sim, sdk_connection):
    _, service = ready_vm(sdk_connection, "vps-2012")
    vm_id = service.get().id
    service.start()
    wait_status(service, types.VmStatus.UP)
    with pytest.raises(ovirtsdk4.Error) as err:
        service.remove()
    assert err.value.code == 409
    assert err.value.fault.detail == "[Cannot remove VM. VM is running.]"
    service.suspend()
    wait_status(service, types.VmStatus.SUSPENDED)
    with pytest.raises(ovirtsdk4.Error) as err:
        service.remove()
    assert err.value.code == 409
    assert (
        err.value.fault.detail
        == "[Cannot remove VM that its state is not down.\n-Please stop the VM first.]"
    )
    service.stop()  # a suspended VM goes Down at once
    assert service.get().status == types.VmStatus.DOWN
    assert any(
        e.code == 111
        and e.description
        == "Suspended VM vps-2012 has had its save state cleared by admin@internal-authz."
        for e in _events(sdk_connection, "vps-2012")
    )
    used = engine_sim.storage_domain("data-ssd")["used"]
    service.remove()
    with pytest.raises(ovirtsdk4.NotFoundError):
        service.get()
    wait_for(lambda: engine_sim.storage_domain("data-ssd")["used"] < used)
    wait_for(
        lambda: any(
            e.code == 113
            and e.description == "VM vps-2012 was successfully removed by admin@internal-authz."
            # The event names the VM it removed (AuditLogableBase.createAuditLog): a
            # follower of the event stream learns which VM is gone.
            and e.vm is not None
            and (e.vm.id, e.vm.name) == (vm_id, "vps-2012")
            for e in sdk_connection.system_service().events_service().list(max=3)
        )
    )


def test_tags_create_assign_search_unassign(engine_sim, sdk_connection):
    system = sdk_connection.system_service()
    tag = system.tags_service().add(types.Tag(name="order-2013", description="order 2013"))
    _, service = ready_vm(sdk_connection, "vps-2013")
    service.tags_service().add(types.Tag(name="order-2013"))
    assert [t.name for t in service.tags_service().list()] == ["order-2013"]
    found = system.vms_service().list(search="tag=order-2013")
    assert [v.name for v in found] == ["vps-2013"]
    with pytest.raises(ovirtsdk4.NotFoundError) as err:
        service.tags_service().add(types.Tag(name="no-such-tag"))
    assert err.value.fault.detail == "Entity not found: no-such-tag"
    with pytest.raises(ovirtsdk4.Error) as err:
        system.tags_service().add(types.Tag(name="order-2013"))
    assert (
        err.value.code == 409
    )  # AddTagCommand: TAGS_SPECIFY_TAG_IS_IN_USE (CONFLICT), no action/type variables
    assert err.value.fault.detail == "[The specified Tag name already exists.]"
    service.tags_service().tag_service(tag.id).remove()
    assert service.tags_service().list() == []
    codes = {e.code: e.description for e in _events(sdk_connection, "vps-2013")}
    assert codes[440] == "Tag order-2013 was attached to VM(s) vps-2013 by admin@internal-authz."
    assert codes[446] == "Tag order-2013 was detached from VM(s) vps-2013 by admin@internal-authz."
    assert system.vms_service().list(search="tag=order-2013") == []


def test_events_and_jobs_carry_the_correlation_id(engine_sim, sdk_connection):
    system = sdk_connection.system_service()
    newest = system.events_service().list(max=1)
    last = newest[0].index if newest else 0
    vm = system.vms_service().add(
        types.Vm(
            name="vps-2014",
            cluster=types.Cluster(name="prod-b"),
            template=types.Template(name="ubuntu2204"),
        ),
        query={"correlation_id": "order-2014"},
    )
    service = system.vms_service().vm_service(vm.id)
    wait_status(service, types.VmStatus.DOWN)
    events = system.events_service().list(from_=last)
    # SearchObjectAutoCompleter sorts the audit log by "audit_log_id DESC", from= only filters.
    assert [e.index for e in events] == sorted((e.index for e in events), reverse=True)
    assert all(e.index > last for e in events) and len(events) >= 2
    mine = system.events_service().list(search="correlation_id=order-2014")
    assert {e.code for e in mine} == {37, 53}
    assert all(e.vm.id == vm.id for e in mine)
    jobs = [j for j in system.jobs_service().list() if "vps-2014" in j.description]
    assert jobs[0].description == "Creating VM vps-2014 in Cluster prod-b"  # thin (no clone=true)
    assert jobs[0].status == types.JobStatus.FINISHED
    listed = system.events_service().list(max=5)
    assert [e.index for e in listed] == sorted(
        (e.index for e in listed), reverse=True
    )  # newest first


def test_a_vm_no_host_can_hold_is_refused_by_the_scheduler(engine_sim, sdk_connection):
    hosts = sdk_connection.system_service().hosts_service().list(search="cluster=prod-a")
    assert hosts and all(0 <= h.max_scheduling_memory <= h.memory for h in hosts)
    largest = max(h.max_scheduling_memory for h in hosts)
    size = largest + GiB
    _, service = ready_vm(
        sdk_connection,
        "vps-2015",
        memory=size,
        memory_policy=types.MemoryPolicy(guaranteed=GiB, max=size),
    )
    with pytest.raises(ovirtsdk4.Error) as err:
        service.start()
    assert err.value.code == 409 and err.value.fault.reason == "Operation Failed"
    detail = err.value.fault.detail
    assert detail.startswith(
        "[Cannot run VM. There is no host that satisfies current scheduling "
        "constraints. See below for details:, The host "
    )
    for host in hosts:
        assert (
            f"The host {host.name} did not satisfy internal filter Memory because its "
            f"available memory is too low ({host.max_scheduling_memory // 2**20} MB) to run "
            "the VM."
        ) in detail
    assert service.get().status == types.VmStatus.DOWN
    # A VM that fits starts, and its host then has that much less to give.
    _, small = ready_vm(sdk_connection, "vps-2016", memory=4 * GiB)
    small.start()
    up = wait_status(small, types.VmStatus.UP)
    host = sdk_connection.system_service().hosts_service().host_service(up.host.id).get()
    before = next(h for h in hosts if h.id == host.id)
    assert host.max_scheduling_memory == before.max_scheduling_memory - 4 * GiB
