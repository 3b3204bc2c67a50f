"""SDK objects → our dataclasses. Tolerant of missing fields: engines omit what they like.

Every text here comes from the engine, and some of it from inside a customer's guest (the
guest agent reports the FQDN and the IPs): each passes console.text_safety on the way in,
and an "IP" that is not an IP address is dropped (it is handed over to billing).
"""

from __future__ import annotations

import ipaddress
import re

from ovirtsdk4 import types

from console.ovirt.models import (
    LICENSED_APPS,
    Cluster,
    Disk,
    GiB,
    MiB,
    StorageDomain,
    Template,
    Vm,
)
from console.text_safety import safe_text

_APPS = re.compile(r"apps=([A-Za-z0-9_,\- ]*)")


def _enum(value: object) -> str:
    return getattr(value, "value", None) or (str(value) if value is not None else "")


def cpu_count(cpu: types.Cpu | None) -> int:
    topology = cpu.topology if cpu is not None else None
    if topology is None:
        return 1
    return (topology.sockets or 1) * (topology.cores or 1) * (topology.threads or 1)


def template_apps(name: str, description: str) -> tuple[str, ...]:
    """The application stack baked in: "apps=" in the description, else the name's words."""
    match = _APPS.search(description or "")
    if match:
        found = [app.strip().lower() for app in match.group(1).split(",") if app.strip()]
    else:
        words = re.split(r"[-_ .]+", (name or "").lower())
        found = [app for app in LICENSED_APPS if app in words]
    return tuple(dict.fromkeys(found))


