"""Inventory records -> SDK objects (what the engine's mappers produce); call with the world lock held."""

from __future__ import annotations

import uuid
from typing import Any

from ovirtsdk4 import types

from .clock import utcnow
from .model import Disk, Event, Job, Network, Nic, Snapshot, Tag, Template, Vm, VnicProfile
from .xmlout import ENGINE_VERSION, Follow, href, masked

ADMIN_USER_ID = "a0e1b2c3-0000-4000-8000-000000000001"


def mk(sdk_type: type, /, **fields: Any) -> Any:
    """Build an SDK object; ``href`` is a property, not a constructor argument."""
    link = fields.pop("href", None)
    obj = sdk_type(**fields)
    obj.href = link
    return obj


def ref(kind: type, collection: str, entity_id: str | None) -> Any:
    if entity_id is None:
        return None
    return mk(kind, id=entity_id, href=href(collection, entity_id))


def _link_local(mac: str) -> str:
    """The guest's EUI-64 link-local IPv6 address for a MAC."""
    b = [int(x, 16) for x in mac.split(":")]
    b[0] ^= 0x02
    return (
        f"fe80::{b[0] << 8 | b[1]:x}:{b[2] << 8 | 0xFF:x}:{0xFE << 8 | b[3]:x}:{b[4] << 8 | b[5]:x}"
    )


def _stable_id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


