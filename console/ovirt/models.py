"""Our own small, frozen views of engine objects. Nothing here imports the SDK."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MiB = 1024**2
GiB = 1024**3

LICENSED_APPS = ("cpanel", "plesk", "mssql")


@dataclass(frozen=True)
class EngineInfo:
    product: str
    version: str


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    version_number: int
    version_name: str
    os_type: str
    description: str
    apps: tuple[str, ...]
    cpus: int
    memory_mib: int
    disk_gib: int
    created_at: datetime | None
    status: str
    is_windows: bool
    storage_domain_ids: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version_number}"


@dataclass(frozen=True)
class Disk:
    id: str
    alias: str
    provisioned_gib: int
    status: str
    bootable: bool
    storage_domain_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vm:
    id: str
    name: str
    status: str
    cluster: str | None
    description: str
    comment: str
    cpus: int
    memory_mib: int
    guaranteed_mib: int | None
    disk_gib: int | None
    ips: tuple[str, ...]
    fqdn: str | None
    cpu_percent: float | None
    memory_percent: float | None
    tags: tuple[str, ...]
    template_name: str | None
    template_id: str | None = None
    disks: tuple[Disk, ...] = ()
    init_host_name: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Cluster:
    id: str
    name: str
    description: str = ""
    host_count: int = 0
    free_memory_mib: int | None = None
    # A VM runs on one host: the most any single host can still take.
    largest_host_free_mib: int | None = None


@dataclass(frozen=True)
class StorageDomain:
    id: str
    name: str
    available_gib: int
    used_gib: int


@dataclass(frozen=True)
class Initialization:
    """What cloud-init or sysprep receives on first boot. Carries secrets: never persist it."""

    kind: str  # "cloud-init" | "sysprep"
    host_name: str
    user_name: str
    root_password: str | None = None
    authorized_ssh_keys: tuple[str, ...] = ()
    custom_script: str | None = None
    windows_license_key: str | None = None
    timezone: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
