"""The seed inventory: what a small VPS host's engine looks like. Deterministic by seed.

Customer VMs are ``vps-1000`` .. ``vps-2000`` and, past 1,001 VMs,
``vps-10000`` and up, so names ``vps-2001`` .. ``vps-9999`` (billing order
ids) are always free for new orders.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from .clock import utcnow
from .model import (
    Cluster,
    DataCenter,
    Disk,
    GiB,
    Host,
    Network,
    Nic,
    StorageDomain,
    Tag,
    Template,
    Vm,
    VnicProfile,
)

if TYPE_CHECKING:
    from .world import World

BLANK_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    # osinfo ids (packaging/conf/osinfo-defaults.properties; Ubuntu 22.04 has no own id:
    # ubuntu_18_04 is "Ubuntu Bionic Beaver LTS+")
    os_type: str
    description: str
    disk_gib: int
    memory_gib: int
    cores: int
    sealed_days_ago: tuple[int, ...]  # one entry per version, oldest first


# Catalog of the seed host. "apps=" lists the application stack baked in.
TEMPLATES = (
    TemplateSpec(
        "centos7-cpanel", "rhel_7x64", "CentOS 7 + cPanel/WHM; apps=cpanel", 30, 2, 2, (400,)
    ),
    TemplateSpec(
        "alma9-cpanel",
        "rhel_9x64",
        "AlmaLinux 9 + cPanel/WHM, hardened; apps=cpanel",
        40,
        2,
        2,
        (95, 45, 10),
    ),
    TemplateSpec(
        "ubuntu2204-plesk",
        "ubuntu_18_04",
        "Ubuntu 22.04 LTS + Plesk Obsidian; apps=plesk",
        30,
        2,
        2,
        (70, 20),
    ),
    TemplateSpec(
        "win2022-plesk",
        "windows_2022",
        "Windows Server 2022 Standard + Plesk; apps=plesk",
        60,
        4,
        2,
        (85, 25),
    ),
    TemplateSpec(
        "win2022-mssql",
        "windows_2022",
        "Windows Server 2022 Standard + SQL Server 2022 Web; apps=mssql",
        60,
        4,
        4,
        (120,),
    ),
    TemplateSpec("alma9", "rhel_9x64", "AlmaLinux 9 minimal; apps=", 20, 1, 1, (15,)),
    TemplateSpec("ubuntu2204", "ubuntu_18_04", "Ubuntu 22.04 LTS minimal; apps=", 20, 1, 1, (30,)),
    TemplateSpec("win2022", "windows_2022", "Windows Server 2022 Standard; apps=", 40, 2, 2, (40,)),
)

CUSTOMER_TAGS = ("backup-daily", "managed", "priority-support", "legacy")


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def customer_vm_names(count: int) -> list[str]:
    names = [f"vps-{n}" for n in range(1000, 1000 + min(count, 1001))]
    names += [f"vps-{n}" for n in range(10000, 10000 + max(0, count - 1001))]
    return names


def stable_id(*parts: str) -> str:
    """An id derived from names, for records added without disturbing the seeded random sequence."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def populate(world: World, vm_count: int) -> None:
    rng = world.rng
    now = utcnow()

    dc = DataCenter(_uuid(rng), "dc1", "Main datacenter")
    world.datacenters[dc.id] = dc
    # Every data center has the management network, with a vNIC profile of the same name
    # (AddNetworkCommand adds one by default); "customers" is the VLAN the VPSes sit on.
    for name, vlan, description in (
        ("ovirtmgmt", None, "Management Network"),
        ("customers", 100, "Customer VLAN"),
    ):
        network = Network(stable_id("network", dc.id, name), name, dc.id, description, vlan)
        world.networks[network.id] = network
        profile = VnicProfile(stable_id("vnicprofile", network.id), name, network.id)
        world.vnic_profiles[profile.id] = profile
    mgmt_profile = stable_id("vnicprofile", stable_id("network", dc.id, "ovirtmgmt"))
    clusters = [
        Cluster(_uuid(rng), name, dc.id, desc)
        for name, desc in (("prod-a", "Production A (SSD)"), ("prod-b", "Production B (HDD)"))
    ]
    for c in clusters:
        world.clusters[c.id] = c
    for i, (cl, suffix) in enumerate(((0, "a1"), (0, "a2"), (1, "b1"), (1, "b2"))):
        host = Host(
            _uuid(rng), f"host-{suffix}", clusters[cl].id, f"192.168.10.{11 + i}", memory=512 * GiB
        )
        world.hosts[host.id] = host
    ssd = StorageDomain(_uuid(rng), "data-ssd", dc.id, total=0, used=0)
    hdd = StorageDomain(_uuid(rng), "data-hdd", dc.id, total=0, used=0)
    world.storage_domains[ssd.id] = ssd
    world.storage_domains[hdd.id] = hdd

    blank = Template(
        BLANK_ID,
        "Blank",
        "Blank template",
        "",
        None,
        "other",
        1 * GiB,
        1,
        1,
        1,
        1,
        "base version",
        BLANK_ID,
        now - timedelta(days=900),
    )
    world.templates[blank.id] = blank

    customer_templates: list[Template] = []
    for spec in TEMPLATES:
        base_id = None
        for number, days in enumerate(spec.sealed_days_ago, start=1):
            tid = _uuid(rng)
            base_id = base_id or tid
            created = now - timedelta(days=days, hours=rng.randint(0, 20))
            version_name = "base version" if number == 1 else f"{created:%Y-%m-%d} patch"
            tpl = Template(
                tid,
                spec.name,
                spec.description,
                "",
                clusters[0].id,
                spec.os_type,
                spec.memory_gib * GiB,
                1,
                spec.cores,
                1,
                number,
                version_name,
                base_id,
                created,
            )
            disk = Disk(
                _uuid(rng),
                f"{spec.name}_Disk1",
                spec.disk_gib * GiB,
                int(spec.disk_gib * GiB * rng.uniform(0.25, 0.45)),
                ssd.id,
                template_id=tid,
            )
            world.disks[disk.id] = disk
            tpl.disk_ids.append(disk.id)
            tpl.nics.append(("nic1", "virtio", mgmt_profile))
            world.templates[tid] = tpl
            ssd.used += disk.actual_size
            ssd.committed += disk.provisioned_size
        customer_templates.append(tpl)  # newest version of each

    world.tags[BLANK_ID] = Tag(
        BLANK_ID, "root", "root"
    )  # the engine lists its root tag among the tags
    tags = [Tag(_uuid(rng), name, f"{name} customers") for name in CUSTOMER_TAGS]
    for t in tags:
        world.tags[t.id] = t

    hosts_by_cluster = {
        c.id: [h for h in world.hosts.values() if h.cluster_id == c.id] for c in clusters
    }
    for index, name in enumerate(customer_vm_names(vm_count)):
        cluster = clusters[rng.random() < 0.45]
        domain = ssd if cluster is clusters[0] else hdd
        tpl = rng.choice(customer_templates)
        roll = rng.random()
        status = (
            "up"
            if roll < 0.80
            else "down"
            if roll < 0.92
            else "suspended"
            if roll < 0.96
            else "paused"
        )
        memory = rng.choice((1, 2, 2, 4, 4, 8)) * GiB
        created = now - timedelta(days=rng.randint(20, 1500), minutes=rng.randint(0, 1440))
        vm = Vm(
            _uuid(rng),
            name,
            cluster.id,
            tpl.id,
            tpl.os_type,
            memory,
            memory,
            4 * memory,
            1,
            rng.choice((1, 2, 2, 4)),
            1,
            created,
            status=status,
            description=f"customer VPS {name}",
            comment="",
        )
        if status != "down":
            vm.host_id = rng.choice(hosts_by_cluster[cluster.id]).id
            vm.start_time = now - timedelta(hours=rng.randint(1, 24 * 90))
        size = rng.choice((20, 40, 40, 60, 80)) * GiB
        disk = Disk(
            _uuid(rng),
            f"{name}_Disk1",
            size,
            int(size * rng.uniform(0.2, 0.7)),
            domain.id,
            vm_id=vm.id,
        )
        world.disks[disk.id] = disk
        vm.disk_ids.append(disk.id)
        domain.used += disk.actual_size
        domain.committed += disk.provisioned_size
        nic = Nic(_uuid(rng), "nic1", world.new_mac(), vm.id, vnic_profile_id=mgmt_profile)
        world.nics[nic.id] = nic
        vm.nic_ids.append(nic.id)
        if status in ("up", "paused"):
            vm.ips = [f"10.{10 + index // 62500 % 200}.{index // 250 % 250}.{index % 250 + 2}"]
            vm.fqdn = f"{name}.customers.example.net"
            vm.cpu_usage = round(rng.uniform(1, 70), 1)
            vm.memory_usage = round(rng.uniform(20, 90), 1)
        if rng.random() < 0.15:
            vm.tag_ids.append(rng.choice(tags).id)
        world.add_vm_record(vm)
        world.add_active_snapshot(vm)

    # Finite space: whatever is in use plus a fixed headroom.
    ssd.total = ssd.used + 6 * 1024 * GiB
    hdd.total = hdd.used + 12 * 1024 * GiB
