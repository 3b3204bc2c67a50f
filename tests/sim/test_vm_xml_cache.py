"""The simulator's per-VM XML cache sends the very bytes a fresh serialisation gives,
before and after every kind of change to a VM, its disks or its NICs."""

from __future__ import annotations

import ovirtsdk4.types as types
import pytest

from console.sim.engine.rest import ApiRequest
from console.sim.engine.vm_xml import VmXmlCache
from console.sim.engine.xmlout import parse_follow, render_many
from tests.plugins.engine import ready_vm, wait_status

GiB = 1024**3
FOLLOWS = [None, "disk_attachments", "disk_attachments.disk", "diskattachments.disk"]
# Follows the cache leaves alone: served fresh, and equal all the same.
UNCACHED = ["disk_attachments.disk,statistics", "nics", "tags", "cluster"]


def listing(sim, follow: str | None, search: str | None = None) -> bytes:
    query = {"follow": follow} if follow else {}
    if search:
        query["search"] = search
    response = sim.api.handle(ApiRequest("GET", "/vms", query, {}, b""))
    assert response.status == 200
    return response.body


def fresh(sim, follow: str | None, search: str | None = None) -> bytes:
    """What the listing was before the cache: every VM serialised now."""
    api = sim.api
    with sim.world.lock:
        request = ApiRequest("GET", "/vms", {"search": search} if search else {}, {}, b"")
        vms, _ = api._select(request, sim.world.vms.values(), api._vm_fields, None, None)
        tree = parse_follow(follow)
        return render_many([api.conv.vm(vm, tree) for vm in vms], "vms")


def check_all(sim) -> None:
    for follow in FOLLOWS:
        assert listing(sim, follow) == fresh(sim, follow), follow


def test_cached_listings_equal_fresh_ones_through_every_change(engine_sim, sdk_connection):
    check_all(engine_sim)  # fills the cache
    check_all(engine_sim)  # served from it

    vm, service = ready_vm(sdk_connection, "vps-cache-1")
    check_all(engine_sim)  # a new VM
    service.update(types.Vm(description="changed", memory=2 * GiB))
    check_all(engine_sim)
    service.start()
    wait_status(service, types.VmStatus.UP)
    check_all(engine_sim)  # status, host, start time, IPs (logical name of its disk)
    one = types.CpuTopology(sockets=1, cores=1, threads=1)
    service.update(types.Vm(cpu=types.Cpu(topology=one)))
    check_all(engine_sim)  # pending for the next run (a dict changed in place)
    assert b"<next_run_configuration_exists>true" in listing(engine_sim, None)
    attachment = service.disk_attachments_service().list()[0]
    service.disk_attachments_service().attachment_service(attachment.id).update(
        types.DiskAttachment(disk=types.Disk(provisioned_size=40 * GiB))
    )
    check_all(engine_sim)  # a disk's size: only the disk's record changed
    service.disk_attachments_service().attachment_service(attachment.id).update(
        types.DiskAttachment(bootable=False)
    )
    check_all(engine_sim)
    service.nics_service().add(types.Nic(name="nic9"))
    check_all(engine_sim)  # a list changed in place
    service.stop()
    wait_status(service, types.VmStatus.DOWN)
    check_all(engine_sim)
    service.update(types.Vm(name="vps-cache-renamed"))
    check_all(engine_sim)
    assert b"vps-cache-renamed" in listing(engine_sim, None)
    service.remove()
    check_all(engine_sim)
    assert vm.id.encode() not in listing(engine_sim, "disk_attachments.disk")


@pytest.mark.parametrize("follow", UNCACHED)
def test_what_the_cache_does_not_keep_is_served_fresh(engine_sim, follow):
    assert listing(engine_sim, follow) == fresh(engine_sim, follow)


def test_searches_and_pages_are_cut_from_the_same_entries(engine_sim):
    check_all(engine_sim)
    for search in ("name=vps-1*", "sortby name asc page 2", "name=nothing*"):
        body = listing(engine_sim, "disk_attachments.disk", search)
        assert body == fresh(engine_sim, "disk_attachments.disk", search)


def in_pages(sim) -> None:
    for page in (1, 2, 3):
        response = sim.api.handle(
            ApiRequest(
                "GET",
                "/vms",
                {"search": f"sortby name asc page {page}", "max": "8", "follow": FOLLOWS[2]},
                {},
                b"",
            )
        )
        assert response.status == 200


def test_a_cache_entry_is_made_again_only_for_the_vm_that_changed(engine_sim, monkeypatch):
    in_pages(engine_sim)
    made = []
    real = engine_sim.api.conv.vm
    monkeypatch.setattr(
        engine_sim.api.conv, "vm", lambda vm, *a, **k: made.append(vm.id) or real(vm, *a, **k)
    )
    in_pages(engine_sim)  # a listing in pages, as the console's
    assert made == []
    world = engine_sim.world
    with world.lock:
        some = next(iter(world.vms.values()))
        world.disks[some.disk_ids[0]].provisioned_size += GiB
    in_pages(engine_sim)
    assert made == [some.id]


def test_an_empty_listing_is_the_same_document(engine_sim):
    assert VmXmlCache({}, {}).render([], {}, False, lambda vm: None) == render_many([], "vms")
    body = listing(engine_sim, "disk_attachments.disk", "name=nothing*")
    assert body == fresh(engine_sim, "disk_attachments.disk", "name=nothing*")
