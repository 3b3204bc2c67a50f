"""The VMs view's follower against the engine simulator: it lists once, then pays only for
what changed (engine calls counted from the simulator's request log)."""

from __future__ import annotations

from datetime import UTC, datetime

import ovirtsdk4.types as types
import pytest

from console.flow import vm_watch
from console.flow.vm_watch import VmWatch
from console.ovirt import Engine
from tests.plugins.engine import wait_for, wait_status
from tests.plugins.flow import sim_config

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(engine_sim, tmp_path):
    config = sim_config(engine_sim, f"sqlite:///{tmp_path / 'c.db'}")
    engine = Engine(config.engine(), engine_sim.password)
    yield engine
    engine.close()


def ours(name: str) -> bool:
    return name.startswith("vps-")


def apply(view: dict, update) -> None:
    for vm_id in update.removed:
        view.pop(vm_id, None)
    view.update({row.id: row for row in update.rows})


def paths(engine_sim) -> list[tuple[str, str]]:
    return [(method, path) for method, path, _ in engine_sim.calls]


def start_elsewhere(sdk_connection, view: dict):
    """Start a VM of the view that is down, as another client of the engine would."""
    down = next(row for row in view.values() if row.status == "down")
    service = sdk_connection.system_service().vms_service().vm_service(down.id)
    service.start()
    wait_status(service, types.VmStatus.UP)
    return down


def listed(engine, engine_sim, page_size: int = 500):
    clock = Clock()
    watch = VmWatch("name=vps-*", ours, page_size=page_size, clock=clock)
    view: dict = {}
    apply(view, watch.refresh(engine, [], NOW))
    engine_sim.reset_calls()
    return watch, view, clock


def test_lists_in_pages_without_statistics(engine, engine_sim):
    clock = Clock()
    watch = VmWatch("name=vps-*", ours, page_size=8, clock=clock)
    pages = []
    update = watch.refresh(engine, [], NOW, pages.append)
    listings = [query for method, path, query in engine_sim.calls if path == "/vms"]
    assert len(listings) == 3  # 20 VMs, 8 a page
    # Nothing followed: no statistics, and no disks (those come with the statistics).
    assert all("follow" not in query for query in listings)
    assert all(query["max"] == "8" for query in listings)
    assert all(query["search"].endswith(f"page {n}") for n, query in enumerate(listings, 1))
    assert sum(len(page.rows) for page in pages) == 20 and pages[-1].listed
    assert update.listed and not update.rows  # the pages carried the rows


def test_idle_refresh_is_one_events_call(engine, engine_sim):
    watch, view, _ = listed(engine, engine_sim)
    update = watch.refresh(engine, [], NOW)
    assert paths(engine_sim) == [("GET", "/events")]
    assert not update.rows and not update.removed


def test_a_vm_started_elsewhere_is_reread_alone(engine, engine_sim, sdk_connection):
    watch, view, _ = listed(engine, engine_sim)
    down = start_elsewhere(sdk_connection, view)
    engine_sim.reset_calls()
    update = watch.refresh(engine, [], NOW)
    calls = engine_sim.calls
    assert [path for _, path, _ in calls] == ["/events", "/vms"]
    assert calls[1][2]["search"] == f"id={down.id}"
    assert [row.id for row in update.rows] == [down.id]
    assert update.rows[0].status == "up"


def test_statistics_only_for_the_rows_asked_for(engine, engine_sim):
    watch, view, clock = listed(engine, engine_sim)
    shown = sorted(view)[:3]
    update = watch.refresh(engine, shown, NOW)
    search = engine_sim.calls[-1][2]["search"]
    assert sorted(search.split(" or ")) == sorted(f"id={vm_id}" for vm_id in shown)
    assert set(update.stats) == set(shown)
    engine_sim.reset_calls()
    watch.refresh(engine, shown, NOW)  # still fresh: not read again
    assert paths(engine_sim) == [("GET", "/events")]
    clock.now += watch.stats_seconds
    watch.refresh(engine, shown, NOW)
    assert [path for _, path in paths(engine_sim)] == ["/events", "/events", "/vms"]


def test_removed_and_created_vms_follow_their_events(engine, engine_sim, sdk_connection):
    watch, view, _ = listed(engine, engine_sim)
    victim = next(row for row in view.values() if row.status == "down")
    vms = sdk_connection.system_service().vms_service()
    vms.vm_service(victim.id).remove()
    template = sdk_connection.system_service().templates_service().list(search="name=alma9-cpanel")
    created = vms.add(
        types.Vm(
            name="vps-77777",
            cluster=types.Cluster(name="prod-a"),
            template=types.Template(id=template[0].id),
        )
    )
    # The engine logs the removal once the disks are gone (USER_REMOVE_VM_FINISHED).
    wait_for(lambda: any(e["code"] == 113 for e in engine_sim.events()))
    engine_sim.reset_calls()
    apply(view, watch.refresh(engine, [], NOW))
    assert victim.id not in view
    assert created.id in view
    assert [path for _, path in paths(engine_sim)] == ["/events", "/vms"]


