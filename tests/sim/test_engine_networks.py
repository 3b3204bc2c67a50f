"""Networks, vNIC profiles and VM NICs through the SDK."""

from __future__ import annotations

import ovirtsdk4
import ovirtsdk4.types as types
import pytest

from tests.plugins.engine import ready_vm, wait_status


def test_networks_profiles_and_cluster_networks(sdk_connection):
    system = sdk_connection.system_service()
    networks = {n.name: n for n in system.networks_service().list()}
    assert set(networks) == {"ovirtmgmt", "customers"}
    assert networks["customers"].vlan.id == 100 and networks["ovirtmgmt"].vlan is None
    profiles = {p.name: p for p in system.vnic_profiles_service().list()}
    assert profiles["customers"].network.id == networks["customers"].id
    network_service = system.networks_service().network_service(networks["customers"].id)
    assert [p.name for p in network_service.vnic_profiles_service().list()] == ["customers"]
    dc = system.data_centers_service().list()[0]
    dc_networks = system.data_centers_service().data_center_service(dc.id).networks_service().list()
    assert {n.name for n in dc_networks} == set(networks)
    cluster = system.clusters_service().list(search="name=prod-b")[0]
    cluster_networks = sdk_connection.follow_link(cluster.networks)
    assert {n.name for n in cluster_networks} == set(networks)
    assert all(n.cluster.id == cluster.id for n in cluster_networks)


def test_vm_nics_add_update_remove(engine_sim, sdk_connection):
    system = sdk_connection.system_service()
    profiles = {p.name: p.id for p in system.vnic_profiles_service().list()}
    vm, service = ready_vm(sdk_connection, "vps-2301")
    nics = service.nics_service()
    nic1 = nics.list()[0]
    assert nic1.vnic_profile.id == profiles["ovirtmgmt"]  # from the template
    added = nics.add(
        types.Nic(
            name="nic2",
            interface=types.NicInterface.E1000,
            vnic_profile=types.VnicProfile(id=profiles["customers"]),
        )
    )
    assert added.mac.address.startswith("56:6f:") and added.mac.address != nic1.mac.address
    assert added.interface == types.NicInterface.E1000
    with pytest.raises(ovirtsdk4.Error) as caught:
        nics.add(types.Nic(name="nic2"))
    assert caught.value.code == 409 and "Network interface name is already in use" in str(
        caught.value
    )
    with pytest.raises(ovirtsdk4.Error) as caught:
        nics.add(types.Nic(name="nic3", mac=types.Mac(address=nic1.mac.address)))
    assert f"MAC Address {nic1.mac.address} is already in use by VM or snapshot: vps-2301." in str(
        caught.value
    )
    nic_service = nics.nic_service(added.id)
    nic_service.update(
        types.Nic(linked=False, vnic_profile=types.VnicProfile(id=profiles["ovirtmgmt"]))
    )
    updated = nic_service.get()
    assert updated.linked is False and updated.vnic_profile.id == profiles["ovirtmgmt"]
    texts = [e["description"] for e in engine_sim.events() if e["vm"] == "vps-2301"]
    assert "Interface nic2 (e1000) was added to VM vps-2301. (User: admin@internal-authz)" in texts
    assert (
        "Interface nic2 (e1000) was updated for VM vps-2301. Link State is DOWN. "
        "(User: admin@internal-authz)"
    ) in texts
    nic_service.remove()
    assert [n.name for n in nics.list()] == ["nic1"]
    with pytest.raises(ovirtsdk4.NotFoundError):
        nic_service.get()


def test_reported_devices_per_nic(engine_sim, sdk_connection):
    vm, service = ready_vm(sdk_connection, "vps-2302")
    service.start()
    wait_status(service, types.VmStatus.UP)
    engine_sim.advance()
    nic = service.nics_service().list()[0]
    devices = service.nics_service().nic_service(nic.id).reported_devices_service().list()
    assert [d.mac.address for d in devices] == [nic.mac.address]
    assert any(ip.version == types.IpVersion.V4 for ip in devices[0].ips)
