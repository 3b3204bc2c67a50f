"""Turn inventory records into the engine's XML, using the SDK's own types and writers.

The SDK writers give the element layout by construction; this module adds
what the writers never emit but the engine does: ``<link rel href>`` entries
for sub-collections, the XML declaration, and root-password masking.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any, Iterable

from ovirtsdk4 import types, writers, xml

from .model import GiB, Disk, Event, Job, Nic, Tag, Template, Vm

API = "/ovirt-engine/api"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
ENGINE_VERSION = types.Version(build=6, full_version="4.5.6-1.el9", major=4, minor=5, revision=0)

Follow = dict[str, "Follow"]


def href(*parts: str) -> str:
    return "/".join((API,) + parts)


def parse_follow(value: str | None) -> Follow:
    """``disk_attachments.disk,nics.reported_devices`` -> nested dict of link names."""
    tree: Follow = {}
    for path in (value or "").split(","):
        node = tree
        for name in path.strip().split("."):
            if name:
                node = node.setdefault(FOLLOW_ALIASES.get(name, name), {})
    return tree


# Link rel names the engine also accepts in follow=, mapped to element names.
FOLLOW_ALIASES = {"diskattachments": "disk_attachments", "reporteddevices": "reported_devices"}


class _LinkingWriter:
    """Wraps the SDK's XmlWriter; adds ``<link>`` elements just before the outermost entity closes."""

    def __init__(self, inner: xml.XmlWriter, links: list[tuple[str, str]]) -> None:
        self._inner = inner
        self._links = links
        self._depth = 0

    def write_start(self, name: str) -> None:
        self._depth += 1
        self._inner.write_start(name)

    def write_attribute(self, name: str, value: str) -> None:
        self._inner.write_attribute(name, value)

    def write_element(self, name: str, value: str) -> None:
        self._inner.write_element(name, value)

    def write_end(self) -> None:
        if self._depth == 1:
            for rel, link_href in self._links:
                self._inner.write_start("link")
                self._inner.write_attribute("href", link_href)
                self._inner.write_attribute("rel", rel)
                self._inner.write_end()
        self._depth -= 1
        self._inner.write_end()


def _write(obj: Any, cursor: Any, tag: str | None = None) -> None:
    getattr(writers, type(obj).__name__ + "Writer").write_one(obj, cursor, tag)


def links_for(obj: Any) -> list[tuple[str, str]]:
    base = obj.href
    if isinstance(obj, types.Vm):
        return [(rel, f"{base}/{rel}") for rel in ("diskattachments", "nics", "reporteddevices", "statistics", "tags")]
    if isinstance(obj, types.Template):
        return [(rel, f"{base}/{rel}") for rel in ("diskattachments",)]
    if isinstance(obj, types.Nic) and obj.vm is not None:
        return [("reporteddevices", f"{base}/reporteddevices")]
    if isinstance(obj, types.Job):
        return [("steps", f"{base}/steps")]
    return []


def render_one(obj: Any, tag: str | None = None) -> bytes:
    cursor = xml.XmlWriter(None, False)
    try:
        _write(obj, _LinkingWriter(cursor, links_for(obj)), tag)
        return (XML_DECLARATION + cursor.string()).encode()
    finally:
        cursor.close()


def render_many(objs: Iterable[Any], root: str, item_tag: str | None = None) -> bytes:
    cursor = xml.XmlWriter(None, False)
    try:
        cursor.write_start(root)
        for obj in objs:
            _write(obj, _LinkingWriter(cursor, links_for(obj)), item_tag)
        cursor.write_end()
        return (XML_DECLARATION + cursor.string()).encode()
    finally:
        cursor.close()


def render_fault(reason: str | None, detail: str | None) -> bytes:
    return render_one(types.Fault(reason=reason, detail=detail))


def render_action(action: types.Action) -> bytes:
    return render_one(action)


# ----------------------------------------------------------------- converters
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
    return "fe80::{:x}:{:x}:{:x}:{:x}".format(b[0] << 8 | b[1], b[2] << 8 | 0xFF, 0xFE << 8 | b[3], b[4] << 8 | b[5])


def _stable_id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


