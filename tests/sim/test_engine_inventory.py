"""Seed inventory, search, follow, max and the other list parameters, through the SDK."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import ovirtsdk4.types as types

from console.sim.engine import EngineSimulator
from console.sim.engine.world import World


def test_seed_infrastructure(sdk_connection):
    system = sdk_connection.system_service()
    assert [dc.name for dc in system.data_centers_service().list()] == ["dc1"]
    assert sorted(c.name for c in system.clusters_service().list()) == ["prod-a", "prod-b"]
    assert len(system.hosts_service().list()) == 4
    domains = {sd.name: sd for sd in system.storage_domains_service().list()}
    assert set(domains) == {"data-ssd", "data-hdd"}
    assert all(sd.available > 0 and sd.used > 0 for sd in domains.values())


def test_templates_versions_and_staleness(sdk_connection):
    templates = (
        sdk_connection.system_service().templates_service().list(follow="disk_attachments.disk")
    )
    by_name: dict[str, list[types.Template]] = {}
    for t in templates:
        by_name.setdefault(t.name, []).append(t)
    assert {
        "Blank",
        "centos7-cpanel",
        "alma9-cpanel",
        "ubuntu2204-plesk",
        "win2022-plesk",
        "win2022-mssql",
        "alma9",
        "ubuntu2204",
        "win2022",
    } == set(by_name)
    assert {n: len(v) for n, v in by_name.items()}["alma9-cpanel"] == 3
    assert len(by_name["ubuntu2204-plesk"]) == len(by_name["win2022-plesk"]) == 2
    now = datetime.now(UTC)
    newest = {n: max(v, key=lambda t: t.version.version_number) for n, v in by_name.items()}
    assert now - newest["centos7-cpanel"].creation_time > timedelta(days=90)
    assert now - newest["win2022-mssql"].creation_time > timedelta(days=90)
    assert now - newest["alma9-cpanel"].creation_time < timedelta(days=30)
    assert newest["win2022-plesk"].os.type == "windows_2022"
    assert "apps=cpanel" in newest["alma9-cpanel"].description
    disk = newest["alma9-cpanel"].disk_attachments[0].disk
    assert 20 * 2**30 <= disk.provisioned_size <= 60 * 2**30
    assert 2**30 <= newest["alma9-cpanel"].memory <= 4 * 2**30


def test_search_operators(sdk_connection):
    vms = sdk_connection.system_service().vms_service()
    assert [v.name for v in vms.list(search="name=vps-1003")] == ["vps-1003"]
    assert [v.name for v in vms.list(search="name=VPS-1003")] == [
        "vps-1003"
    ]  # case-insensitive by default
    assert vms.list(search="name=VPS-1003", case_sensitive=True) == []
    assert len(vms.list(search="name=vps-100*")) == 10
    ups = vms.list(search="status=up")
    assert ups and all(v.status == types.VmStatus.UP for v in ups)
    both = vms.list(search="name=vps-1001 or name=vps-1002")
    assert sorted(v.name for v in both) == ["vps-1001", "vps-1002"]
    in_a = vms.list(search="cluster=prod-a and name=vps-10*")
    a_id = sdk_connection.system_service().clusters_service().list(search="name=prod-a")[0].id
    assert in_a and all(v.cluster.id == a_id for v in in_a)
    assert len(vms.list(max=3)) == 3
    assert [v.name for v in vms.list(search="name=vps-101* sortby name desc", max=2)] == [
        "vps-1019",
        "vps-1018",
    ]
    # SearchQuery.initQueryData (bll) only sets the exception string on a syntax error; the query still
    # succeeds, so BackendResource.getBackendCollection answers 200 with an empty collection.
    assert vms.list(search="nosuchfield=1") == []


def test_follow_inlines_sub_collections(sdk_connection):
    vms = sdk_connection.system_service().vms_service()
    vm = vms.list(
        search="name=vps-1000", follow="disk_attachments.disk,nics.reported_devices,statistics,tags"
    )[0]
    assert vm.disk_attachments[0].disk.provisioned_size > 0
    assert vm.nics[0].mac.address.startswith("56:6f:")
    if vm.status == types.VmStatus.UP:
        assert vm.nics[0].reported_devices[0].ips[0].address.startswith("10.")
    assert {s.name for s in vm.statistics} >= {
        "memory.installed",
        "cpu.current.total",
        "elapsed.time",
    }
    assert isinstance(vm.tags, list)
    plain = vms.list(search="name=vps-1000")[0]
    # Not followed: only the link, which follow_link resolves over HTTP.
    assert plain.disk_attachments.href == f"/ovirt-engine/api/vms/{plain.id}/diskattachments"
    linked = sdk_connection.follow_link(plain.disk_attachments)
    assert linked[0].id == vm.disk_attachments[0].id


def test_seed_is_deterministic_and_scales():
    a, b = World(vms=50, seed=7), World(vms=50, seed=7)
    assert [(v.id, v.status) for v in a.vms.values()] == [(v.id, v.status) for v in b.vms.values()]
    big = World(vms=5000, seed=1)
    names = set(big.vm_ids_by_name)
    assert len(names) == 5000
    assert not any(f"vps-{n}" in names for n in range(2001, 10000))  # order ids stay free
    statuses = {v.status for v in big.vms.values()}
    assert {"up", "down", "suspended", "paused"} <= statuses


def test_calls_are_recorded(engine_sim, sdk_connection):
    engine_sim.reset_calls()
    sdk_connection.system_service().vms_service().list(search="name=vps-1001", follow="tags")
    assert engine_sim.calls == [("GET", "/vms", {"follow": "tags", "search": "name=vps-1001"})]


def test_context_manager_and_random_password():
    with EngineSimulator(vms=1) as one, EngineSimulator(vms=1) as two:
        assert one.password != two.password and one.port != two.port
        assert one.ca_file is None


def test_all_content_adds_the_device_backed_attributes(engine_sim, sdk_connection):
    vms = sdk_connection.system_service().vms_service()
    vm = vms.list(search="name=vps-1*", max=1)[0]
    plain = vms.vm_service(vm.id).get()
    assert plain.console is None and plain.virtio_scsi is None and plain.soundcard_enabled is None
    full = vms.vm_service(vm.id).get(all_content=True)
    assert full.console.enabled is False and full.virtio_scsi.enabled is True
    assert full.soundcard_enabled is False
    assert full.name == plain.name and full.memory == plain.memory
    listed = vms.list(search=f"name={vm.name}", all_content=True)
    assert listed[0].virtio_scsi.enabled is True
