"""The engine's behaviour: inventory, validations with the engine's messages, lifecycles, events, jobs.

Every public method takes the world lock; scheduled lifecycle steps run under it
too (see clock.py). Methods raise :class:`EngineFault` exactly where the engine
would refuse.
"""

from __future__ import annotations

import fnmatch
import random
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ovirtsdk4 import types

from . import faults as msg
from .clock import Scheduler, utcnow
from .copy_log import CopyLog
from .disk_ops import DiskOps
from .faults import EngineFault, backend_failed, incomplete, not_found
from .model import (
    USER,
    Cluster,
    Disk,
    Event,
    GiB,
    GuestBehaviour,
    Job,
    Network,
    Nic,
    Snapshot,
    StorageDomain,
    Tag,
    Template,
    Vm,
    VnicProfile,
)
from .net_ops import NetOps
from .power import PowerOps
from .seed import populate, stable_id
from .snapshot_ops import SnapshotOps
from .template_ops import TemplateOps
from .vm_ops import VmOps

SEVERITY_ORDER = {"normal": 0, "warning": 1, "error": 2, "alert": 3}


class World(VmOps, PowerOps, DiskOps, NetOps, SnapshotOps, TemplateOps):
    def __init__(self, time_scale: float = 1.0, vms: int = 300, seed: int = 1) -> None:
        self.lock = threading.RLock()
        self.scheduler = Scheduler(time_scale)
        self.rng = random.Random(seed)
        self.datacenters: dict[str, Any] = {}
        self.clusters: dict[str, Cluster] = {}
        self.hosts: dict[str, Any] = {}
        self.storage_domains: dict[str, StorageDomain] = {}
        self.templates: dict[str, Template] = {}
        self.disks: dict[str, Disk] = {}
        self.nics: dict[str, Nic] = {}
        self.networks: dict[str, Network] = {}
        self.vnic_profiles: dict[str, VnicProfile] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.vms: dict[str, Vm] = {}
        self.vm_ids_by_name: dict[str, str] = {}
        self.tags: dict[str, Tag] = {}
        self.events: list[Event] = []
        self.jobs: dict[str, Job] = {}
        self.guest_rules: list[tuple[str, GuestBehaviour]] = []
        self.full_domains: set[str] = set()
        self.copy_log = CopyLog()  # full copies per storage domain (images locked)
        self._mac_counter = 0
        self._ip_counter = 0
        self._event_index = 1000
        self.instance_id = self.new_id()
        populate(self, vms)

    # ----------------------------------------------------------------- helpers
    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def new_mac(self) -> str:
        # oVirt's default MAC pool starts at 56:6f:xx.
        self._mac_counter += 1
        n = self._mac_counter
        return f"56:6f:{(n >> 24) & 0xFF:02x}:{(n >> 16) & 0xFF:02x}:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}"

    def _new_ip(self) -> str:
        self._ip_counter += 1
        n = self._ip_counter
        return f"10.200.{n // 250 % 250}.{n % 250 + 2}"

    def add_vm_record(self, vm: Vm) -> None:
        self.vms[vm.id] = vm
        self.vm_ids_by_name[vm.name] = vm.id

    def add_active_snapshot(self, vm: Vm) -> Snapshot:
        """Every VM has the "Active VM" snapshot: its current configuration and disk images."""
        snapshot = Snapshot(
            stable_id("active-snapshot", vm.id), vm.id, "Active VM", vm.creation_time, type="active"
        )
        self.snapshots[snapshot.id] = snapshot
        vm.active_snapshot_id = snapshot.id
        return snapshot

    def run_due(self) -> None:
        with self.lock:
            self.scheduler.run_due()

    def _later(self, vm: Vm, seconds: float, step: Callable[[], None]) -> None:
        """Schedule a VM step that is skipped if the VM changed state (or vanished) meanwhile."""
        generation = vm.generation

        def guarded() -> None:
            if self.vms.get(vm.id) is vm and vm.generation == generation:
                step()

        self.scheduler.after(seconds, guarded)

    def _set_status(self, vm: Vm, status: str) -> None:
        vm.status = status
        vm.generation += 1

    def emit(
        self,
        code: int,
        description: str,
        severity: str = "normal",
        correlation_id: str | None = None,
        vm: Vm | None = None,
        **refs: Any,
    ) -> Event:
        self._event_index += 1
        event = Event(
            self._event_index,
            code,
            description,
            severity,
            utcnow(),
            correlation_id,
            user_name=USER,
            **refs,
        )
        if vm is not None:
            event.vm_id, event.vm_name, event.cluster_id = vm.id, vm.name, vm.cluster_id
            event.host_id = event.host_id or vm.host_id
            event.data_center_id = self.clusters[vm.cluster_id].data_center_id
        self.events.append(event)
        return event

    def session_event(self, logged_in: bool, session_id: str, source_ip: str) -> None:
        """CreateUserSessionCommand / LogoutSessionCommand audit lines (the SSO token's engine session)."""
        with self.lock:
            if logged_in:
                self.emit(
                    30,
                    f"User {USER} connecting from '{source_ip}' using session '{session_id}' logged in.",
                )
            else:
                self.emit(
                    31,
                    f"User {USER} connected from '{source_ip}' using session '{session_id}' logged out.",
                )

    def start_job(self, description: str, correlation_id: str | None) -> Job:
        now = utcnow()
        job = Job(self.new_id(), description, now, last_updated=now, correlation_id=correlation_id)
        self.jobs[job.id] = job
        return job

    @staticmethod
    def end_job(job: Job, status: str = "finished") -> None:
        job.status = status
        job.end_time = job.last_updated = utcnow()

    def guest_behaviour(self, vm_name: str) -> GuestBehaviour:
        chosen = GuestBehaviour()
        for pattern, behaviour in self.guest_rules:
            if fnmatch.fnmatchcase(vm_name, pattern):
                chosen = behaviour
        return chosen

    # ----------------------------------------------------------------- lookups
    def get_vm(self, vm_id: str) -> Vm:
        vm = self.vms.get(vm_id)
        if vm is None:
            raise EngineFault(404, None)
        return vm

    def get(self, table: dict[str, Any], entity_id: str) -> Any:
        """A record by id, or the REST layer's bare 404."""
        record = table.get(entity_id)
        if record is None:
            raise EngineFault(404, None)
        return record

    def vm_by_name(self, name: str) -> Vm | None:
        vm_id = self.vm_ids_by_name.get(name)
        return self.vms.get(vm_id) if vm_id else None

    def _resolve_cluster(self, ref: types.Cluster | None) -> Cluster:
        if ref.id:
            cluster = self.clusters.get(ref.id)
            if cluster is None:
                raise not_found(f"Cluster: id={ref.id}")
            return cluster
        for cluster in self.clusters.values():
            if cluster.name == ref.name:
                return cluster
        raise not_found(f"Cluster: name={ref.name}")

    def _resolve_template(self, ref: types.Template, cluster: Cluster) -> Template:
        if ref.id:
            template = self.templates.get(ref.id)
            if template is None:
                raise not_found("GetVmTemplate")
            return template
        # By name: the latest version in the cluster's data center.
        candidates = [
            t
            for t in self.templates.values()
            if t.name == ref.name
            and (
                t.cluster_id is None
                or self.clusters[t.cluster_id].data_center_id == cluster.data_center_id
            )
        ]
        if not candidates:
            raise not_found("GetVmTemplate")
        return max(candidates, key=lambda t: t.version_number)

    def resolve(self, table: dict[str, Any], ref: Any, kind: str, name_attr: str = "name") -> Any:
        """The record a reference names by id or by name; the REST layer's 404 otherwise."""
        if ref.id:
            record = table.get(ref.id)
            if record is None:
                raise not_found(f"{kind}: id={ref.id}")
            return record
        name = getattr(ref, name_attr, None) if name_attr != "name" else ref.name
        for record in table.values():
            if getattr(record, name_attr) == name:
                return record
        raise not_found(f"{kind}: name={name}")

    def _resolve_tag(self, ref: types.Tag) -> Tag:
        if ref.id:
            tag = self.tags.get(ref.id)
            if tag is None:
                raise not_found(ref.id)
            return tag
        for tag in self.tags.values():
            if tag.name == ref.name:
                return tag
        raise not_found(ref.name)

    # ------------------------------------------------------------------- tags
    def add_tag(self, spec: types.Tag) -> Tag:
        with self.lock:
            if not spec.name:
                raise incomplete("Tag", ["name"], "add")
            if any(t.name == spec.name for t in self.tags.values()):
                raise backend_failed(409, msg.TAG_NAME_IN_USE)
            parent_id = self._resolve_tag(spec.parent).id if spec.parent is not None else None
            tag = Tag(self.new_id(), spec.name, spec.description or "", parent_id)
            self.tags[tag.id] = tag
            return tag

    def remove_tag(self, tag_id: str) -> None:
        with self.lock:
            if tag_id not in self.tags:
                raise EngineFault(404, None)
            del self.tags[tag_id]
            for vm in self.vms.values():
                if tag_id in vm.tag_ids:
                    vm.tag_ids.remove(tag_id)

    def assign_tag(self, vm_id: str, ref: types.Tag, correlation_id: str | None) -> Tag:
        with self.lock:
            vm = self.get_vm(vm_id)
            if not (ref.id or ref.name):
                raise incomplete("Tag", ["id|name"], "add")
            tag = self._resolve_tag(ref)
            if tag.id not in vm.tag_ids:
                vm.tag_ids.append(tag.id)
                self.emit(
                    440,
                    f"Tag {tag.name} was attached to VM(s) {vm.name} by {USER}.",
                    correlation_id=correlation_id,
                    vm=vm,
                )
            return tag

    def unassign_tag(self, vm_id: str, tag_id: str, correlation_id: str | None) -> None:
        with self.lock:
            vm = self.get_vm(vm_id)
            if tag_id not in vm.tag_ids:
                raise EngineFault(404, None)
            vm.tag_ids.remove(tag_id)
            self.emit(
                446,
                f"Tag {self.tags[tag_id].name} was detached from VM(s) {vm.name} by {USER}.",
                correlation_id=correlation_id,
                vm=vm,
            )

    # ------------------------------------------------------- scenario helpers
    def fill_storage_domain(self, name: str) -> StorageDomain:
        with self.lock:
            sd = next((s for s in self.storage_domains.values() if s.name == name), None)
            if sd is None:
                raise KeyError(f"no storage domain named {name!r}")
            self.full_domains.add(sd.id)
            sd.used = max(sd.used, sd.total - 1 * GiB // 2)
            self.emit(
                201,
                f"Critical, Low disk space. {sd.name} domain has 0 GB of free space.",
                "error",
                storage_domain_id=sd.id,
                data_center_id=sd.data_center_id,
            )
            return sd

    def vm_snapshot(self, name: str) -> dict[str, Any]:
        with self.lock:
            self.scheduler.run_due()
            vm = self.vm_by_name(name)
            if vm is None:
                raise KeyError(f"no VM named {name!r}")
            return {
                "id": vm.id,
                "name": vm.name,
                "status": vm.status,
                "cluster": self.clusters[vm.cluster_id].name,
                "template_id": vm.template_id,
                "template": self.templates[vm.template_id].name,
                "template_version": self.templates[vm.template_id].version_number,
                "memory": vm.memory,
                "memory_guaranteed": vm.memory_guaranteed,
                "memory_max": vm.memory_max,
                "sockets": vm.sockets,
                "cores": vm.cores,
                "threads": vm.threads,
                "description": vm.description,
                "comment": vm.comment,
                "host": self.hosts[vm.host_id].name if vm.host_id else None,
                "ips": list(vm.ips),
                "fqdn": vm.fqdn,
                "next_run": dict(vm.next_run),
                "tags": [self.tags[t].name for t in vm.tag_ids],
                "disks": [
                    {
                        "id": d.id,
                        "alias": d.alias,
                        "provisioned_size": d.provisioned_size,
                        "actual_size": d.actual_size,
                        "status": d.status,
                        "storage_domain": self.storage_domains[d.storage_domain_id].name,
                    }
                    for d in (self.disks[i] for i in vm.disk_ids)
                ],
                "initialization": _init_dict(vm.initialization),
                "run_initialization": _init_dict(vm.run_once_initialization),
                "run_initialization_type": vm.run_once_type,
            }


def _init_dict(init: types.Initialization | None) -> dict[str, Any] | None:
    """Plain view of a stored initialization, real secrets included (Python API only)."""
    if init is None:
        return None
    fields = (
        "host_name",
        "root_password",
        "user_name",
        "authorized_ssh_keys",
        "custom_script",
        "domain",
        "dns_servers",
        "dns_search",
        "timezone",
        "windows_license_key",
        "org_name",
        "regenerate_ssh_keys",
        "input_locale",
        "system_locale",
        "user_locale",
        "ui_language",
        "active_directory_ou",
    )
    return {f: getattr(init, f) for f in fields if getattr(init, f) is not None}


def severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.get(severity, 0)


def isoformat(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
