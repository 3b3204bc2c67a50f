"""Compact records for live views of many VMs: what a list screen shows, nothing more.

A list of thousands of VMs is held for as long as the console runs, so each VM is kept as a
slotted record of plain values (no SDK object, no XML, no disks or tags), and what changes
all the time (statistics, guest IPs) is kept apart and read only for the VMs on screen.
"""

from __future__ import annotations

from datetime import datetime

from ovirtsdk4 import types

from console.ovirt import convert
from console.ovirt.models import Vm
from console.ovirt.records import EventBatch, VmEvent, VmRow, VmStats
from console.text_safety import safe_text

__all__ = ["EventBatch", "VmEvent", "VmRow", "VmStats"]

# A listing follows nothing, so its rows have no disk size: following the disks made a
# listing of 5,000 VMs 44 % more XML (23.3 MB against 16.2 MB) and its serialisation and
# parse about half as long again (bench/README.md, "Engine simulator"). The disks come with
# the statistics and the guest's devices instead, read for the rows on screen only.
STATS_FOLLOW = "disk_attachments.disk,statistics,reported_devices,nics.reported_devices"


def vm_row(
    sdk_vm: types.Vm, *, cluster_names: dict[str, str], template_names: dict[str, str]
) -> VmRow:
    """The list row of an SDK VM: converted as every VM is (console.ovirt.convert.vm)."""
    return row_of(convert.vm(sdk_vm, cluster_names=cluster_names, template_names=template_names))


def event_batch(found: list[types.Event], since: int, limit: int) -> EventBatch:
    events = []
    newest = since
    for event in found:
        index = int(event.index if event.index is not None else event.id or 0)
        newest = max(newest, index)
        vm = event.vm
        if vm is not None and vm.id:
            events.append(VmEvent(index, int(event.code or 0), vm.id, safe_text(vm.name or "")))
    # The engine answers newest first; the console applies them in the order they happened.
    events.sort(key=lambda e: e.index)
    return EventBatch(tuple(events), newest, overflow=len(found) >= limit)


def ids_search(ids: list[str]) -> str:
    """One engine search for exactly these VMs (`id=a or id=b`)."""
    return " or ".join(f"id={vm_id}" for vm_id in sorted(set(ids)))


def row_of(vm: Vm) -> VmRow:
    """The list row of a fully read VM (an engine stand-in holds those)."""
    return VmRow(
        id=vm.id,
        name=vm.name,
        status=vm.status,
        cluster=vm.cluster,
        cpus=vm.cpus,
        memory_mib=vm.memory_mib,
        guaranteed_mib=vm.guaranteed_mib,
        disk_gib=vm.disk_gib,
        fqdn=vm.fqdn,
        template_name=vm.template_name,
        description=vm.description,
        comment=vm.comment,
    )


def stats_of(vm: Vm, at: datetime) -> VmStats:
    return VmStats(vm.cpu_percent, vm.memory_percent, vm.ips, at)