def _disks(attachments: list[types.DiskAttachment] | None) -> tuple[Disk, ...]:
    result = []
    for attachment in attachments or ():
        disk = attachment.disk
        if disk is None or disk.provisioned_size is None:
            continue
        result.append(
            Disk(
                id=disk.id or attachment.id,
                alias=safe_text(disk.alias or disk.name or ""),
                provisioned_gib=-(-int(disk.provisioned_size) // GiB),
                status=_enum(disk.status),
                bootable=bool(attachment.bootable),
                storage_domain_ids=tuple(sd.id for sd in (disk.storage_domains or ()) if sd.id),
            )
        )
    return tuple(result)


def disk(sdk_disk: types.Disk, bootable: bool = False) -> Disk:
    return Disk(
        id=sdk_disk.id,
        alias=safe_text(sdk_disk.alias or sdk_disk.name or ""),
        provisioned_gib=-(-int(sdk_disk.provisioned_size or 0) // GiB),
        status=_enum(sdk_disk.status),
        bootable=bootable,
        storage_domain_ids=tuple(sd.id for sd in (sdk_disk.storage_domains or ()) if sd.id),
    )


def template(sdk_template: types.Template) -> Template:
    version = sdk_template.version
    os_type = _enum(sdk_template.os.type) if sdk_template.os is not None else ""
    os_type = os_type or (sdk_template.os.type if sdk_template.os is not None else "") or ""
    disks = _disks(sdk_template.disk_attachments)
    name = safe_text(sdk_template.name or "")
    return Template(
        id=sdk_template.id,
        name=name,
        version_number=(version.version_number if version and version.version_number else 1),
        version_name=safe_text(version.version_name if version and version.version_name else ""),
        os_type=safe_text(os_type),
        description=safe_text(sdk_template.description or ""),
        apps=template_apps(name, sdk_template.description or ""),
        cpus=cpu_count(sdk_template.cpu),
        memory_mib=int(sdk_template.memory or 0) // MiB,
        disk_gib=sum(d.provisioned_gib for d in disks),
        created_at=sdk_template.creation_time,
        status=_enum(sdk_template.status),
        is_windows=os_type.lower().startswith("windows") or name.lower().startswith("win"),
        storage_domain_ids=tuple(dict.fromkeys(i for d in disks for i in d.storage_domain_ids)),
    )


def _ips(vm: types.Vm) -> tuple[str, ...]:
    found: list[str] = []
    devices = list(vm.reported_devices or ())
    for nic in vm.nics or ():
        devices.extend(nic.reported_devices or ())
    for device in devices:
        for ip in device.ips or ():
            address = _ip(ip.address)
            if address and address not in found:
                found.append(address)
    # IPv4 first: that is what the customer is given.
    return tuple(sorted(found, key=lambda address: ":" in address))


def _ip(text: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((text or "").strip()))
    except ValueError:
        return None


def _statistic(vm: types.Vm, name: str) -> float | None:
    for statistic in vm.statistics or ():
        if statistic.name == name and statistic.values:
            datum = statistic.values[0].datum
            return float(datum) if datum is not None else None
    return None


def vm(sdk_vm: types.Vm, *, cluster_names: dict[str, str], template_names: dict[str, str]) -> Vm:
    cluster = sdk_vm.cluster
    cluster_name = (
        cluster.name
        if cluster is not None and cluster.name
        else cluster_names.get(cluster.id)
        if cluster is not None
        else None
    )
    tpl = sdk_vm.template
    template_id = tpl.id if tpl is not None else None
    template_name = (
        tpl.name
        if tpl is not None and tpl.name
        else template_names.get(template_id)
        if template_id
        else None
    )
    disks = _disks(sdk_vm.disk_attachments)
    installed = _statistic(sdk_vm, "memory.installed")
    used = _statistic(sdk_vm, "memory.used")
    memory_percent = round(used * 100.0 / installed, 1) if installed and used is not None else None
    cpu = _statistic(sdk_vm, "cpu.current.guest")
    if cpu is None:
        cpu = _statistic(sdk_vm, "cpu.current.total")
    policy = sdk_vm.memory_policy
    init = sdk_vm.initialization
    return Vm(
        id=sdk_vm.id,
        name=safe_text(sdk_vm.name or ""),
        status=safe_text(_enum(sdk_vm.status)),
        cluster=safe_text(cluster_name) if cluster_name else cluster_name,
        description=safe_text(sdk_vm.description or ""),
        comment=safe_text(sdk_vm.comment or ""),
        cpus=cpu_count(sdk_vm.cpu),
        memory_mib=int(sdk_vm.memory or 0) // MiB,
        guaranteed_mib=(
            int(policy.guaranteed) // MiB
            if policy is not None and policy.guaranteed is not None
            else None
        ),
        disk_gib=sum(d.provisioned_gib for d in disks) if disks else None,
        ips=_ips(sdk_vm),
        fqdn=safe_text(sdk_vm.fqdn) if sdk_vm.fqdn else None,
        cpu_percent=cpu,
        memory_percent=memory_percent,
        tags=tuple(safe_text(t.name) for t in (sdk_vm.tags or ()) if t.name),
        template_name=safe_text(template_name) if template_name else template_name,
        template_id=template_id,
        disks=disks,
        init_host_name=(safe_text(init.host_name) if init is not None and init.host_name else None),
        created_at=sdk_vm.creation_time,
    )


def cluster(sdk_cluster: types.Cluster, hosts: list[types.Host]) -> Cluster:
    mine = [h for h in hosts if h.cluster is not None and h.cluster.id == sdk_cluster.id]
    free = [
        h.max_scheduling_memory
        for h in mine
        if _enum(h.status) in ("", "up") and h.max_scheduling_memory is not None
    ]
    return Cluster(
        id=sdk_cluster.id,
        name=safe_text(sdk_cluster.name or ""),
        description=safe_text(sdk_cluster.description or ""),
        host_count=len(mine),
        free_memory_mib=(int(sum(free)) // MiB) if free else None,
        largest_host_free_mib=(int(max(free)) // MiB) if free else None,
    )


def storage_domain(sdk_domain: types.StorageDomain) -> StorageDomain:
    return StorageDomain(
        id=sdk_domain.id,
        name=safe_text(sdk_domain.name or ""),
        available_gib=int(sdk_domain.available or 0) // GiB,
        used_gib=int(sdk_domain.used or 0) // GiB,
    )
