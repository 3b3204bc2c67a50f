"""The compact records of live views (a VM's list row, its statistics, an event naming it),
apart from the SDK: the listing's parse helper (console.ovirt.slim) makes rows without
loading the SDK, and the console unpickles them into the same classes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class VmRow:
    id: str
    name: str
    status: str
    cluster: str | None
    cpus: int
    memory_mib: int
    guaranteed_mib: int | None
    disk_gib: int | None
    fqdn: str | None
    template_name: str | None
    description: str
    comment: str


@dataclass(frozen=True, slots=True)
class VmStats:
    """CPU, memory and guest IPs of one VM as read at `at` (the console's clock)."""

    cpu_percent: float | None
    memory_percent: float | None
    ips: tuple[str, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class VmEvent:
    """An engine event (audit log entry) that names a VM."""

    index: int
    code: int
    vm_id: str
    vm_name: str


@dataclass(frozen=True, slots=True)
class EventBatch:
    """The events after an index: those naming a VM, the newest index seen, and whether
    the engine had more than one read returns (then some were not seen at all)."""

    events: tuple[VmEvent, ...]
    newest: int
    overflow: bool
