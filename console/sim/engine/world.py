"""The engine's behaviour: inventory, validations with the engine's messages, lifecycles, events, jobs.

Every public method takes the world lock; scheduled lifecycle steps run under it
too (see clock.py). Methods raise :class:`EngineFault` exactly where the engine
would refuse.
"""

from __future__ import annotations

import copy
import fnmatch
import random
import threading
import uuid
from datetime import datetime
from typing import Any, Callable

from ovirtsdk4 import types

from . import faults as msg
from .clock import Scheduler, utcnow
from .faults import EngineFault, backend_failed, incomplete, not_found
from .model import (GiB, MiB, Cluster, Disk, Event, GuestBehaviour, Host, Job, Nic, StorageDomain, Tag,
                    Template, Vm)
from .seed import BLANK_ID, populate

USER = "admin@internal-authz"

# Simulated durations in seconds at time_scale 1.0.
CLONE_SECONDS_PER_GIB = 0.7  # full copy: a 40 GiB disk takes ~28 s
THIN_CREATE_SECONDS = 3.0
LAUNCH_SECONDS = 2.0
POWERING_UP_SECONDS = 12.0
IP_REPORT_SECONDS = 4.0
SHUTDOWN_SECONDS = 5.0
STOP_SECONDS = 1.0
REBOOT_SECONDS = 8.0
SUSPEND_SECONDS = 4.0
RESTORE_SECONDS = 4.0
EXTEND_SECONDS = 3.0
THIN_OVERLAY_BYTES = 1 * GiB

# VMStatus.isRunning() (common/businessentities/VMStatus.java).
JAVA_RUNNING = {"up", "powering_down", "powering_up", "migrating", "wait_for_launch", "reboot_in_progress"}
SEVERITY_ORDER = {"normal": 0, "warning": 1, "error": 2, "alert": 3}


