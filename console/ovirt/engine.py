"""The engine facade: every oVirt call the console makes goes through here.

The SDK is synchronous and its Connection is not thread-safe, so each thread gets its
own (threading.local); callers run these blocking methods in worker threads. Every call
carries a correlation id so the engine's events and jobs can be traced back to the
console's job. Live views use one list call with `search` and `follow`, never one call
per VM.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

import ovirtsdk4 as sdk
from ovirtsdk4 import http, types

from console.config import EngineConfig
from console.ovirt import convert, listing, rows, slim
from console.ovirt.errors import EngineNotFound, EngineRejected
from console.ovirt.faults import translate
from console.ovirt.models import (
    Cluster,
    Disk,
    EngineInfo,
    GiB,
    Initialization,
    MiB,
    StorageDomain,
    Template,
    Vm,
)

T = TypeVar("T")


VM_FOLLOW = "disk_attachments.disk,nics.reported_devices,reported_devices,statistics,tags"
TEMPLATE_FOLLOW = "disk_attachments.disk"


def _quote(value: str) -> str:
    # Engine search values with spaces or specials need double quotes.
    return '"' + value.replace('"', "") + '"' if any(c in value for c in ' ,()=<>!"') else value


class Engine:
    """One configured oVirt engine. Blocking methods; safe to call from many threads."""

    def __init__(
        self,
        config: EngineConfig,
        password: str,
        *,
        timeout: int = 60,
        correlation_prefix: str = "vpsc",
    ):
        self.config = config
        self.name = config.name
        self._password = password
        self._timeout = timeout
        self._prefix = correlation_prefix
        self._local = threading.local()
        self._all: list[sdk.Connection] = []
        self._lock = threading.Lock()
        self._cluster_names: dict[str, str] = {}
        self._template_names: dict[str, str] = {}
        self._parser = slim.Parser()
        self.calls = 0

    def __repr__(self) -> str:  # never show the password
        return f"Engine({self.name!r}, {self.config.url!r})"

    @property
    def tls_verified(self) -> bool:
        """False when TLS is off or its verification was explicitly turned off: say so on screen."""
        return self.config.url.startswith("https") and not self.config.insecure

    # ------------------------------------------------------------------ plumbing
    def _connection(self) -> sdk.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sdk.Connection(
                url=self.config.url,
                username=self.config.username,
                password=self._password,
                ca_file=str(self.config.ca_file) if self.config.ca_file else None,
                insecure=self.config.insecure,
                timeout=self._timeout,
            )
            self._local.connection = connection
            with self._lock:
                self._all.append(connection)
        return connection

    def _drop_connection(self) -> None:
        # After a transport error pycurl's multi handle may keep the failed easy handle;
        # a fresh connection is the reliable way back.
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._lock:
                if connection in self._all:
                    self._all.remove(connection)
            try:
                connection.close(logout=False)
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                pass

    def correlation_id(self) -> str:
        return f"{self._prefix}-{uuid.uuid4().hex[:12]}"

    def _call(
        self,
        what: str,
        operation: Callable[[sdk.Connection, dict[str, Any]], T],
        correlation_id: str | None = None,
    ) -> T:
        query = {"correlation_id": correlation_id or self.correlation_id()}
        self.calls += 1
        try:
            return operation(self._connection().system_service(), query)
        except sdk.Error as error:
            translated = translate(error, what, self.config.url)
            if getattr(error, "code", None) is None:
                self._drop_connection()
            raise translated from None

    def close(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
        for connection in connections:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - logout on a dead engine must not mask the exit
                pass
        self._local = threading.local()
        self._parser.close()

    # ------------------------------------------------------------------ reads
    def info(self) -> EngineInfo:
        api = self._call("read the engine's version", lambda s, q: s.get(query=q))
        product = api.product_info
        version = product.version if product is not None else None
        return EngineInfo(
            product=(product.name if product is not None else "") or "oVirt",
            version=(version.full_version if version is not None else "") or "",
        )

    def list_templates(self, search: str | None = None) -> list[Template]:
        found = self._call(
            "list templates",
            lambda s, q: s.templates_service().list(search=search, follow=TEMPLATE_FOLLOW, query=q),
        )
        templates = [convert.template(t) for t in found if t.name and t.name != "Blank"]
        self._template_names.update({t.id: t.name for t in templates})
        return templates

    def _names(self) -> None:
        if not self._cluster_names:
            self.clusters()

    def remember_names(self, clusters: dict[str, str], templates: dict[str, str]) -> None:
        """Cluster and template names by id, as an earlier read (a job's preflight) saw them:
        a VM read needs them to show its cluster, and need not list clusters again for it."""
        self._cluster_names.update(
            {k: v for k, v in clusters.items() if k not in self._cluster_names}
        )
        self._template_names.update(
            {k: v for k, v in templates.items() if k not in self._template_names}
        )

    def known_names(self) -> tuple[dict[str, str], dict[str, str]]:
        """(cluster names, template names) by id, as far as this engine has read them."""
        return dict(self._cluster_names), dict(self._template_names)

    def _vm(self, sdk_vm: types.Vm) -> Vm:
        return convert.vm(
            sdk_vm, cluster_names=self._cluster_names, template_names=self._template_names
        )

    def list_vms(self, search: str | None = None, *, max_results: int | None = None) -> list[Vm]:
        """All VMs matching `search`, with IPs, disks, stats and tags: one API call."""
        self._names()
        found = self._call(
            "list VMs",
            lambda s, q: s.vms_service().list(
                search=search, follow=VM_FOLLOW, max=max_results, query=q
            ),
        )
        return [self._vm(v) for v in found]

    def find_vm(self, name: str, *, correlation_id: str | None = None) -> Vm | None:
        """The VM named exactly `name`, or None."""
        self._names()
        found = self._call(
            f"look up VM {name}",
            lambda s, q: s.vms_service().list(
                search=f"name={_quote(name)}", follow=VM_FOLLOW, query=q
            ),
            correlation_id,
        )
        exact = [v for v in found if v.name == name]
        return self._vm(exact[0]) if exact else None

    def get_vm(self, vm_id: str, *, detail: bool = True, correlation_id: str | None = None) -> Vm:
        self._names()
        found = self._call(
            f"read VM {vm_id}",
            lambda s, q: (
                s.vms_service().vm_service(vm_id).get(follow=VM_FOLLOW if detail else None, query=q)
            ),
            correlation_id,
        )
        return self._vm(found)

    def clusters(self) -> list[Cluster]:
        clusters = self._call("list clusters", lambda s, q: s.clusters_service().list(query=q))
        hosts = self._call("list hosts", lambda s, q: s.hosts_service().list(query=q))
        result = [convert.cluster(c, hosts) for c in clusters]
        self._cluster_names.update({c.id: c.name for c in result})
        return result

    def cluster_free_memory_mib(self, cluster: str) -> int | None:
        """Free memory of a cluster whose hosts do not report max_scheduling_memory:
        the hosts' memory minus what its running VMs have (two list calls)."""
        hosts = self._call(
            "list hosts",
            lambda s, q: s.hosts_service().list(search=f"cluster={_quote(cluster)}", query=q),
        )
        total = sum(int(h.memory or 0) for h in hosts)
        if not total:
            return None
        running = self._call(
            "list running VMs",
            lambda s, q: s.vms_service().list(
                search=f"cluster={_quote(cluster)} and status=up", query=q
            ),
        )
        used = sum(int(v.memory or 0) for v in running)
        return max(0, total - used) // MiB

    def storage_domains(self) -> list[StorageDomain]:
        found = self._call(
            "list storage domains", lambda s, q: s.storage_domains_service().list(query=q)
        )
        return [convert.storage_domain(d) for d in found]

    def vm_disks(self, vm_id: str, *, correlation_id: str | None = None) -> tuple[Disk, ...]:
        attachments = self._call(
            f"list the disks of VM {vm_id}",
            lambda s, q: (
                s.vms_service()
                .vm_service(vm_id)
                .disk_attachments_service()
                .list(follow="disk", query=q)
            ),
            correlation_id,
        )
        return convert._disks(attachments)

    def get_disk(self, disk_id: str, *, correlation_id: str | None = None) -> Disk:
        found = self._call(
            f"read disk {disk_id}",
            lambda s, q: s.disks_service().disk_service(disk_id).get(query=q),
            correlation_id,
        )
        return convert.disk(found)

    # ------------------------------------------------------------ live views
    # The VMs view lists once, then follows the event stream; see console/flow/vm_watch.py.
    def newest_event_index(self) -> int:
        """The index of the engine's newest event (0 when it has none): one small call."""
        found = self._call(
            "read the newest event", lambda s, q: s.events_service().list(max=1, query=q)
        )
        return max((int(e.index or e.id or 0) for e in found), default=0)

    def vm_events_since(self, index: int, *, limit: int = 500) -> rows.EventBatch:
        """Events after `index` (at most `limit`, newest first on the wire), those naming a
        VM kept as small records; `overflow` says the engine had more than `limit`."""
        found = self._call(
            "read the engine's events",
            lambda s, q: s.events_service().list(from_=index, max=limit, query=q),
        )
        return rows.event_batch(found, index, limit)

    def vm_rows(
        self, search: str | None = None, *, page: int | None = None, per_page: int | None = None
    ) -> list[rows.VmRow]:
        """VMs matching `search` as list rows, without statistics nor disk sizes; `page`
        (from 1) of `per_page` VMs sorted by name when given."""
        self._names()
        return self._parse_rows(self._vms_body(search, page, per_page))

    def vm_row_pages(
        self, search: str | None, *, per_page: int, first: int | None = None
    ) -> Iterator[list[rows.VmRow]]:
        """Every VM matching `search` as list rows (as `vm_rows`), a page at a time by
        name: `first` VMs first when given, then pages of `per_page` from the start, until
        one comes short. Each page is parsed while the next is fetched (console/ovirt/listing.py)."""
        self._names()
        return listing.pages(
            lambda page, size: self._vms_body(search, page, size),
            self._parse_rows,
            slim.looks_full,
            per_page=per_page,
            first=first,
        )

    def _vms_body(self, search: str | None, page: int | None, per_page: int | None) -> bytes:
        if page is not None:
            search = f"{search or ''} sortby name asc page {page}".strip()
        query = {"search": search, "max": per_page}
        return self._call("list VMs", lambda s, q: _get_raw(s.vms_service(), query, q))

    def _parse_rows(self, body: bytes) -> list[rows.VmRow]:
        # Read straight into rows (console/ovirt/slim.py): no SDK objects for thousands of VMs.
        return self._parser.vm_rows(
            body, cluster_names=self._cluster_names, template_names=self._template_names
        )

    def vm_rows_with_stats(
        self, vm_ids: list[str], at: datetime
    ) -> tuple[list[rows.VmRow], dict[str, rows.VmStats]]:
        """These VMs (by id), with statistics and guest IPs: one call however many."""
        self._names()
        found = self._call(
            f"read {len(vm_ids)} VMs",
            lambda s, q: s.vms_service().list(
                search=rows.ids_search(vm_ids), follow=rows.STATS_FOLLOW, query=q
            ),
        )
        vms = [self._vm(v) for v in found]
        return [rows.row_of(vm) for vm in vms], {vm.id: rows.stats_of(vm, at) for vm in vms}

    # ------------------------------------------------------------------ changes
    def clone_vm(
        self,
        name: str,
        *,
        template_id: str,
        cluster: str,
        description: str = "",
        comment: str = "",
        storage_domain: str | None = None,
        cpus: int | None = None,
        memory_mib: int | None = None,
        guaranteed_mib: int | None = None,
        max_memory_mib: int | None = None,
        initialization: Initialization | None = None,
        correlation_id: str | None = None,
    ) -> Vm:
        """Create `name` as a full (independent) copy of the template; it starts image_locked.
        With `storage_domain`, every disk is copied there (one more call: the template's
        disks, each named by id in the request, as the API asks).

        What is given of CPU, memory, memory policy and initialization replaces the
        template's in the same call: AddVmFromTemplate takes the VM's static data from the
        body over the template's, and stores its initialization (AddVmCommand.addVmInit).
        The disk keeps the template's size: growing it is a separate call once unlocked."""
        spec = _vm_spec(cpus, memory_mib, guaranteed_mib, max_memory_mib, initialization)
        spec.name = name
        spec.description = description
        spec.comment = comment
        spec.cluster = types.Cluster(name=cluster)
        spec.template = types.Template(id=template_id)
        if storage_domain:
            attachments = self._call(
                f"list the disks of template {template_id}",
                lambda s, q: (
                    s.templates_service()
                    .template_service(template_id)
                    .disk_attachments_service()
                    .list(query=q)
                ),
                correlation_id,
            )
            spec.disk_attachments = [
                types.DiskAttachment(
                    disk=types.Disk(
                        id=a.disk.id if a.disk is not None else a.id,
                        storage_domains=[types.StorageDomain(name=storage_domain)],
                    )
                )
                for a in attachments
            ]
        created = self._call(
            f"create VM {name}",
            lambda s, q: s.vms_service().add(spec, clone=True, query=q),
            correlation_id,
        )
        self._names()
        return self._vm(created)

    def update_vm(
        self,
        vm_id: str,
        *,
        cpus: int | None = None,
        memory_mib: int | None = None,
        guaranteed_mib: int | None = None,
        max_memory_mib: int | None = None,
        initialization: Initialization | None = None,
        name: str | None = None,
        comment: str | None = None,
        description: str | None = None,
        correlation_id: str | None = None,
    ) -> Vm:
        spec = _vm_spec(cpus, memory_mib, guaranteed_mib, max_memory_mib, initialization)
        # name, comment and description travel in the same PUT: a rename and its new
        # marks land together or not at all (a warm-pool take relies on it).
        spec.name, spec.comment, spec.description = name, comment, description
        updated = self._call(
            f"update VM {vm_id}",
            lambda s, q: s.vms_service().vm_service(vm_id).update(spec, query=q),
            correlation_id,
        )
        self._names()
        return self._vm(updated)

    def extend_disk(
        self, vm_id: str, disk_id: str, size_gib: int, *, correlation_id: str | None = None
    ) -> None:
        attachment = types.DiskAttachment(disk=types.Disk(provisioned_size=size_gib * GiB))
        self._call(
            f"extend disk {disk_id} to {size_gib} GiB",
            lambda s, q: (
                s.vms_service()
                .vm_service(vm_id)
                .disk_attachments_service()
                .attachment_service(disk_id)
                .update(attachment, query=q)
            ),
            correlation_id,
        )

    def start_vm(
        self,
        vm_id: str,
        initialization: Initialization | None = None,
        *,
        correlation_id: str | None = None,
    ) -> None:
        """Boot the VM; with `initialization`, run cloud-init or sysprep with it this once."""
        options: dict[str, Any] = {}
        if initialization is not None:
            options["vm"] = types.Vm(initialization=_initialization(initialization))
            if initialization.kind == "sysprep":
                options["use_sysprep"] = True
            else:
                options["use_cloud_init"] = True
        self._call(
            f"start VM {vm_id}",
            lambda s, q: s.vms_service().vm_service(vm_id).start(query=q, **options),
            correlation_id,
        )

    def stop_vm(self, vm_id: str, *, correlation_id: str | None = None) -> None:
        self._call(
            f"stop VM {vm_id}",
            lambda s, q: s.vms_service().vm_service(vm_id).stop(query=q),
            correlation_id,
        )

    def remove_vm(self, vm_id: str, *, correlation_id: str | None = None) -> None:
        self._call(
            f"remove VM {vm_id}",
            lambda s, q: s.vms_service().vm_service(vm_id).remove(query=q),
            correlation_id,
        )

    def tag_vm(
        self,
        vm_id: str,
        tag_name: str,
        *,
        description: str = "",
        tag_is_new: bool = False,
        correlation_id: str | None = None,
    ) -> None:
        """Attach tag `tag_name` to the VM, creating the tag when the engine lacks it.

        `tag_is_new`: the tag most likely does not exist yet (one tag per order), so it is
        created first (a name in use is fine) and attached: two calls, where attaching first
        would cost three."""
        if not tag_is_new:
            try:
                self._attach_tag(vm_id, tag_name, correlation_id)
                return
            except EngineNotFound:
                pass
        try:
            self._call(
                f"create tag {tag_name}",
                lambda s, q: s.tags_service().add(
                    types.Tag(name=tag_name, description=description), query=q
                ),
                correlation_id,
            )
        except EngineRejected as error:
            if error.status != 409:  # "The specified Tag name already exists.": attach it
                raise
        self._attach_tag(vm_id, tag_name, correlation_id)

    def _attach_tag(self, vm_id: str, tag_name: str, correlation_id: str | None) -> None:
        self._call(
            f"tag VM {vm_id} with {tag_name}",
            lambda s, q: (
                s.vms_service()
                .vm_service(vm_id)
                .tags_service()
                .add(types.Tag(name=tag_name), query=q)
            ),
            correlation_id,
        )

    # ------------------------------------------------------------ template upkeep
    # Template refresh and retention (console/flow/upkeep): versions made from a build VM,
    # their state, and their removal.
    def get_template(self, template_id: str, *, correlation_id: str | None = None) -> Template:
        found = self._call(
            f"read template {template_id}",
            lambda s, q: (
                s.templates_service()
                .template_service(template_id)
                .get(follow=TEMPLATE_FOLLOW, query=q)
            ),
            correlation_id,
        )
        return convert.template(found)

    def create_template_version(
        self,
        vm_id: str,
        *,
        name: str,
        base_template_id: str,
        version_name: str,
        description: str = "",
        seal: bool = False,
        correlation_id: str | None = None,
    ) -> Template:
        """A new sub-version of `base_template_id` made from the (down) VM; it starts locked.
        `seal` has the engine run virt-sysprep on the copy (Linux only: the engine refuses
        it for Windows, which seals itself with sysprep before powering off)."""
        spec = types.Template(
            name=name,
            description=description or None,
            vm=types.Vm(id=vm_id),
            version=types.TemplateVersion(
                base_template=types.Template(id=base_template_id), version_name=version_name
            ),
        )
        created = self._call(
            f"create version {version_name} of template {name}",
            lambda s, q: s.templates_service().add(spec, seal=seal, query=q),
            correlation_id,
        )
        return convert.template(created)

    def remove_template(self, template_id: str, *, correlation_id: str | None = None) -> None:
        self._call(
            f"remove template {template_id}",
            lambda s, q: s.templates_service().template_service(template_id).remove(query=q),
            correlation_id,
        )

    def vm_start_time(self, vm_id: str, *, correlation_id: str | None = None) -> datetime | None:
        """When the VM was last started (None: never); tells a build VM that already ran
        its first-boot script from one that was never started."""
        found = self._call(
            f"read VM {vm_id}",
            lambda s, q: s.vms_service().vm_service(vm_id).get(query=q),
            correlation_id,
        )
        start_time: datetime | None = found.start_time  # the SDK's types are untyped
        return start_time


def _vm_spec(
    cpus: int | None,
    memory_mib: int | None,
    guaranteed_mib: int | None,
    max_memory_mib: int | None,
    initialization: Initialization | None,
) -> types.Vm:
    spec = types.Vm()
    if cpus is not None:
        # Sockets, not cores: sockets are what can be hot-plugged later.
        spec.cpu = types.Cpu(topology=types.CpuTopology(sockets=cpus, cores=1, threads=1))
    if memory_mib is not None:
        spec.memory = memory_mib * MiB
    if guaranteed_mib is not None or max_memory_mib is not None:
        spec.memory_policy = types.MemoryPolicy(
            guaranteed=guaranteed_mib * MiB if guaranteed_mib is not None else None,
            max=max_memory_mib * MiB if max_memory_mib is not None else None,
        )
    if initialization is not None:
        spec.initialization = _initialization(initialization)
    return spec


def _initialization(init: Initialization) -> types.Initialization:
    return types.Initialization(
        host_name=init.host_name,
        user_name=init.user_name,
        root_password=init.root_password,
        authorized_ssh_keys="\n".join(init.authorized_ssh_keys) or None,
        custom_script=init.custom_script,
        windows_license_key=init.windows_license_key,
        timezone=init.timezone,
    )


def _get_raw(service: Any, params: Mapping[str, object], query: dict[str, Any]) -> bytes:
    """A collection's GET as the SDK sends it (its Connection: auth, TLS, headers, a new
    token on 401), but the XML body itself rather than SDK objects read from it.
    A fault is raised exactly as the SDK raises it."""
    for name, value in params.items():
        if value is not None:
            query[name] = str(value)
    connection = service._connection
    response = connection.wait(
        connection.send(http.Request(method="GET", path=service._path, query=query))
    )
    if response.code != 200:
        service._check_fault(response)
    if not response.body:
        service._raise_error(response)
    connection.check_xml_content_type(response)
    body: bytes = response.body
    return body