class Converter:
    """Builds SDK objects from the world; call with the world lock held."""

    def __init__(self, world: Any) -> None:
        self.w = world

    # -- infrastructure
    def datacenter(self, dc: Any, follow: Follow | None = None) -> types.DataCenter:
        return mk(types.DataCenter, id=dc.id, href=href("datacenters", dc.id), name=dc.name, description=dc.description,
                                local=False, status=types.DataCenterStatus.UP, storage_format=types.StorageFormat.V5,
                                quota_mode=types.QuotaModeType.DISABLED,
                                version=types.Version(major=4, minor=7))

    def cluster(self, cl: Any, follow: Follow | None = None) -> types.Cluster:
        return mk(types.Cluster, id=cl.id, href=href("clusters", cl.id), name=cl.name, description=cl.description,
                             cpu=types.Cpu(architecture=types.Architecture.X86_64, type=cl.cpu_type),
                             data_center=ref(types.DataCenter, "datacenters", cl.data_center_id),
                             memory_policy=types.MemoryPolicy(over_commit=types.MemoryOverCommit(percent=100)),
                             version=types.Version(major=4, minor=7), ballooning_enabled=True)

    def host(self, h: Any, follow: Follow | None = None) -> types.Host:
        return mk(types.Host, id=h.id, href=href("hosts", h.id), name=h.name, address=h.address,
                          status=types.HostStatus.UP, type=types.HostType.RHEL, memory=h.memory,
                          max_scheduling_memory=self.w.host_free_memory(h),
                          cpu=types.Cpu(topology=types.CpuTopology(sockets=h.cpu_sockets, cores=h.cpu_cores, threads=2)),
                          cluster=ref(types.Cluster, "clusters", h.cluster_id))

    def storage_domain(self, sd: Any, follow: Follow | None = None) -> types.StorageDomain:
        return mk(types.StorageDomain,
            id=sd.id, href=href("storagedomains", sd.id), name=sd.name, type=types.StorageDomainType.DATA,
            available=sd.available, used=sd.used, committed=sd.committed, master=sd.name == "data-ssd",
            status=None, external_status=types.ExternalStatus.OK, storage_format=types.StorageFormat.V5,
            storage=types.HostStorage(type=types.StorageType(sd.storage_type)),
            warning_low_space_indicator=10, critical_space_action_blocker=5,
            data_centers=[ref(types.DataCenter, "datacenters", sd.data_center_id)])

    # -- templates
    def template(self, t: Template, follow: Follow | None = None) -> types.Template:
        follow = follow or {}
        obj = mk(types.Template,
            id=t.id, href=href("templates", t.id), name=t.name, description=t.description, comment=t.comment,
            status=types.TemplateStatus(t.status), creation_time=t.creation_time, memory=t.memory,
            memory_policy=types.MemoryPolicy(guaranteed=t.memory, max=4 * t.memory, ballooning=True),
            cpu=types.Cpu(architecture=types.Architecture.X86_64,
                          topology=types.CpuTopology(sockets=t.sockets, cores=t.cores, threads=t.threads)),
            os=types.OperatingSystem(type=t.os_type), type=types.VmType.SERVER, stateless=False,
            cluster=ref(types.Cluster, "clusters", t.cluster_id),
            version=types.TemplateVersion(version_name=t.version_name, version_number=t.version_number,
                                          base_template=ref(types.Template, "templates", t.base_template_id)))
        if "disk_attachments" in follow:
            obj.disk_attachments = [self.disk_attachment(self.w.disks[d], follow["disk_attachments"], template=t)
                                    for d in t.disk_ids]
        return obj

    # -- disks
    def disk(self, d: Disk, follow: Follow | None = None) -> types.Disk:
        return mk(types.Disk,
            id=d.id, href=href("disks", d.id), name=d.alias, alias=d.alias, provisioned_size=d.provisioned_size,
            actual_size=d.actual_size, total_size=d.actual_size, format=types.DiskFormat(d.format), sparse=d.sparse,
            status=types.DiskStatus(d.status), content_type=types.DiskContentType.DATA,
            storage_type=types.DiskStorageType.IMAGE, shareable=False, wipe_after_delete=False,
            propagate_errors=False, qcow_version=types.QcowVersion.QCOW2_V3 if d.format == "cow" else None,
            image_id=_stable_id("image", d.id),
            storage_domains=[ref(types.StorageDomain, "storagedomains", d.storage_domain_id)])

    def disk_attachment(self, d: Disk, follow: Follow | None = None, vm: Vm | None = None,
                        template: Template | None = None) -> types.DiskAttachment:
        owner = href("vms", vm.id) if vm else href("templates", template.id)
        att = mk(types.DiskAttachment,
            id=d.id, href=f"{owner}/diskattachments/{d.id}", active=True, bootable=d.bootable,
            interface=types.DiskInterface(d.interface), logical_name="/dev/sda" if vm and vm.ips else None,
            pass_discard=False, read_only=False, uses_scsi_reservation=False,
            disk=ref(types.Disk, "disks", d.id),
            vm=ref(types.Vm, "vms", vm.id) if vm else None,
            template=ref(types.Template, "templates", template.id) if template else None)
        if follow and "disk" in follow:
            att.disk = self.disk(d)
        return att

    # -- VMs
    def nic(self, n: Nic, vm: Vm, follow: Follow | None = None) -> types.Nic:
        obj = mk(types.Nic, id=n.id, href=href("vms", vm.id, "nics", n.id), name=n.name,
                        interface=types.NicInterface(n.interface), mac=types.Mac(address=n.mac),
                        plugged=n.plugged, linked=n.linked, vm=ref(types.Vm, "vms", vm.id),
                        vnic_profile=ref(types.VnicProfile, "vnicprofiles", _stable_id("vnicprofile", "ovirtmgmt")))
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
            ips = [types.Ip(address=ip, version=types.IpVersion.V4) for ip in vm.ips] if index == 0 else []
            ips.append(types.Ip(address=_link_local(n.mac), version=types.IpVersion.V6))
            dev_id = _stable_id("reported", vm.id, n.id)
            devices.append(mk(types.ReportedDevice,
                id=dev_id, href=href("vms", vm.id, "reporteddevices", dev_id), name=f"eth{index}",
                description="guest reported data", type=types.ReportedDeviceType.NETWORK,
                mac=types.Mac(address=n.mac), ips=ips, vm=ref(types.Vm, "vms", vm.id)))
        return devices

    def statistics(self, vm: Vm) -> list[types.Statistic]:
        running = vm.status in ("up", "powering_up", "reboot_in_progress", "paused")
        used = int(vm.memory * vm.memory_usage / 100) if running else 0
        elapsed = 0
        if running and vm.start_time is not None:
            from .clock import utcnow
            elapsed = int((utcnow() - vm.start_time).total_seconds())
        rows = [
            ("memory.installed", "Total memory configured", "gauge", "integer", "bytes", vm.memory),
            ("memory.used", "Memory used (agent)", "gauge", "integer", "bytes", used),
            ("memory.free", "Memory free (agent)", "gauge", "integer", "bytes", vm.memory - used if running else 0),
            ("memory.buffered", "Memory buffered (agent)", "gauge", "integer", "bytes", 0),
            ("memory.cached", "Memory cached (agent)", "gauge", "integer", "bytes", 0),
            ("cpu.current.guest", "CPU used by guest", "gauge", "decimal", "percent", vm.cpu_usage),
            ("cpu.current.hypervisor", "CPU overhead", "gauge", "decimal", "percent", 0.5 if running else 0),
            ("cpu.current.total", "Total CPU used", "gauge", "decimal", "percent",
             vm.cpu_usage + (0.5 if running else 0)),
            ("network.current.total", "Total network used", "gauge", "decimal", "percent", 0.1 if running else 0),
            ("migration.progress", "Migration Progress", "gauge", "decimal", "percent", 0),
            ("elapsed.time", "Elapsed VM runtime", "counter", "integer", "seconds", elapsed),
        ]
        return [mk(types.Statistic, id=_stable_id("statistic", name), href=href("vms", vm.id, "statistics", _stable_id("statistic", name)),
                                name=name, description=desc, kind=types.StatisticKind(kind), type=types.ValueType(vtype),
                                unit=types.StatisticUnit(unit), values=[types.Value(datum=float(datum))],
                                vm=ref(types.Vm, "vms", vm.id))
                for name, desc, kind, vtype, unit, datum in rows]

    def vm_tag(self, tag: Tag, vm: Vm) -> types.Tag:
        return mk(types.Tag, id=tag.id, href=href("vms", vm.id, "tags", tag.id), name=tag.name,
                         description=tag.description, vm=ref(types.Vm, "vms", vm.id),
                         parent=ref(types.Tag, "tags", tag.parent_id or "00000000-0000-0000-0000-000000000000"))

    def vm(self, vm: Vm, follow: Follow | None = None, next_run: bool = False, all_content: bool = False) -> types.Vm:
        follow = follow or {}
        w = self.w
        config = {k: getattr(vm, k) for k in w.CONFIG_FIELDS}
        if next_run:
            config.update(vm.next_run)
        cluster = w.clusters[vm.cluster_id]
        obj = mk(types.Vm,
            id=vm.id, href=href("vms", vm.id), name=vm.name, description=vm.description, comment=vm.comment,
            status=types.VmStatus(vm.status), type=types.VmType.SERVER, stateless=False, delete_protected=False,
            memory=config["memory"],
            memory_policy=types.MemoryPolicy(guaranteed=config["memory_guaranteed"], max=config["memory_max"],
                                             ballooning=True),
            cpu=types.Cpu(architecture=types.Architecture.X86_64,
                          topology=types.CpuTopology(sockets=config["sockets"], cores=config["cores"],
                                                     threads=config["threads"])),
            os=types.OperatingSystem(type=vm.os_type), creation_time=vm.creation_time,
            start_time=vm.start_time, stop_time=vm.stop_time,
            next_run_configuration_exists=bool(vm.next_run), run_once=vm.run_once_initialization is not None,
            use_latest_template_version=vm.use_latest_template_version,
            high_availability=types.HighAvailability(enabled=False, priority=0),
            fqdn=vm.fqdn, guest_operating_system=None,
            cluster=ref(types.Cluster, "clusters", vm.cluster_id),
            template=ref(types.Template, "templates", vm.template_id),
            original_template=ref(types.Template, "templates", vm.template_id),
            host=ref(types.Host, "hosts", vm.host_id),
            cpu_profile=ref(types.CpuProfile, "cpuprofiles", _stable_id("cpuprofile", cluster.id)),
            initialization=masked(vm.initialization))
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
            obj.disk_attachments = [self.disk_attachment(w.disks[d], follow["disk_attachments"], vm=vm)
                                    for d in vm.disk_ids]
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
        return mk(types.Tag, id=tag.id, href=href("tags", tag.id), name=tag.name, description=tag.description,
                         parent=ref(types.Tag, "tags", tag.parent_id or "00000000-0000-0000-0000-000000000000"))

    def event(self, e: Event, follow: Follow | None = None) -> types.Event:
        return mk(types.Event,
            id=str(e.index), href=href("events", str(e.index)), index=e.index, code=e.code,
            description=e.description, severity=types.LogSeverity(e.severity), time=e.time, origin="oVirt",
            custom_id=-1, flood_rate=30, correlation_id=e.correlation_id,
            vm=mk(types.Vm, id=e.vm_id, href=href("vms", e.vm_id), name=e.vm_name) if e.vm_id else None,
            template=ref(types.Template, "templates", e.template_id),
            cluster=ref(types.Cluster, "clusters", e.cluster_id),
            data_center=ref(types.DataCenter, "datacenters", e.data_center_id),
            host=ref(types.Host, "hosts", e.host_id),
            storage_domain=ref(types.StorageDomain, "storagedomains", e.storage_domain_id),
            user=mk(types.User, id=ADMIN_USER_ID, href=href("users", ADMIN_USER_ID), name=e.user_name) if e.user_name else None)

    def job(self, j: Job, follow: Follow | None = None) -> types.Job:
        return mk(types.Job, id=j.id, href=href("jobs", j.id), description=j.description,
                         status=types.JobStatus(j.status), start_time=j.start_time, end_time=j.end_time,
                         last_updated=j.last_updated, auto_cleared=True, external=False,
                         owner=mk(types.User, id=ADMIN_USER_ID, href=href("users", ADMIN_USER_ID)))

    # -- root
    def api(self) -> types.Api:
        w = self.w
        from .clock import utcnow
        running = sum(1 for vm in w.vms.values() if vm.status != "down")
        zero = "00000000-0000-0000-0000-000000000000"
        return types.Api(
            product_info=types.ProductInfo(name="oVirt Engine", vendor="ovirt.org", instance_id=w.instance_id,
                                           version=ENGINE_VERSION),
            special_objects=types.SpecialObjects(blank_template=ref(types.Template, "templates", zero),
                                                 root_tag=ref(types.Tag, "tags", zero)),
            summary=types.ApiSummary(
                vms=types.ApiSummaryItem(active=running, total=len(w.vms)),
                hosts=types.ApiSummaryItem(active=len(w.hosts), total=len(w.hosts)),
                users=types.ApiSummaryItem(active=1, total=1),
                storage_domains=types.ApiSummaryItem(active=len(w.storage_domains), total=len(w.storage_domains))),
            time=utcnow(),
            authenticated_user=mk(types.User, id=ADMIN_USER_ID, href=href("users", ADMIN_USER_ID)),
            effective_user=mk(types.User, id=ADMIN_USER_ID, href=href("users", ADMIN_USER_ID)))


ADMIN_USER_ID = "a0e1b2c3-0000-4000-8000-000000000001"

ROOT_LINKS = [(rel, href(rel)) for rel in
              ("clusters", "datacenters", "disks", "events", "hosts", "jobs", "storagedomains", "tags", "templates", "vms")]
ROOT_LINKS += [(f"{rel}/search", href(rel) + "?search={query}") for rel in
               ("clusters", "datacenters", "disks", "events", "hosts", "storagedomains", "templates", "vms")]


def render_api(api: types.Api) -> bytes:
    cursor = xml.XmlWriter(None, False)
    try:
        writers.ApiWriter.write_one(api, _LinkingWriter(cursor, ROOT_LINKS), None)
        return (XML_DECLARATION + cursor.string()).encode()
    finally:
        cursor.close()


def masked(init: types.Initialization | None) -> types.Initialization | None:
    """The engine never sends the root password back: it echoes ``******``."""
    if init is None:
        return None
    shown = copy.copy(init)
    if shown.root_password:
        shown.root_password = "******"
    return shown


__all__ = ["API", "Converter", "GiB", "href", "parse_follow", "render_action", "render_api", "render_fault",
           "render_many", "render_one"]