class World:
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
        self.vms: dict[str, Vm] = {}
        self.vm_ids_by_name: dict[str, str] = {}
        self.tags: dict[str, Tag] = {}
        self.events: list[Event] = []
        self.jobs: dict[str, Job] = {}
        self.guest_rules: list[tuple[str, GuestBehaviour]] = []
        self.full_domains: set[str] = set()
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
        return f"56:6f:{(n >> 24) & 0xff:02x}:{(n >> 16) & 0xff:02x}:{(n >> 8) & 0xff:02x}:{n & 0xff:02x}"

    def _new_ip(self) -> str:
        self._ip_counter += 1
        n = self._ip_counter
        return f"10.200.{n // 250 % 250}.{n % 250 + 2}"

    def add_vm_record(self, vm: Vm) -> None:
        self.vms[vm.id] = vm
        self.vm_ids_by_name[vm.name] = vm.id

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

    def emit(self, code: int, description: str, severity: str = "normal", correlation_id: str | None = None,
             vm: Vm | None = None, **refs: Any) -> Event:
        self._event_index += 1
        event = Event(self._event_index, code, description, severity, utcnow(), correlation_id, user_name=USER, **refs)
        if vm is not None:
            event.vm_id, event.vm_name, event.cluster_id = vm.id, vm.name, vm.cluster_id
            event.host_id = event.host_id or vm.host_id
            event.data_center_id = self.clusters[vm.cluster_id].data_center_id
        self.events.append(event)
        return event

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
        candidates = [t for t in self.templates.values() if t.name == ref.name and
                      (t.cluster_id is None or self.clusters[t.cluster_id].data_center_id == cluster.data_center_id)]
        if not candidates:
            raise not_found("GetVmTemplate")
        return max(candidates, key=lambda t: t.version_number)

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

    # --------------------------------------------------------------- add a VM
    def add_vm(self, spec: types.Vm, clone: bool, correlation_id: str | None) -> Vm:
        with self.lock:
            missing = []
            if not spec.name:
                missing.append("name")
            if spec.cluster is None or not (spec.cluster.id or spec.cluster.name):
                missing.append("cluster.id|name")
            if spec.template is None or not (spec.template.id or spec.template.name):
                missing.append("template.id|name")
            if missing:
                raise incomplete("Vm", missing, "add")
            cluster = self._resolve_cluster(spec.cluster)
            template = self._resolve_template(spec.template, cluster)
            if spec.name in self.vm_ids_by_name:
                raise backend_failed(409, msg.NAME_IN_USE.format(action="add"))

            memory = spec.memory or template.memory
            policy = spec.memory_policy
            guaranteed = policy.guaranteed if policy and policy.guaranteed is not None else memory
            maximum = policy.max if policy and policy.max is not None else 4 * memory
            self._check_memory("add", memory, guaranteed, maximum)
            topology = spec.cpu.topology if spec.cpu and spec.cpu.topology else None
            sockets = topology.sockets if topology and topology.sockets else template.sockets
            cores = topology.cores if topology and topology.cores else template.cores
            threads = topology.threads if topology and topology.threads else template.threads

            # Where each disk goes: the template disk's domain unless the body names one.
            targets = {d: self.disks[d].storage_domain_id for d in template.disk_ids}
            for attachment in spec.disk_attachments or []:
                disk_ref = attachment.disk
                if disk_ref and disk_ref.id in targets and disk_ref.storage_domains:
                    sd_ref = disk_ref.storage_domains[0]
                    sd = self.storage_domains.get(sd_ref.id) or next(
                        (s for s in self.storage_domains.values() if s.name == sd_ref.name), None)
                    if sd is None:
                        raise not_found(f"StorageDomain: id={sd_ref.id}" if sd_ref.id else f"StorageDomain: name={sd_ref.name}")
                    targets[disk_ref.id] = sd.id
            needs: dict[str, int] = {}
            for disk_id, sd_id in targets.items():
                source = self.disks[disk_id]
                needs[sd_id] = needs.get(sd_id, 0) + (source.actual_size if clone else THIN_OVERLAY_BYTES)
            for sd_id, need in needs.items():
                sd = self.storage_domains[sd_id]
                if sd.id in self.full_domains or sd.available < need:
                    raise backend_failed(409, msg.LOW_DISK_SPACE.format(action="add", type="VM", domain=sd.name))

            vm = Vm(self.new_id(), spec.name, cluster.id, template.id, template.os_type, memory, guaranteed,
                    maximum, sockets, cores, threads, utcnow(), status="image_locked",
                    description=spec.description or "", comment=spec.comment or "",
                    initialization=copy.copy(spec.initialization) if spec.initialization else None,
                    use_latest_template_version=bool(spec.use_latest_template_version))
            total_size = 0
            for n, (disk_id, sd_id) in enumerate(targets.items(), start=1):
                source = self.disks[disk_id]
                disk = Disk(self.new_id(), f"{vm.name}_Disk{n}", source.provisioned_size,
                            source.actual_size if clone else THIN_OVERLAY_BYTES, sd_id, status="locked",
                            vm_id=vm.id, format=source.format, sparse=source.sparse)
                self.disks[disk.id] = disk
                vm.disk_ids.append(disk.id)
                sd = self.storage_domains[sd_id]
                sd.used += disk.actual_size
                sd.committed += disk.provisioned_size
                total_size += source.provisioned_size
            if template.id != BLANK_ID:
                nic = Nic(self.new_id(), "nic1", self.new_mac(), vm.id)
                self.nics[nic.id] = nic
                vm.nic_ids.append(nic.id)
            self.add_vm_record(vm)

            cluster_name = cluster.name
            job = self.start_job(f"Creating VM {vm.name} from Template {template.name} in Cluster {cluster_name}"
                                 if clone else f"Creating VM {vm.name} in Cluster {cluster_name}", correlation_id)
            self.emit(37, f"VM {vm.name} creation was initiated by {USER}.", correlation_id=correlation_id, vm=vm,
                      template_id=template.id)
            seconds = (CLONE_SECONDS_PER_GIB * total_size / GiB) if clone else THIN_CREATE_SECONDS

            def finish() -> None:
                for disk_id in vm.disk_ids:
                    self.disks[disk_id].status = "ok"
                self._set_status(vm, "down")
                self.end_job(job)
                self.emit(53, f"VM {vm.name} creation has been completed.", correlation_id=correlation_id, vm=vm,
                          template_id=template.id)

            if vm.disk_ids:
                self._later(vm, seconds, finish)
            else:
                finish()
            return vm

    def _check_memory(self, action: str, memory: int, guaranteed: int, maximum: int) -> None:
        if guaranteed > memory:
            raise backend_failed(400, msg.GUARANTEED_OVER_MEMORY.format(action=action))
        if memory > maximum:
            raise backend_failed(409, msg.MEMORY_OVER_MAX.format(action=action, memory=memory // MiB, max=maximum // MiB))

    # ------------------------------------------------------------ update a VM
    HOT_FIELDS = ("memory", "sockets")  # applied live on a running VM

    def update_vm(self, vm_id: str, patch: types.Vm, next_run: bool, correlation_id: str | None) -> Vm:
        with self.lock:
            vm = self.get_vm(vm_id)
            if vm.status == "image_locked":
                raise backend_failed(409, msg.VM_LOCKED.format(action="edit"))
            config = self._effective_config(vm)
            wanted = dict(config)
            if patch.memory is not None:
                wanted["memory"] = patch.memory
            if patch.memory_policy is not None:
                if patch.memory_policy.guaranteed is not None:
                    wanted["memory_guaranteed"] = patch.memory_policy.guaranteed
                if patch.memory_policy.max is not None:
                    wanted["memory_max"] = patch.memory_policy.max
            topology = patch.cpu.topology if patch.cpu and patch.cpu.topology else None
            for name in ("sockets", "cores", "threads"):
                value = getattr(topology, name) if topology else None
                if value is not None:
                    wanted[name] = value
            if patch.name and patch.name != vm.name:
                if patch.name in self.vm_ids_by_name:
                    raise backend_failed(409, msg.NAME_IN_USE.format(action="edit"))
            self._check_memory("edit", wanted["memory"], wanted["memory_guaranteed"], wanted["memory_max"])

            changed = {k: v for k, v in wanted.items() if v != getattr(vm, k)}
            if vm.status == "down":
                for key, value in changed.items():
                    setattr(vm, key, value)
                vm.next_run.clear()
            else:
                for key, value in changed.items():
                    live = not next_run and key in self.HOT_FIELDS and value >= getattr(vm, key)
                    if live:
                        setattr(vm, key, value)
                        vm.next_run.pop(key, None)
                    else:
                        vm.next_run[key] = value
            if patch.name and patch.name != vm.name:
                del self.vm_ids_by_name[vm.name]
                vm.name = patch.name
                self.vm_ids_by_name[vm.name] = vm.id
            if patch.description is not None:
                vm.description = patch.description
            if patch.comment is not None:
                vm.comment = patch.comment
            if patch.initialization is not None:
                vm.initialization = copy.copy(patch.initialization)
            job = self.start_job(f"Editing VM {vm.name} properties", correlation_id)
            self.end_job(job)
            self.emit(35, f"VM {vm.name} configuration was updated by {USER}.", correlation_id=correlation_id, vm=vm)
            return vm

    CONFIG_FIELDS = ("memory", "memory_guaranteed", "memory_max", "sockets", "cores", "threads")

    def _effective_config(self, vm: Vm) -> dict[str, int]:
        """The configuration the VM will have on its next run."""
        config = {k: getattr(vm, k) for k in self.CONFIG_FIELDS}
        config.update(vm.next_run)
        return config

    def _apply_next_run(self, vm: Vm) -> None:
        for key, value in vm.next_run.items():
            setattr(vm, key, value)
        vm.next_run.clear()

    # ----------------------------------------------------------- disk extend
    def extend_disk(self, vm_id: str, disk_id: str, new_size: int | None, correlation_id: str | None) -> Disk:
        with self.lock:
            vm = self.get_vm(vm_id)
            if disk_id not in vm.disk_ids:
                raise EngineFault(404, None)
            disk = self.disks[disk_id]
            if new_size is None or new_size == disk.provisioned_size:
                return disk
            if disk.status == "locked":
                raise backend_failed(409, msg.DISKS_LOCKED.format(action="edit", type="Virtual Disk", aliases=disk.alias))
            if new_size < disk.provisioned_size:
                raise backend_failed(400, msg.DISK_SHRINK)
            sd = self.storage_domains[disk.storage_domain_id]
            grow = new_size - disk.provisioned_size
            if sd.id in self.full_domains or (not disk.sparse and sd.available < grow):
                raise backend_failed(409, msg.LOW_DISK_SPACE.format(action="edit", type="Virtual Disk", domain=sd.name))
            disk.status = "locked"
            old_gib = disk.provisioned_size // GiB
            disk.provisioned_size = new_size
            sd.committed += grow
            if not disk.sparse:
                sd.used += grow
                disk.actual_size = new_size

            def finish() -> None:
                if self.disks.get(disk.id) is disk:
                    disk.status = "ok"
                    self.emit(371, f"Size of the disk '{disk.alias}' was successfully updated to {new_size // GiB} GB "
                                   f"by {USER}.", correlation_id=correlation_id, vm=vm)

            self.scheduler.after(EXTEND_SECONDS + (new_size // GiB - old_gib) * 0.02, finish)
            return disk

    # ---------------------------------------------------------------- actions
    def host_free_memory(self, host: Host) -> int:
        """Bytes a host can still give a VM: its memory less what its running VMs have
        (the engine's max_scheduling_memory, without overcommit or reserved memory)."""
        used = sum(vm.memory for vm in self.vms.values()
                   if vm.host_id == host.id and vm.status in JAVA_RUNNING)
        return max(0, host.memory - used)

    def start(self, vm_id: str, action: types.Action, correlation_id: str | None) -> Job:
        with self.lock:
            vm = self.get_vm(vm_id)
            use_sysprep = action.use_sysprep is True
            use_cloud_init = action.use_cloud_init is True
            use_ignition = action.use_ignition is True
            if sum((use_sysprep, use_cloud_init, use_ignition)) > 1:
                raise EngineFault(409, msg.MIXED_INIT, bare=True)
            # RunVmValidator.canRunVm: vmNotLocked() before the ActionUtils status matrix; a failed
            # validation is also logged as USER_FAILED_RUN_VM (RunVmCommand.logValidationFailed).
            refusal = None
            if vm.status == "image_locked":
                refusal = msg.VM_LOCKED.format(action="run")
            elif vm.status not in ("down", "paused", "suspended"):
                refusal = msg.VM_STATUS_ILLEGAL.format(action="run", status=msg.LOCALIZED_STATUS[vm.status])
            if refusal is not None:
                self.emit(54, f"Failed to run VM {vm.name} due to a failed validation: [{refusal}] (User: {USER}).",
                          "error", correlation_id, vm=vm)
                raise backend_failed(409, refusal)
            if vm.status == "paused":
                return self._resume(vm, correlation_id)
            if vm.status == "suspended":
                return self._restore(vm, correlation_id)

            # SchedulingManager runs before anything of the VM changes: MemoryPolicyUnit keeps
            # the hosts that can still give the VM its memory.
            hosts = [h for h in self.hosts.values() if h.cluster_id == vm.cluster_id]
            free = {h.id: self.host_free_memory(h) for h in hosts}
            fitting = [h for h in hosts if free[h.id] >= vm.memory]
            if not fitting:
                refusal = [msg.NO_HOST_FITS.format(action="run", type="VM")] + [
                    msg.HOST_MEMORY_TOO_LOW.format(host=h.name, available=free[h.id] // MiB)
                    for h in sorted(hosts, key=lambda h: h.name)]
                self.emit(54, f"Failed to run VM {vm.name} due to a failed validation: "
                          f"[{', '.join(refusal)}] (User: {USER}).", "error", correlation_id, vm=vm)
                raise backend_failed(409, *refusal)
            run_once = action.vm.initialization if action.vm is not None else None
            explicit_off = action.use_cloud_init is False and action.use_sysprep is False
            if run_once is not None:
                init = run_once
            elif use_cloud_init or use_sysprep or use_ignition or (
                    not explicit_off and vm.start_time is None and vm.initialization is not None):
                init = vm.initialization  # stored initialization (used on first run when nothing is said)
            else:
                init = None
            vm.run_once_initialization = copy.copy(init) if init is not None else None
            if init is None:
                vm.run_once_type = None
            elif use_sysprep or (not use_cloud_init and vm.os_type.startswith("windows")):
                vm.run_once_type = "sysprep"
            else:
                vm.run_once_type = "cloud_init"

            vm.host_id = self.rng.choice(fitting).id
            host = self.hosts[vm.host_id]
            self._set_status(vm, "wait_for_launch")
            job = self.start_job(f"Launching VM {vm.name}", correlation_id)
            self.emit(153, f"VM {vm.name} was started by {USER} (Host: {host.name}).", correlation_id=correlation_id, vm=vm)
            behaviour = self.guest_behaviour(vm.name)

            def launched() -> None:
                if behaviour.fail_boot:
                    self._set_status(vm, "down")
                    vm.host_id = None
                    vm.stop_time = utcnow()
                    self.end_job(job, "failed")
                    # VM_DOWN_ERROR, then RunVmCommandBase.rerun() logs USER_INITIATED_RUN_VM_FAILED and,
                    # with no rerun left, runningFailed() logs USER_FAILED_RUN_VM (DueToError " ").
                    self.emit(119, f"VM {vm.name} is down with error. Exit message: internal error: "
                                   "process exited while connecting to monitor.", "error", correlation_id, vm=vm)
                    self.emit(151, f"Failed to run VM {vm.name} on Host {host.name}.", "warning", correlation_id,
                              vm=vm, host_id=host.id)
                    self.emit(54, f"Failed to run VM {vm.name}  (User: {USER}).", "error", correlation_id, vm=vm)
                    return
                self._set_status(vm, "powering_up")
                vm.start_time = utcnow()
                self.end_job(job)
                self._later(vm, POWERING_UP_SECONDS, up)

            def up() -> None:
                self._set_status(vm, "up")
                self.emit(32, f"VM {vm.name} started on Host {host.name}", correlation_id=correlation_id, vm=vm)
                self._schedule_guest_report(vm, behaviour)

            self._later(vm, LAUNCH_SECONDS, launched)
            return job

    def _schedule_guest_report(self, vm: Vm, behaviour: GuestBehaviour) -> None:
        if behaviour.never_ip:
            return

        def report() -> None:
            if not vm.ips:
                vm.ips = [self._new_ip()]
            init = vm.run_once_initialization or vm.initialization
            vm.fqdn = behaviour.hostname or (init.host_name if init is not None and init.host_name else vm.name)
            vm.cpu_usage, vm.memory_usage = 3.0, 25.0

        self._later(vm, IP_REPORT_SECONDS, report)

    def _resume(self, vm: Vm, correlation_id: str | None) -> Job:
        job = self.start_job(f"Launching VM {vm.name}", correlation_id)
        self._set_status(vm, "up")
        self.end_job(job)
        self.emit(40, f"VM {vm.name} was resumed by {USER} (Host: {self.hosts[vm.host_id].name}).",
                  correlation_id=correlation_id, vm=vm)
        return job

    def _restore(self, vm: Vm, correlation_id: str | None) -> Job:
        hosts = [h for h in self.hosts.values() if h.cluster_id == vm.cluster_id]
        vm.host_id = vm.host_id or self.rng.choice(hosts).id
        self._set_status(vm, "restoring_state")
        job = self.start_job(f"Launching VM {vm.name}", correlation_id)
        self.emit(153, f"VM {vm.name} was started by {USER} (Host: {self.hosts[vm.host_id].name}).",
                  correlation_id=correlation_id, vm=vm)

        def up() -> None:
            self._set_status(vm, "up")
            self.end_job(job)
            self._schedule_guest_report(vm, self.guest_behaviour(vm.name))

        self._later(vm, RESTORE_SECONDS, up)
        return job

    def _went_down(self, vm: Vm) -> None:
        self._set_status(vm, "down")
        vm.host_id = None
        vm.ips = []
        vm.fqdn = None
        vm.stop_time = utcnow()
        vm.cpu_usage = vm.memory_usage = 0.0
        vm.run_once_initialization = None
        self._apply_next_run(vm)

    def _check_stoppable(self, vm: Vm, action: str) -> None:
        """StopVmCommandBase.validate (shared by stop and shutdown)."""
        if vm.status in ("saving_state", "restoring_state"):
            raise backend_failed(409, msg.VM_SAVING_RESTORING.format(action=action))
        if vm.status not in JAVA_RUNNING | {"paused", "not_responding", "suspended"}:
            raise backend_failed(409, msg.VM_NOT_RUNNING.format(action=action))

    def _skip_down(self, vm: Vm, job_text: str, action_name: str, correlation_id: str | None) -> Job:
        """StopVmCommandBase.shouldSkipCommandExecution: a Down VM is left alone, the call succeeds."""
        job = self.start_job(job_text, correlation_id)
        self.end_job(job)
        self.emit(254, f"VM {vm.name} is already {msg.JAVA_STATUS['down']}, {action_name} was skipped. User: {USER}.",
                  correlation_id=correlation_id, vm=vm)
        return job

    def _clear_suspended(self, vm: Vm, job: Job, correlation_id: str | None) -> None:
        """StopVmCommandBase on a Suspended VM: the saved state is dropped, the VM is Down at once."""
        self.emit(111, f"Suspended VM {vm.name} has had its save state cleared by {USER}.",
                  correlation_id=correlation_id, vm=vm)
        self._went_down(vm)
        self.end_job(job)

    def _power_off(self, vm: Vm, job: Job) -> None:
        """DestroyVmVDSCommand (not graceful): no PoweringDown; the VM keeps its status until the
        monitoring sees it gone, then VmAnalyzer logs VM_DOWN with ExitMessage " " (power off)."""

        def down() -> None:
            self.emit(61, f"VM {vm.name} is down.  ", correlation_id=job.correlation_id, vm=vm)
            self._went_down(vm)
            self.end_job(job)

        self._later(vm, STOP_SECONDS, down)

    def stop(self, vm_id: str, correlation_id: str | None) -> Job:
        with self.lock:
            vm = self.get_vm(vm_id)
            if vm.status == "down":
                return self._skip_down(vm, f"Stopping VM {vm.name}", "Stop VM", correlation_id)
            self._check_stoppable(vm, "stop")
            job = self.start_job(f"Stopping VM {vm.name}", correlation_id)
            if vm.status == "suspended":
                self._clear_suspended(vm, job, correlation_id)
                return job
            host = self.hosts.get(vm.host_id)
            self.emit(33, f"VM {vm.name} powered off by {USER} (Host: {host.name if host else '<UNKNOWN>'}).",
                      correlation_id=correlation_id, vm=vm)
            self._power_off(vm, job)
            return job

    def shutdown(self, vm_id: str, correlation_id: str | None) -> Job:
        with self.lock:
            vm = self.get_vm(vm_id)
            if vm.status == "down":
                return self._skip_down(vm, f"Shutting down VM {vm.name}", "Shutdown VM", correlation_id)
            self._check_stoppable(vm, "shutdown")
            job = self.start_job(f"Shutting down VM {vm.name}", correlation_id)
            if vm.status == "suspended":
                self._clear_suspended(vm, job, correlation_id)
                return job
            host = self.hosts.get(vm.host_id)
            host_name = host.name if host else "<UNKNOWN>"
            if vm.status != "up":
                # ShutdownVmCommand.canShutdownVm() is false: it runs StopVm (CANNOT_SHUTDOWN) instead.
                self.emit(76, f"VM {vm.name} was powered off ungracefully by {USER} (Host: {host_name}).",
                          correlation_id=correlation_id, vm=vm)
                self._power_off(vm, job)
                return job
            self.emit(73, f"VM shutdown initiated by {USER} on VM {vm.name} (Host: {host_name}).",
                      correlation_id=correlation_id, vm=vm)
            # Graceful DestroyVm: DestroyVmVDSCommand.changeStatus -> PoweringDown.
            self._set_status(vm, "powering_down")
            self.end_job(job)

            def down() -> None:
                self.emit(61, f"VM {vm.name} is down. Exit message: User shut down from within the guest",
                          correlation_id=correlation_id, vm=vm)
                self._went_down(vm)

            self._later(vm, SHUTDOWN_SECONDS, down)
            return job

    def reboot(self, vm_id: str, correlation_id: str | None) -> Job:
        with self.lock:
            vm = self.get_vm(vm_id)
            # RebootVmCommand.validate: Up or PoweringUp, else failVmStatusIllegal (VAR__ACTION__RESTART).
            if vm.status not in ("up", "powering_up"):
                raise backend_failed(409, msg.VM_STATUS_ILLEGAL.format(action="restart",
                                                                       status=msg.LOCALIZED_STATUS[vm.status]))
            job = self.start_job(f"Rebooting VM {vm.name}", correlation_id)
            self.emit(157, f"VM {vm.name} is rebooting. Rebooted by: {USER}", correlation_id=correlation_id, vm=vm)
            self._set_status(vm, "reboot_in_progress")
            self.end_job(job)

            def up() -> None:
                self._apply_next_run(vm)
                self._set_status(vm, "up")

            self._later(vm, REBOOT_SECONDS, up)
            return job

    def suspend(self, vm_id: str, correlation_id: str | None) -> Job:
        with self.lock:
            vm = self.get_vm(vm_id)
            # HibernateVmCommand.validate
            if vm.status in ("wait_for_launch", "not_responding"):
                raise backend_failed(409, msg.VM_STATUS_ILLEGAL.format(action="hibernate",
                                                                       status=msg.LOCALIZED_STATUS[vm.status]))
            if vm.status != "up":
                raise backend_failed(409, msg.VM_NOT_UP.format(action="hibernate"))
            job = self.start_job(f"Performing Hibernate action on VM {vm.name}", correlation_id)
            self.emit(501, f"Suspending VM {vm.name} was initiated by User {USER} (Host: {self.hosts[vm.host_id].name}).",
                      correlation_id=correlation_id, vm=vm)
            self._set_status(vm, "saving_state")

            def suspended() -> None:
                self._set_status(vm, "suspended")
                vm.ips, vm.fqdn = [], None
                self.end_job(job)

            self._later(vm, SUSPEND_SECONDS, suspended)
            return job

    # ----------------------------------------------------------------- remove
    def remove_vm(self, vm_id: str, correlation_id: str | None) -> None:
        with self.lock:
            vm = self.get_vm(vm_id)
            # RemoveVmCommand.validate: status switch, then locked disks, then vmNotLocked().
            if vm.status == "suspended":
                raise backend_failed(409, msg.REMOVE_NOT_DOWN)
            if vm.status not in ("down", "image_locked"):
                raise backend_failed(409, msg.VM_RUNNING.format(action="remove"))
            locked = [self.disks[d].alias for d in vm.disk_ids if self.disks[d].status == "locked"]
            if locked:
                raise backend_failed(409, msg.DISKS_LOCKED.format(action="remove", type="VM", aliases=", ".join(locked)))
            if vm.status == "image_locked":
                raise backend_failed(409, msg.VM_LOCKED.format(action="remove"))
            job = self.start_job(f"Removing VM {vm.name} from system", correlation_id)
            del self.vms[vm.id]
            del self.vm_ids_by_name[vm.name]
            for nic_id in vm.nic_ids:
                self.nics.pop(nic_id, None)
            disks = [self.disks[d] for d in vm.disk_ids]
            for disk in disks:
                disk.status = "locked"

            def purge() -> None:
                for disk in disks:
                    sd = self.storage_domains[disk.storage_domain_id]
                    sd.used -= disk.actual_size
                    sd.committed -= disk.provisioned_size
                    self.disks.pop(disk.id, None)
                self.end_job(job)
                self.emit(113, f"VM {vm.name} was successfully removed by {USER}.", correlation_id=correlation_id,
                          cluster_id=vm.cluster_id)

            self.scheduler.after(1.0, purge)

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
                self.emit(440, f"Tag {tag.name} was attached to VM(s) {vm.name} by {USER}.",
                          correlation_id=correlation_id, vm=vm)
            return tag

    def unassign_tag(self, vm_id: str, tag_id: str, correlation_id: str | None) -> None:
        with self.lock:
            vm = self.get_vm(vm_id)
            if tag_id not in vm.tag_ids:
                raise EngineFault(404, None)
            vm.tag_ids.remove(tag_id)
            self.emit(446, f"Tag {self.tags[tag_id].name} was detached from VM(s) {vm.name} by {USER}.",
                      correlation_id=correlation_id, vm=vm)

    # ------------------------------------------------------- scenario helpers
    def fill_storage_domain(self, name: str) -> StorageDomain:
        with self.lock:
            sd = next((s for s in self.storage_domains.values() if s.name == name), None)
            if sd is None:
                raise KeyError(f"no storage domain named {name!r}")
            self.full_domains.add(sd.id)
            sd.used = max(sd.used, sd.total - 1 * GiB // 2)
            self.emit(201, f"Critical, Low disk space. {sd.name} domain has 0 GB of free space.", "error",
                      storage_domain_id=sd.id, data_center_id=sd.data_center_id)
            return sd

    def vm_snapshot(self, name: str) -> dict[str, Any]:
        with self.lock:
            self.scheduler.run_due()
            vm = self.vm_by_name(name)
            if vm is None:
                raise KeyError(f"no VM named {name!r}")
            return {
                "id": vm.id, "name": vm.name, "status": vm.status, "cluster": self.clusters[vm.cluster_id].name,
                "template_id": vm.template_id, "template": self.templates[vm.template_id].name,
                "template_version": self.templates[vm.template_id].version_number,
                "memory": vm.memory, "memory_guaranteed": vm.memory_guaranteed, "memory_max": vm.memory_max,
                "sockets": vm.sockets, "cores": vm.cores, "threads": vm.threads,
                "description": vm.description, "comment": vm.comment,
                "host": self.hosts[vm.host_id].name if vm.host_id else None,
                "ips": list(vm.ips), "fqdn": vm.fqdn, "next_run": dict(vm.next_run),
                "tags": [self.tags[t].name for t in vm.tag_ids],
                "disks": [{"id": d.id, "alias": d.alias, "provisioned_size": d.provisioned_size,
                           "actual_size": d.actual_size, "status": d.status,
                           "storage_domain": self.storage_domains[d.storage_domain_id].name}
                          for d in (self.disks[i] for i in vm.disk_ids)],
                "initialization": _init_dict(vm.initialization),
                "run_initialization": _init_dict(vm.run_once_initialization),
                "run_initialization_type": vm.run_once_type,
            }


def _init_dict(init: types.Initialization | None) -> dict[str, Any] | None:
    """Plain view of a stored initialization, real secrets included (Python API only)."""
    if init is None:
        return None
    fields = ("host_name", "root_password", "user_name", "authorized_ssh_keys", "custom_script", "domain",
              "dns_servers", "dns_search", "timezone", "windows_license_key", "org_name", "regenerate_ssh_keys",
              "input_locale", "system_locale", "user_locale", "ui_language", "active_directory_ou")
    return {f: getattr(init, f) for f in fields if getattr(init, f) is not None}


def severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.get(severity, 0)


def isoformat(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