class Converter:
    """Builds SDK objects from the world; call with the world lock held."""

    def __init__(self, world: Any) -> None:
        self.w = world

    # -- infrastructure
    def datacenter(self, dc: Any, follow: Follow | None = None) -> types.DataCenter:
        return mk(
            types.DataCenter,
            id=dc.id,
            href=href("datacenters", dc.id),
            name=dc.name,
            description=dc.description,
            local=False,
            status=types.DataCenterStatus.UP,
            storage_format=types.StorageFormat.V5,
            quota_mode=types.QuotaModeType.DISABLED,
            version=types.Version(major=4, minor=7),
        )

    def cluster(self, cl: Any, follow: Follow | None = None) -> types.Cluster:
        return mk(
            types.Cluster,
            id=cl.id,
            href=href("clusters", cl.id),
            name=cl.name,
            description=cl.description,
            cpu=types.Cpu(architecture=types.Architecture.X86_64, type=cl.cpu_type),
            data_center=ref(types.DataCenter, "datacenters", cl.data_center_id),
            memory_policy=types.MemoryPolicy(over_commit=types.MemoryOverCommit(percent=100)),
            version=types.Version(major=4, minor=7),
            ballooning_enabled=True,
        )

    def host(self, h: Any, follow: Follow | None = None) -> types.Host:
        return mk(
            types.Host,
            id=h.id,
            href=href("hosts", h.id),
            name=h.name,
            address=h.address,
            status=types.HostStatus.UP,
            type=types.HostType.RHEL,
            memory=h.memory,
            max_scheduling_memory=self.w.host_free_memory(h),
            cpu=types.Cpu(
                topology=types.CpuTopology(sockets=h.cpu_sockets, cores=h.cpu_cores, threads=2)
            ),
            cluster=ref(types.Cluster, "clusters", h.cluster_id),
        )

    def storage_domain(self, sd: Any, follow: Follow | None = None) -> types.StorageDomain:
        return mk(
            types.StorageDomain,
            id=sd.id,
            href=href("storagedomains", sd.id),
            name=sd.name,
            type=types.StorageDomainType.DATA,
            available=sd.available,
            used=sd.used,
            committed=sd.committed,
            master=sd.name == "data-ssd",
            status=None,
            external_status=types.ExternalStatus.OK,
            storage_format=types.StorageFormat.V5,
            storage=types.HostStorage(type=types.StorageType(sd.storage_type)),
            warning_low_space_indicator=10,
            critical_space_action_blocker=5,
            data_centers=[ref(types.DataCenter, "datacenters", sd.data_center_id)],
        )

    # -- templates
    def template(self, t: Template, follow: Follow | None = None) -> types.Template:
        follow = follow or {}
        obj = mk(
            types.Template,
            id=t.id,
            href=href("templates", t.id),
            name=t.name,
            description=t.description,
            comment=t.comment,
            status=types.TemplateStatus(t.status),
            creation_time=t.creation_time,
            memory=t.memory,
            memory_policy=types.MemoryPolicy(
                guaranteed=t.memory, max=4 * t.memory, ballooning=True
            ),
            cpu=types.Cpu(
                architecture=types.Architecture.X86_64,
                topology=types.CpuTopology(sockets=t.sockets, cores=t.cores, threads=t.threads),
            ),
            os=types.OperatingSystem(type=t.os_type),
            type=types.VmType.SERVER,
            stateless=False,
            cluster=ref(types.Cluster, "clusters", t.cluster_id),
            version=types.TemplateVersion(
                version_name=t.version_name,
                version_number=t.version_number,
                base_template=ref(types.Template, "templates", t.base_template_id),
            ),
            vm=ref(types.Vm, "vms", t.vm_id if t.vm_id in self.w.vms else None),
        )
        for name, value in t.extra.items():
            if hasattr(obj, name):
                setattr(obj, name, value)
        if "disk_attachments" in follow:
            obj.disk_attachments = [
                self.disk_attachment(self.w.disks[d], follow["disk_attachments"], template=t)
                for d in t.disk_ids
            ]
        return obj

    # -- disks
    def disk(self, d: Disk, follow: Follow | None = None) -> types.Disk:
        return mk(
            types.Disk,
            id=d.id,
            href=href("disks", d.id),
            name=d.alias,
            alias=d.alias,
            provisioned_size=d.provisioned_size,
            description=d.description,
            actual_size=d.actual_size,
            total_size=d.actual_size,
            format=types.DiskFormat(d.format),
            sparse=d.sparse,
            status=types.DiskStatus(d.status),
            content_type=types.DiskContentType.DATA,
            storage_type=types.DiskStorageType.IMAGE,
            shareable=False,
            wipe_after_delete=False,
            propagate_errors=False,
            qcow_version=types.QcowVersion.QCOW2_V3 if d.format == "cow" else None,
            image_id=_stable_id("image", d.id),
            storage_domains=[ref(types.StorageDomain, "storagedomains", d.storage_domain_id)],
        )

    def disk_attachment(
        self,
        d: Disk,
        follow: Follow | None = None,
        vm: Vm | None = None,
        template: Template | None = None,
    ) -> types.DiskAttachment:
        owner = href("vms", vm.id) if vm else href("templates", template.id)
        att = mk(
            types.DiskAttachment,
            id=d.id,
            href=f"{owner}/diskattachments/{d.id}",
            active=d.active,
            bootable=d.bootable,
            interface=types.DiskInterface(d.interface),
            logical_name="/dev/sda" if vm and vm.ips else None,
            pass_discard=False,
            read_only=False,
            uses_scsi_reservation=False,
            disk=ref(types.Disk, "disks", d.id),
            vm=ref(types.Vm, "vms", vm.id) if vm else None,
            template=ref(types.Template, "templates", template.id) if template else None,
        )
        if follow and "disk" in follow:
            att.disk = self.disk(d)
        return att

    # -- VMs
    def nic(self, n: Nic, vm: Vm, follow: Follow | None = None) -> types.Nic:
        obj = mk(
            types.Nic,
            id=n.id,
            href=href("vms", vm.id, "nics", n.id),
            name=n.name,
            interface=types.NicInterface(n.interface),
            mac=types.Mac(address=n.mac),
            plugged=n.plugged,
            linked=n.linked,
            vm=ref(types.Vm, "vms", vm.id),
            vnic_profile=ref(types.VnicProfile, "vnicprofiles", n.vnic_profile_id),
        )
        if follow and "reported_devices" in follow:
            obj.reported_devices = self.reported_devices(vm, n)
        return obj

    def reported_devices(self, vm: Vm, only_nic: Nic | None = None) -> list[types.ReportedDevice]:
        if not vm.ips:
            return []
        devices = []
        for index, nic_id in enumerate(vm.nic_ids):
            n = self.w.nics[nic_id]
            if only_nic is not None and n is not only_nic:
                continue
            ips = (
                [types.Ip(address=ip, version=types.IpVersion.V4) for ip in vm.ips]
                if index == 0
                else []
            )
            ips.append(types.Ip(address=_link_local(n.mac), version=types.IpVersion.V6))
            dev_id = _stable_id("reported", vm.id, n.id)
            devices.append(
                mk(
                    types.ReportedDevice,
                    id=dev_id,
                    href=href("vms", vm.id, "reporteddevices", dev_id),
                    name=f"eth{index}",
                    description="guest reported data",
                    type=types.ReportedDeviceType.NETWORK,
                    mac=types.Mac(address=n.mac),
                    ips=ips,
                    vm=ref(types.Vm, "vms", vm.id),
                )
            )
        return devices

    def statistics(self, vm: Vm) -> list[types.Statistic]:
        running = vm.status in ("up", "powering_up", "reboot_in_progress", "paused")
        used = int(vm.memory * vm.memory_usage / 100) if running else 0
        elapsed = 0
        if running and vm.start_time is not None:
            elapsed = int((utcnow() - vm.start_time).total_seconds())
        rows = [
            ("memory.installed", "Total memory configured", "gauge", "integer", "bytes", vm.memory),
            ("memory.used", "Memory used (agent)", "gauge", "integer", "bytes", used),
            (
                "memory.free",
                "Memory free (agent)",
                "gauge",
                "integer",
                "bytes",
                vm.memory - used if running else 0,
            ),
            ("memory.buffered", "Memory buffered (agent)", "gauge", "integer", "bytes", 0),
            ("memory.cached", "Memory cached (agent)", "gauge", "integer", "bytes", 0),
            ("cpu.current.guest", "CPU used by guest", "gauge", "decimal", "percent", vm.cpu_usage),
            (
                "cpu.current.hypervisor",
                "CPU overhead",
                "gauge",
                "decimal",
                "percent",
                0.5 if running else 0,
            ),
            (
                "cpu.current.total",
                "Total CPU used",
                "gauge",
                "decimal",
                "percent",
                vm.cpu_usage + (0.5 if running else 0),
            ),
            (
                "network.current.total",
                "Total network used",
                "gauge",
                "decimal",
                "percent",
                0.1 if running else 0,
            ),
            ("migration.progress", "Migration Progress", "gauge", "decimal", "percent", 0),
            ("elapsed.time", "Elapsed VM runtime", "counter", "integer", "seconds", elapsed),
        ]
        return [
            mk(
                types.Statistic,
                id=_stable_id("statistic", name),
                href=href("vms", vm.id, "statistics", _stable_id("statistic", name)),
                name=name,
                description=desc,
                kind=types.StatisticKind(kind),
                type=types.ValueType(vtype),
                unit=types.StatisticUnit(unit),
                values=[types.Value(datum=float(datum))],
                vm=ref(types.Vm, "vms", vm.id),
            )
            for name, desc, kind, vtype, unit, datum in rows
        ]

    def vm_tag(self, tag: Tag, vm: Vm) -> types.Tag:
        return mk(
            types.Tag,
            id=tag.id,
            href=href("vms", vm.id, "tags", tag.id),
            name=tag.name,
            description=tag.description,
            vm=ref(types.Vm, "vms", vm.id),
            parent=ref(types.Tag, "tags", tag.parent_id or "00000000-0000-0000-0000-000000000000"),
        )

    def vm(
        self,
        vm: Vm,
        follow: Follow | None = None,
        next_run: bool = False,
        all_content: bool = False,
    ) -> types.Vm:
        follow = follow or {}
        w = self.w
        config = {k: getattr(vm, k) for k in w.CONFIG_FIELDS}
        if next_run:
            config.update(vm.next_run)
        cluster = w.clusters[vm.cluster_id]
        obj = mk(
            types.Vm,
            id=vm.id,
            href=href("vms", vm.id),
            name=vm.name,
            description=vm.description,
            comment=vm.comment,
            status=types.VmStatus(vm.status),
            type=types.VmType.SERVER,
            stateless=False,
            delete_protected=False,
            memory=config["memory"],
            memory_policy=types.MemoryPolicy(
                guaranteed=config["memory_guaranteed"], max=config["memory_max"], ballooning=True
            ),
            cpu=types.Cpu(
                architecture=types.Architecture.X86_64,
                topology=types.CpuTopology(
                    sockets=config["sockets"], cores=config["cores"], threads=config["threads"]
                ),
            ),
            os=types.OperatingSystem(type=vm.os_type),
            creation_time=vm.creation_time,
            start_time=vm.start_time,
            stop_time=vm.stop_time,
            next_run_configuration_exists=bool(vm.next_run),
            run_once=vm.run_once_initialization is not None,
            use_latest_template_version=vm.use_latest_template_version,
            high_availability=types.HighAvailability(enabled=False, priority=0),
            fqdn=vm.fqdn,
            guest_operating_system=None,
            cluster=ref(types.Cluster, "clusters", vm.cluster_id),
            template=ref(types.Template, "templates", vm.template_id),
            original_template=ref(types.Template, "templates", vm.template_id),
            host=ref(types.Host, "hosts", vm.host_id),
            cpu_profile=ref(types.CpuProfile, "cpuprofiles", self.cpu_profile_id(cluster.id)),
            initialization=masked(vm.initialization),
        )
        for name, value in vm.extra.items():
            setattr(obj, name, value)
        if all_content:
            # BackendVmsResource.doPopulate: the device-backed attributes (console, virtio-scsi,
            # sound card) come only with all_content; the OVF configuration it also adds is
            # not modelled.
            obj.console = types.Console(enabled=False)
            obj.virtio_scsi = types.VirtioScsi(enabled=True)
            obj.soundcard_enabled = False
        if "cluster" in follow:
            obj.cluster = self.cluster(cluster)
        if "template" in follow:
            obj.template = self.template(w.templates[vm.template_id])
        if "host" in follow and vm.host_id:
            obj.host = self.host(w.hosts[vm.host_id])
        if "disk_attachments" in follow:
            obj.disk_attachments = [
                self.disk_attachment(w.disks[d], follow["disk_attachments"], vm=vm)
                for d in vm.disk_ids
            ]
        if "nics" in follow:
            obj.nics = [self.nic(w.nics[n], vm, follow["nics"]) for n in vm.nic_ids]
        if "reported_devices" in follow:
            obj.reported_devices = self.reported_devices(vm)
        if "statistics" in follow:
            obj.statistics = self.statistics(vm)
        if "tags" in follow:
            obj.tags = [self.vm_tag(w.tags[t], vm) for t in vm.tag_ids]
        return obj

    # -- tags, events, jobs
    def tag(self, tag: Tag, follow: Follow | None = None) -> types.Tag:
        return mk(
            types.Tag,
            id=tag.id,
            href=href("tags", tag.id),
            name=tag.name,
            description=tag.description,
            parent=ref(types.Tag, "tags", tag.parent_id or ZERO) if tag.id != ZERO else None,
        )

    def event(self, e: Event, follow: Follow | None = None) -> types.Event:
        return mk(
            types.Event,
            id=str(e.index),
            href=href("events", str(e.index)),
            index=e.index,
            code=e.code,
            description=e.description,
            severity=types.LogSeverity(e.severity),
            time=e.time,
            origin="oVirt",
            custom_id=-1,
            flood_rate=30,
            correlation_id=e.correlation_id,
            vm=mk(types.Vm, id=e.vm_id, href=href("vms", e.vm_id), name=e.vm_name)
            if e.vm_id
            else None,
            template=ref(types.Template, "templates", e.template_id),
            cluster=ref(types.Cluster, "clusters", e.cluster_id),
            data_center=ref(types.DataCenter, "datacenters", e.data_center_id),
            host=ref(types.Host, "hosts", e.host_id),
            storage_domain=ref(types.StorageDomain, "storagedomains", e.storage_domain_id),
            user=(
                mk(
                    types.User,
                    id=ADMIN_USER_ID,
                    href=href("users", ADMIN_USER_ID),
                    name=e.user_name,
                )
                if e.user_name
                else None
            ),
        )

    def job(self, j: Job, follow: Follow | None = None) -> types.Job:
        return mk(
            types.Job,
            id=j.id,
            href=href("jobs", j.id),
            description=j.description,
            status=types.JobStatus(j.status),
            start_time=j.start_time,
            end_time=j.end_time,
            last_updated=j.last_updated,
            auto_cleared=True,
            external=False,
            owner=mk(types.User, id=ADMIN_USER_ID, href=href("users", ADMIN_USER_ID)),
        )

    # -- root
    def api(self) -> types.Api:
        w = self.w
        running = sum(1 for vm in w.vms.values() if vm.status != "down")
        zero = "00000000-0000-0000-0000-000000000000"
        return types.Api(
            product_info=types.ProductInfo(
                name="oVirt Engine",
                vendor="ovirt.org",
                instance_id=w.instance_id,
                version=ENGINE_VERSION,
            ),
            special_objects=types.SpecialObjects(
                blank_template=ref(types.Template, "templates", zero),
                root_tag=ref(types.Tag, "tags", zero),
            ),
            summary=types.ApiSummary(
                vms=types.ApiSummaryItem(active=running, total=len(w.vms)),
                hosts=types.ApiSummaryItem(active=len(w.hosts), total=len(w.hosts)),
                users=types.ApiSummaryItem(active=1, total=1),
                storage_domains=types.ApiSummaryItem(
                    active=len(w.storage_domains), total=len(w.storage_domains)
                ),
            ),
            time=utcnow(),
            authenticated_user=mk(types.User, id=ADMIN_USER_ID, href=href("users", ADMIN_USER_ID)),
            effective_user=mk(types.User, id=ADMIN_USER_ID, href=href("users", ADMIN_USER_ID)),
        )

    # -- devices of templates, hosts' statistics, CPU profiles
    def template_nic(self, t: Template, index: int) -> types.Nic:
        name, interface, profile_id = t.nics[index]
        nic_id = _stable_id("template-nic", t.id, name)
        return mk(
            types.Nic,
            id=nic_id,
            href=href("templates", t.id, "nics", nic_id),
            name=name,
            interface=types.NicInterface(interface),
            plugged=True,
            linked=True,
            template=ref(types.Template, "templates", t.id),
            vnic_profile=ref(types.VnicProfile, "vnicprofiles", profile_id),
        )

    def host_statistics(self, h: Any) -> list[types.Statistic]:
        """HostStatisticalQuery's rows, in its order; memory from the running VMs, no swap, no KSM."""
        free = self.w.host_free_memory(h)
        used = h.memory - free
        busy = round(100 * used / h.memory / 4, 1)  # a guess at CPU load from memory use
        rows = [
            ("memory.total", "Total memory", "gauge", "integer", "bytes", h.memory),
            ("memory.used", "Used memory", "gauge", "integer", "bytes", used),
            ("memory.free", "Free memory", "gauge", "integer", "bytes", free),
            (
                "memory.shared",
                "The amount of memory, in bytes, shared among Virtual-Machines on this Host by "
                "Kernel Same-page Merging (KSM)",
                "gauge",
                "integer",
                "bytes",
                0,
            ),
            ("swap.total", "Total swap", "gauge", "integer", "bytes", 0),
            ("swap.free", "Free swap", "gauge", "integer", "bytes", 0),
            ("swap.used", "Used swap", "gauge", "integer", "bytes", 0),
            ("ksm.cpu.current", "KSM CPU usage", "gauge", "decimal", "percent", 0),
            ("cpu.current.user", "User CPU usage", "gauge", "decimal", "percent", busy),
            ("cpu.current.system", "System CPU usage", "gauge", "decimal", "percent", 1.0),
            (
                "cpu.current.idle",
                "Idle CPU usage",
                "gauge",
                "decimal",
                "percent",
                round(99 - busy, 1),
            ),
            (
                "cpu.load.avg.5m",
                "CPU 5 minute load average",
                "gauge",
                "decimal",
                "percent",
                busy / 100,
            ),
            ("boot.time", "Boot time of the machine", "gauge", "integer", "none", 0),
        ]
        return [
            mk(
                types.Statistic,
                id=_stable_id("host-statistic", name),
                href=href("hosts", h.id, "statistics", _stable_id("host-statistic", name)),
                name=name,
                description=desc,
                kind=types.StatisticKind(kind),
                type=types.ValueType(vtype),
                unit=types.StatisticUnit(unit),
                values=[types.Value(datum=float(datum))],
                host=ref(types.Host, "hosts", h.id),
            )
            for name, desc, kind, vtype, unit, datum in rows
        ]

    @staticmethod
    def cpu_profile_id(cluster_id: str) -> str:
        return _stable_id("cpuprofile", cluster_id)

    def cpu_profile(self, cluster: Any, follow: Follow | None = None) -> types.CpuProfile:
        """AddClusterCommand gives every cluster a CPU profile named after it."""
        pid = self.cpu_profile_id(cluster.id)
        return mk(
            types.CpuProfile,
            id=pid,
            href=href("cpuprofiles", pid),
            name=cluster.name,
            cluster=ref(types.Cluster, "clusters", cluster.id),
        )

    # -- networks
    def network(self, n: Network, follow: Follow | None = None) -> types.Network:
        return mk(
            types.Network,
            id=n.id,
            href=href("networks", n.id),
            name=n.name,
            description=n.description,
            comment="",
            mtu=n.mtu,
            stp=False,
            vlan=types.Vlan(id=n.vlan) if n.vlan is not None else None,
            usages=[types.NetworkUsage.VM] if n.vm_network else [],
            data_center=ref(types.DataCenter, "datacenters", n.data_center_id),
        )

    def cluster_network(self, n: Network, cluster_id: str) -> types.Network:
        obj = self.network(n)
        obj.href = href("clusters", cluster_id, "networks", n.id)
        obj.cluster = ref(types.Cluster, "clusters", cluster_id)
        obj.required = True
        obj.display = n.name == "ovirtmgmt"
        obj.status = types.NetworkStatus.OPERATIONAL
        return obj

    def vnic_profile(self, p: VnicProfile, follow: Follow | None = None) -> types.VnicProfile:
        return mk(
            types.VnicProfile,
            id=p.id,
            href=href("vnicprofiles", p.id),
            name=p.name,
            description=p.description,
            pass_through=types.VnicPassThrough(mode=types.VnicPassThroughMode.DISABLED),
            port_mirroring=False,
            network=ref(types.Network, "networks", p.network_id),
        )

    # -- snapshots and devices
    def snapshot(self, s: Snapshot, vm: Vm, follow: Follow | None = None) -> types.Snapshot:
        return mk(
            types.Snapshot,
            id=s.id,
            href=href("vms", vm.id, "snapshots", s.id),
            description=s.description,
            date=s.date,
            snapshot_type=types.SnapshotType(s.type),
            snapshot_status=types.SnapshotStatus(s.status),
            persist_memorystate=s.persist_memorystate,
            vm=ref(types.Vm, "vms", vm.id),
        )

    def cdrom(self, vm: Vm | None = None, template: Template | None = None) -> types.Cdrom:
        """CdRomMapper: one CD-ROM, id Guid.Empty, with a file only when an ISO is inserted."""
        owner = ("vms", vm.id) if vm else ("templates", template.id)
        file_id = vm.cdrom_file if vm else None
        return mk(
            types.Cdrom,
            id=ZERO,
            href=href(*owner, "cdroms", ZERO),
            file=types.File(id=file_id) if file_id else None,
            vm=ref(types.Vm, "vms", vm.id) if vm else None,
            template=ref(types.Template, "templates", template.id) if template else None,
        )

    # -- users, roles, permissions (read-only: the admin user, SuperUser everywhere)
    def user(self, follow: Follow | None = None) -> types.User:
        return mk(
            types.User,
            id=ADMIN_USER_ID,
            href=href("users", ADMIN_USER_ID),
            name="admin",
            user_name="admin@internal-authz",
            principal="admin",
            namespace="*",
            domain_entry_id=ADMIN_USER_ID,
            domain=types.Domain(id=INTERNAL_DOMAIN_ID, name="internal-authz"),
        )

    def role(self, role_id: str, follow: Follow | None = None) -> types.Role:
        name, description, administrative = ROLES[role_id]
        return mk(
            types.Role,
            id=role_id,
            href=href("roles", role_id),
            name=name,
            description=description,
            administrative=administrative,
            mutable=False,
        )

    def permission(self, parent: str) -> types.Permission:
        """The admin's SuperUser permission on the system object, as every object lists it (inherited)."""
        pid = ADMIN_PERMISSION_ID
        obj = mk(
            types.Permission,
            id=pid,
            href=f"{parent}/permissions/{pid}",
            role=ref(types.Role, "roles", SUPER_USER_ROLE_ID),
            user=ref(types.User, "users", ADMIN_USER_ID),
        )
        return obj


ZERO = "00000000-0000-0000-0000-000000000000"
# DirectoryEntryIdUtils.encode: the domain's name in upper-case hex.
INTERNAL_DOMAIN_ID = b"internal-authz".hex().upper()
ADMIN_PERMISSION_ID = _stable_id("permission", "admin", "system")
# packaging/dbscripts/data/00500_insert_roles.sql
SUPER_USER_ROLE_ID = "00000000-0000-0000-0000-000000000001"
ROLES = {
    SUPER_USER_ROLE_ID: ("SuperUser", "Roles management administrator", True),
    "00000000-0000-0000-0001-000000000001": ("UserRole", "Standard User Role", False),
}