def test_missed_events_are_repaired_by_the_periodic_listing(engine, engine_sim, sdk_connection):
    watch, view, clock = listed(engine, engine_sim)
    down = start_elsewhere(sdk_connection, view)
    watch.last_event = engine.newest_event_index()  # as if these events were never seen
    apply(view, watch.refresh(engine, [], NOW))
    assert view[down.id].status == "down"  # nothing told the view
    clock.now += watch.relist_seconds
    apply(view, watch.refresh(engine, [], NOW))
    assert view[down.id].status == "up"


def test_more_events_than_one_read_holds_lists_again(
    engine, engine_sim, sdk_connection, monkeypatch
):
    watch, view, _ = listed(engine, engine_sim)
    monkeypatch.setattr(vm_watch, "EVENTS_PER_READ", 1)
    down = start_elsewhere(sdk_connection, view)
    engine_sim.reset_calls()
    apply(view, watch.refresh(engine, [], NOW))
    assert view[down.id].status == "up"
    assert any("page 1" in query.get("search", "") for _, _, query in engine_sim.calls)


def test_a_first_screenful_comes_before_the_pages(engine, engine_sim, monkeypatch):
    monkeypatch.setattr(vm_watch, "FIRST_PAGE", 5)
    watch = VmWatch("name=vps-*", ours, page_size=8, clock=Clock())
    pages = []
    watch.refresh(engine, [], NOW, pages.append)
    sizes = [q.get("max") for _, path, q in engine_sim.calls if path == "/vms"]
    assert sizes == ["5", "8", "8", "8"]
    assert len(pages[0].rows) == 5
    assert len({row.id for page in pages for row in page.rows}) == 20 and pages[-1].listed
    assert watch.known == {row.id for page in pages for row in page.rows}


def test_a_failed_reread_is_tried_again_with_its_events(engine, engine_sim, sdk_connection):
    from console.ovirt import EngineError

    watch, view, _ = listed(engine, engine_sim)
    down = start_elsewhere(sdk_connection, view)
    engine_sim.faults.add("GET", r"^/vms$", nth=1, status=503, reason="Service Unavailable")
    with pytest.raises(EngineError):
        watch.refresh(engine, [], NOW)
    apply(view, watch.refresh(engine, [], NOW))
    assert view[down.id].status == "up"


def test_disk_sizes_come_with_the_statistics_of_the_rows_on_screen(
    engine, engine_sim, sdk_connection
):
    watch, view, clock = listed(engine, engine_sim)
    assert all(row.disk_gib is None for row in view.values())  # the listing has none
    shown = sorted(view)[:2]
    apply(view, watch.refresh(engine, shown, NOW))
    sizes = {vm_id: engine_sim.vm(view[vm_id].name)["disks"] for vm_id in shown}
    assert all(view[vm_id].disk_gib for vm_id in shown)
    assert all(row.disk_gib is None for vm_id, row in view.items() if vm_id not in shown)
    # A listing again keeps the sizes read, for the rows read.
    clock.now += watch.relist_seconds
    apply(view, watch.refresh(engine, [], NOW))
    assert [view[vm_id].disk_gib for vm_id in shown] == [
        sum(-(-d["provisioned_size"] // 1024**3) for d in sizes[vm_id]) for vm_id in shown
    ]
    # A disk extended: the engine's event names the VM, which is read again alone, disks and all.
    target = shown[0]
    attachment = (
        sdk_connection.system_service()
        .vms_service()
        .vm_service(target)
        .disk_attachments_service()
        .list()[0]
    )
    before = view[target].disk_gib
    sdk_connection.system_service().vms_service().vm_service(
        target
    ).disk_attachments_service().attachment_service(attachment.id).update(
        types.DiskAttachment(disk=types.Disk(provisioned_size=(before + 10) * 1024**3))
    )
    wait_for(lambda: any(e["code"] == 371 for e in engine_sim.events()))
    engine_sim.reset_calls()
    apply(view, watch.refresh(engine, [], NOW))
    assert [(path, query.get("search")) for _, path, query in engine_sim.calls] == [
        ("/events", None),
        ("/vms", f"id={target}"),
    ]
    assert view[target].disk_gib == before + 10


def test_a_page_that_does_not_parse_fails_the_listing_until_it_parses(
    engine, engine_sim, monkeypatch
):
    """The pages before it are shown; the listing is not taken as done, so the next refresh
    lists again (and removes nothing it did not see)."""
    import xml.etree.ElementTree as ET

    monkeypatch.setattr(vm_watch, "FIRST_PAGE", 5)
    world = engine_sim.world
    bad = sorted(world.vms.values(), key=lambda vm: vm.name)[12]  # on the second page of 8
    good_name = bad.name
    world.vm_ids_by_name.pop(good_name)
    bad.name = good_name + "\x01"  # sent raw by the writer: no XML parser reads it
    world.vm_ids_by_name[bad.name] = bad.id
    watch = VmWatch("name=vps-*", ours, page_size=8, clock=Clock())
    pages = []
    with pytest.raises(ET.ParseError):
        watch.refresh(engine, [], NOW, pages.append)
    assert [len(page.rows) for page in pages] == [5, 8]
    assert not any(page.listed or page.removed for page in pages)
    assert watch.listed_at is None
    world.vm_ids_by_name.pop(bad.name)
    bad.name = good_name
    world.vm_ids_by_name[good_name] = bad.id
    update = watch.refresh(engine, [], NOW, pages.append)
    assert update.listed and len(watch.known) == 20
