"""Fields the simulator only stores, search paging and related-object conditions, session events,
hosts' statistics, users/roles/permissions, and the engine's PKI and health services."""

from __future__ import annotations

import re
import ssl
import urllib.error
import urllib.request

import ovirtsdk4
import ovirtsdk4.types as types
import pytest

from console.sim.engine import EngineSimulator
from tests.plugins.engine import ready_vm


def test_unmodelled_vm_fields_are_kept_and_returned(sdk_connection):
    vm, service = ready_vm(sdk_connection, "vps-2501")
    host = sdk_connection.system_service().hosts_service().list(search="name=host-a1")[0]
    service.update(
        types.Vm(
            serial_number=types.SerialNumber(policy=types.SerialNumberPolicy.CUSTOM, value="SN-1"),
            console=types.Console(enabled=True),
            placement_policy=types.VmPlacementPolicy(
                affinity=types.VmAffinity.PINNED, hosts=[types.Host(id=host.id)]
            ),
            custom_properties=[types.CustomProperty(name="sndbuf", value="0")],
            bios=types.Bios(type=types.BiosType.Q35_OVMF),
        )
    )
    got = service.get()
    assert got.serial_number.value == "SN-1"
    assert got.console.enabled is True
    assert got.placement_policy.affinity == types.VmAffinity.PINNED
    assert [h.id for h in got.placement_policy.hosts] == [host.id]
    assert [(p.name, p.value) for p in got.custom_properties] == [("sndbuf", "0")]
    assert got.bios.type == types.BiosType.Q35_OVMF
    # And in lists, not only on the single GET.
    listed = sdk_connection.system_service().vms_service().list(search="name=vps-2501")[0]
    assert listed.serial_number.value == "SN-1"


def test_search_pages_until_an_empty_page(sdk_connection):
    vms = sdk_connection.system_service().vms_service()
    names, page = [], 1
    while True:
        batch = vms.list(search=f"sortby name page {page}", max=7)
        if not batch:
            break
        assert len(batch) <= 7
        names += [vm.name for vm in batch]
        page += 1
    assert page == 4  # 20 VMs: 7 + 7 + 6, then an empty page
    assert names == sorted(vm.name for vm in vms.list())
    assert vms.list(search="page 0", max=5) == []


def test_conditions_on_related_objects(sdk_connection):
    system = sdk_connection.system_service()
    assert [
        dc.name for dc in system.data_centers_service().list(search="Clusters.name=prod-b")
    ] == ["dc1"]
    assert system.data_centers_service().list(search="Clusters.name=nowhere") == []
    hdd = system.disks_service().list(search="Storage.name=data-hdd")
    assert hdd and all(d.storage_domains[0].id == hdd[0].storage_domains[0].id for d in hdd)
    ssd = system.disks_service().list(search="Storage.name=data-ssd")
    assert not {d.id for d in hdd} & {d.id for d in ssd}
    assert [h.name for h in system.hosts_service().list(search="cluster=prod-b")] == [
        "host-b1",
        "host-b2",
    ]
    # Hosts have no Cluster cross-reference in the engine's grammar: a syntax error, an empty list.
    assert system.hosts_service().list(search="Cluster.name=prod-b") == []
    tpl = system.templates_service().list(search="Vms.name=vps-10*")
    assert tpl and all(t.name != "Blank" for t in tpl)


def test_login_and_logout_are_logged_newest_first(engine_sim):
    connection = ovirtsdk4.Connection(
        url=engine_sim.url, username=engine_sim.username, password=engine_sim.password
    )
    connection.system_service().get()
    connection.close()
    reader = ovirtsdk4.Connection(
        url=engine_sim.url, username=engine_sim.username, password=engine_sim.password
    )
    try:
        events = reader.system_service().events_service().list(search="type=30 or type=31")
        assert [e.code for e in events] == [
            30,
            31,
            30,
        ]  # newest first: this login, the logout, the first login
        login = events[-1]
        assert re.fullmatch(
            r"User admin@internal-authz connecting from '127\.0\.0\.1' using session '[\w-]+' "
            r"logged in\.",
            login.description,
        )
        session = re.search(r"session '([\w-]+)'", login.description).group(1)
        assert events[1].description == (
            f"User admin@internal-authz connected from '127.0.0.1' using session "
            f"'{session}' logged out."
        )
        newest = reader.system_service().events_service().list(from_=events[-1].index)
        assert [e.index for e in newest] == sorted((e.index for e in newest), reverse=True)
    finally:
        reader.close()


def test_host_statistics(sdk_connection):
    hosts = sdk_connection.system_service().hosts_service()
    host = hosts.list(search="name=host-a1")[0]
    stats = {s.name: s for s in hosts.host_service(host.id).statistics_service().list()}
    assert stats["memory.total"].values[0].datum == host.memory
    assert stats["memory.free"].values[0].datum == host.max_scheduling_memory
    assert (
        stats["memory.used"].values[0].datum + stats["memory.free"].values[0].datum == host.memory
    )
    assert stats["memory.total"].unit == types.StatisticUnit.BYTES


def test_users_roles_permissions_are_read_only(engine_sim, sdk_connection):
    system = sdk_connection.system_service()
    users = system.users_service().list()
    assert [u.user_name for u in users] == ["admin@internal-authz"]
    roles = {r.name: r for r in system.roles_service().list()}
    assert (
        roles["SuperUser"].id == "00000000-0000-0000-0000-000000000001"
        and roles["SuperUser"].administrative
    )
    assert not roles["UserRole"].administrative
    perms = system.permissions_service().list()
    assert [(p.role.id, p.user.id) for p in perms] == [(roles["SuperUser"].id, users[0].id)]
    with pytest.raises(ovirtsdk4.Error) as caught:
        system.roles_service().add(types.Role(name="mine"))
    assert caught.value.code == 405


def test_pki_resource_and_health():
    with EngineSimulator(tls=True, vms=1) as sim:
        base = f"https://{sim.host}:{sim.port}/ovirt-engine/services"
        context = ssl.create_default_context(cafile=sim.ca_file)
        with urllib.request.urlopen(
            f"{base}/pki-resource?resource=ca-certificate&format=X509-PEM-CA",
            context=context,
            timeout=30,
        ) as response:
            assert response.headers["Content-Type"] == "application/x-x509-ca-cert"
            with open(sim.ca_file, "rb") as f:
                assert response.read() == f.read()
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(
                f"{base}/pki-resource?resource=ca-certificate&format=DER",
                context=context,
                timeout=30,
            )
        assert caught.value.code == 400 and b"Format 'DER' is invalid" in caught.value.read()
        with urllib.request.urlopen(f"{base}/health", context=context, timeout=30) as response:
            assert response.read() == b"DB Up!Welcome to Health Status!"
