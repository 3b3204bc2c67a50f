"""The simulated engine's inventory: plain records, independent of the wire format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GiB = 1024**3
MiB = 1024**2
USER = "admin@internal-authz"
# VMStatus.isRunning() (common/businessentities/VMStatus.java).
JAVA_RUNNING = {
    "up",
    "powering_down",
    "powering_up",
    "migrating",
    "wait_for_launch",
    "reboot_in_progress",
}


@dataclass
class DataCenter:
    id: str
    name: str
    description: str = ""


@dataclass
class Cluster:
    id: str
    name: str
    data_center_id: str
    description: str = ""
    cpu_type: str = "Intel Skylake Server IBRS SSBD MDS"


@dataclass
class Host:
    id: str
    name: str
    cluster_id: str
    address: str
    memory: int
    cpu_sockets: int = 2
    cpu_cores: int = 16


@dataclass
class StorageDomain:
    id: str
    name: str
    data_center_id: str
    total: int
    used: int
    committed: int = 0
    storage_type: str = "nfs"

    @property
    def available(self) -> int:
        return max(0, self.total - self.used)


@dataclass
class Disk:
    id: str
    alias: str
    provisioned_size: int
    actual_size: int
    storage_domain_id: str
    format: str = "cow"  # cow | raw
    sparse: bool = True
    status: str = "ok"  # ok | locked | illegal
    interface: str = "virtio_scsi"
    bootable: bool = True
    vm_id: str | None = None
    template_id: str | None = None
    active: bool = True  # the attachment's plug state
    description: str = ""
    created: bool = True  # False while an add is still copying: not yet counted in /disks


@dataclass
class Template:
    id: str
    name: str
    description: str
    comment: str
    cluster_id: str | None
    os_type: str
    memory: int
    sockets: int
    cores: int
    threads: int
    version_number: int
    version_name: str
    base_template_id: str
    creation_time: datetime
    disk_ids: list[str] = field(default_factory=list)
    status: str = "ok"
    vm_id: str | None = None  # the VM it was made from
    sealed: bool = False  # made with seal=true (virt-sysprep ran on the copies); not in the API
    nics: list[tuple[str, str, str | None]] = field(
        default_factory=list
    )  # (name, interface, vnic profile id)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Nic:
    id: str
    name: str
    mac: str
    vm_id: str
    interface: str = "virtio"
    plugged: bool = True
    linked: bool = True
    vnic_profile_id: str | None = None  # None: an empty profile ("<No network>")


@dataclass
class Network:
    id: str
    name: str
    data_center_id: str
    description: str = ""
    vlan: int | None = None
    mtu: int = 0  # 0: the default MTU
    vm_network: bool = True


@dataclass
class VnicProfile:
    id: str
    name: str
    network_id: str
    description: str = ""


@dataclass
class Snapshot:
    id: str
    vm_id: str
    description: str
    date: datetime
    type: str = "regular"  # active | regular | preview | stateless
    status: str = "ok"  # ok | locked | in_preview
    persist_memorystate: bool = False
    config: dict[str, Any] = field(default_factory=dict)  # the VM's configuration when taken
    disks: dict[str, int] = field(default_factory=dict)  # disk id -> provisioned size when taken


@dataclass
class GuestBehaviour:
    """How the guest inside a VM behaves once booted (set by tests and fault files)."""

    never_ip: bool = False
    fail_boot: bool = False
    hostname: str | None = None
    script_hangs: bool = False  # the first-boot script never reaches its power-off


@dataclass
class Vm:
    id: str
    name: str
    cluster_id: str
    template_id: str
    os_type: str
    memory: int
    memory_guaranteed: int
    memory_max: int
    sockets: int
    cores: int
    threads: int
    creation_time: datetime
    status: str = "down"
    description: str = ""
    comment: str = ""
    host_id: str | None = None
    disk_ids: list[str] = field(default_factory=list)
    nic_ids: list[str] = field(default_factory=list)
    tag_ids: list[str] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)
    fqdn: str | None = None
    initialization: Any = None  # ovirtsdk4.types.Initialization as stored (real root password)
    run_once_initialization: Any = None  # the one used for the current run
    run_once_type: str | None = None  # "cloud_init" | "sysprep" | None
    next_run: dict[str, Any] = field(
        default_factory=dict
    )  # field -> value pending for the next run
    start_time: datetime | None = None
    stop_time: datetime | None = None
    use_latest_template_version: bool = False
    generation: int = 0  # bumped on every state change so stale scheduled steps do nothing
    cpu_usage: float = 0.0
    memory_usage: float = 0.0
    cdrom_file: str | None = None
    snapshot_ids: list[str] = field(default_factory=list)  # regular snapshots, oldest first
    active_snapshot_id: str = ""
    # Attributes of types.Vm a client set that the simulator does not model (serial number,
    # placement policy, custom properties ...): kept as given, returned as the engine would.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Tag:
    id: str
    name: str
    description: str = ""
    parent_id: str | None = None


@dataclass
class Event:
    index: int
    code: int
    description: str
    severity: str
    time: datetime
    correlation_id: str | None = None
    vm_id: str | None = None
    vm_name: str | None = None
    template_id: str | None = None
    cluster_id: str | None = None
    data_center_id: str | None = None
    storage_domain_id: str | None = None
    host_id: str | None = None
    user_name: str | None = None


@dataclass
class Job:
    id: str
    description: str
    start_time: datetime
    status: str = "started"  # started | finished | failed
    end_time: datetime | None = None
    last_updated: datetime | None = None
    correlation_id: str | None = None
