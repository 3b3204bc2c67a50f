"""Every link the simulated engine emits resolves: a crawler from the API root."""

from __future__ import annotations

import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections import deque

import ovirtsdk4.types as types
import pytest

from tests.plugins.engine import ready_vm

MAX_DEPTH = 4
ITEMS_PER_LIST = 3  # list elements followed per collection: enough to reach every kind of link


def _get(engine_sim, token: str, path: str) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(
        f"{engine_sim.scheme}://{engine_sim.host}:{engine_sim.port}{path}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/xml"},
        method="GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def _hrefs(body: bytes) -> list[str]:
    root = ET.fromstring(body)
    children = list(root)
    skipped: set[int] = set()
    if root.tag != "api" and root.get("href") is None and len({c.tag for c in children}) == 1:
        # A collection: follow the first few items only.
        skipped = {id(e) for c in children[ITEMS_PER_LIST:] for e in c.iter()}
    return [
        e.get("href").replace("{query}", "name%3D*")
        for e in root.iter()
        if e.get("href") and id(e) not in skipped
    ]


def _crawl(engine_sim, token: str) -> dict[str, int]:
    seen: dict[str, int] = {}
    queue = deque([("/ovirt-engine/api", 0)])
    while queue:
        path, depth = queue.popleft()
        if path in seen:
            continue
        status, body, _headers = _get(engine_sim, token, path)
        seen[path] = status
        if status == 200 and depth < MAX_DEPTH and body:
            for link in _hrefs(body):
                if link not in seen:
                    queue.append((link, depth + 1))
    return seen


def test_every_link_from_the_root_resolves(engine_sim, sdk_connection):
    # Give the crawler something in every sub-collection the simulator fills.
    vm, service = ready_vm(sdk_connection, "vps-2101")
    service.snapshots_service().add(types.Snapshot(description="before"))
    system = sdk_connection.system_service()
    token = sdk_connection.authenticate()
    seen = _crawl(engine_sim, token)
    broken = {path: status for path, status in seen.items() if status != 200}
    assert not broken, broken
    # It went everywhere the issue lists: VMs, hosts incl. statistics, clusters, data centers, storage
    # domains, disks, templates, and the VM's sub-collections.
    kinds = {
        p.split("/ovirt-engine/api/")[-1].split("/")[0] for p in seen if "/ovirt-engine/api/" in p
    }
    assert {
        "vms",
        "hosts",
        "clusters",
        "datacenters",
        "storagedomains",
        "disks",
        "templates",
        "networks",
        "vnicprofiles",
        "users",
        "roles",
        "tags",
        "events",
        "jobs",
        "permissions",
    } <= kinds
    base = f"/ovirt-engine/api/vms/{vm.id}"
    for rel in (
        "numanodes",
        "cdroms",
        "watchdogs",
        "hostdevices",
        "sessions",
        "permissions",
        "affinitylabels",
        "katelloerrata",
        "applications",
        "graphicsconsoles",
        "snapshots",
        "nics",
        "diskattachments",
        "statistics",
        "reporteddevices",
        "tags",
    ):
        assert seen.get(f"{base}/{rel}") == 200, rel
    host = system.hosts_service().list()[0]
    assert seen.get(f"/ovirt-engine/api/hosts/{host.id}/statistics") == 200
    assert len(seen) > 150


def test_unknown_paths_404_and_wrong_methods_405(engine_sim, sdk_connection):
    vm = sdk_connection.system_service().vms_service().list(max=1)[0]
    token = sdk_connection.authenticate()
    assert _get(engine_sim, token, f"/ovirt-engine/api/vms/{vm.id}/nonsense")[0] == 404
    assert _get(engine_sim, token, "/ovirt-engine/api/nonsense")[0] == 404
    assert _get(engine_sim, token, f"/ovirt-engine/api/vms/{vm.id}/numanodes/x/y")[0] == 404
    # An action answers only POST: GET is 405, with no entity and the methods it allows (JAX-RS 3.7.2).
    status, body, headers = _get(engine_sim, token, f"/ovirt-engine/api/vms/{vm.id}/start")
    assert (status, body, headers.get("Allow")) == (405, b"", "POST")
    request = urllib.request.Request(
        f"{engine_sim.url}/vms/{vm.id}/numanodes",
        method="DELETE",
        headers={"Authorization": f"Bearer {token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)
    assert caught.value.code == 405 and caught.value.headers["Allow"] == "GET"
    # A sub-collection of a VM that does not exist is a 404, not an empty list.
    assert _get(engine_sim, token, "/ovirt-engine/api/vms/no-such-vm/numanodes")[0] == 404


def test_vm_sub_collections_through_the_sdk(sdk_connection):
    """What ovirt_vm lists after creating a VM: each answers, with the engine's defaults."""
    vm, service = ready_vm(sdk_connection, "vps-2102")
    assert service.numa_nodes_service().list() == []
    assert service.watchdogs_service().list() == []
    assert service.host_devices_service().list() == []
    assert service.graphics_consoles_service().list() == []
    assert service.affinity_labels_service().list() == []
    assert service.katello_errata_service().list() == []
    assert service.applications_service().list() == []
    assert service.sessions_service().list() == []
    cdroms = service.cdroms_service().list()
    assert [c.id for c in cdroms] == ["00000000-0000-0000-0000-000000000000"] and cdroms[
        0
    ].file is None
    cdrom = service.cdroms_service().cdrom_service(cdroms[0].id)
    cdrom.update(types.Cdrom(file=types.File(id="alma9.iso")))
    assert cdrom.get().file.id == "alma9.iso"
    snapshots = service.snapshots_service().list()
    assert [(s.description, s.snapshot_type) for s in snapshots] == [
        ("Active VM", types.SnapshotType.ACTIVE)
    ]
    permissions = service.permissions_service().list()
    assert [p.role.id for p in permissions] == ["00000000-0000-0000-0000-000000000001"]  # SuperUser
    role = sdk_connection.follow_link(permissions[0].role)
    assert role.name == "SuperUser" and role.administrative
    user = sdk_connection.follow_link(permissions[0].user)
    assert user.user_name == "admin@internal-authz"
    assert sdk_connection.follow_link(vm.cluster).name == "prod-a"
