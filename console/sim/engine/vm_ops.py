"""Adding, editing and removing VMs: the validations and lifecycles of AddVm, UpdateVm and RemoveVm."""

from __future__ import annotations

import copy

from ovirtsdk4 import types

from . import faults as msg
from .clock import CLONE_SECONDS_PER_GIB, THIN_CREATE_SECONDS, THIN_OVERLAY_BYTES, utcnow
from .faults import backend_failed, incomplete, not_found
from .model import USER, Disk, GiB, MiB, Nic, Vm


class VmOps:
    """Mixin of :class:`World`."""

    # --------------------------------------------------------------- add a VM
    def add_vm(self, spec: types.Vm, clone: bool, correlation_id: str | None) -> Vm:
        with self.lock:
            if spec.snapshots:  # BackendVmsResource.add with snapshots: AddVmFromSnapshot
                return self.clone_from_snapshot(spec, spec.snapshots[0].id, correlation_id)
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
                        (s for s in self.storage_domains.values() if s.name == sd_ref.name), None
                    )
                    if sd is None:
                        raise not_found(
                            f"StorageDomain: id={sd_ref.id}"
                            if sd_ref.id
                            else f"StorageDomain: name={sd_ref.name}"
                        )
                    targets[disk_ref.id] = sd.id
            needs: dict[str, int] = {}
            for disk_id, sd_id in targets.items():
                source = self.disks[disk_id]
                needs[sd_id] = needs.get(sd_id, 0) + (
                    source.actual_size if clone else THIN_OVERLAY_BYTES
                )
            for sd_id, need in needs.items():
                sd = self.storage_domains[sd_id]
                if sd.id in self.full_domains or sd.available < need:
                    raise backend_failed(
                        409, msg.LOW_DISK_SPACE.format(action="add", type="VM", domain=sd.name)
                    )

            os_type = spec.os.type if spec.os is not None and spec.os.type else template.os_type
            vm = Vm(
                self.new_id(),
                spec.name,
                cluster.id,
                template.id,
                os_type,
                memory,
                guaranteed,
                maximum,
                sockets,
                cores,
                threads,
                utcnow(),
                status="image_locked",
                description=spec.description or "",
                comment=spec.comment or "",
                initialization=copy.copy(spec.initialization) if spec.initialization else None,
                use_latest_template_version=bool(spec.use_latest_template_version),
            )
            keep_unmodelled(vm.extra, spec)
            total_size = 0
            for n, (disk_id, sd_id) in enumerate(targets.items(), start=1):
                source = self.disks[disk_id]
                disk = Disk(
                    self.new_id(),
                    f"{vm.name}_Disk{n}",
                    source.provisioned_size,
                    source.actual_size if clone else THIN_OVERLAY_BYTES,
                    sd_id,
                    status="locked",
                    vm_id=vm.id,
                    format=source.format,
                    sparse=source.sparse,
                )
                self.disks[disk.id] = disk
                vm.disk_ids.append(disk.id)
                sd = self.storage_domains[sd_id]
                sd.used += disk.actual_size
                sd.committed += disk.provisioned_size
                total_size += source.provisioned_size
                if clone:
                    self.copy_log.begin(sd_id, vm.id)
            for name, interface, profile_id in template.nics:
                nic = Nic(
                    self.new_id(),
                    name,
                    self.new_mac(),
                    vm.id,
                    interface,
                    vnic_profile_id=profile_id,
                )
                self.nics[nic.id] = nic
                vm.nic_ids.append(nic.id)
            self.add_vm_record(vm)
            self.add_active_snapshot(vm)

            cluster_name = cluster.name
            job = self.start_job(
                f"Creating VM {vm.name} from Template {template.name} in Cluster {cluster_name}"
                if clone
                else f"Creating VM {vm.name} in Cluster {cluster_name}",
                correlation_id,
            )
            self.emit(
                37,
                f"VM {vm.name} creation was initiated by {USER}.",
                correlation_id=correlation_id,
                vm=vm,
                template_id=template.id,
            )
            seconds = (CLONE_SECONDS_PER_GIB * total_size / GiB) if clone else THIN_CREATE_SECONDS

            def finish() -> None:
                for disk_id in vm.disk_ids:
                    self.disks[disk_id].status = "ok"
                self.copy_log.end(vm.id)
                self._set_status(vm, "down")
                self.end_job(job)
                self.emit(
                    53,
                    f"VM {vm.name} creation has been completed.",
                    correlation_id=correlation_id,
                    vm=vm,
                    template_id=template.id,
                )

            if vm.disk_ids:
                self._later(vm, seconds, finish)
            else:
                finish()
            return vm

    def _check_memory(self, action: str, memory: int, guaranteed: int, maximum: int) -> None:
        if guaranteed > memory:
            raise backend_failed(400, msg.GUARANTEED_OVER_MEMORY.format(action=action))
        if memory > maximum:
            raise backend_failed(
                409,
                msg.MEMORY_OVER_MAX.format(action=action, memory=memory // MiB, max=maximum // MiB),
            )

    # ------------------------------------------------------------ update a VM
    HOT_FIELDS = ("memory", "sockets")  # applied live on a running VM

    def update_vm(
        self, vm_id: str, patch: types.Vm, next_run: bool, correlation_id: str | None
    ) -> Vm:
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
            self._check_memory(
                "edit", wanted["memory"], wanted["memory_guaranteed"], wanted["memory_max"]
            )

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
            if patch.os is not None and patch.os.type:
                vm.os_type = patch.os.type
            keep_unmodelled(vm.extra, patch)
            job = self.start_job(f"Editing VM {vm.name} properties", correlation_id)
            self.end_job(job)
            self.emit(
                35,
                f"VM {vm.name} configuration was updated by {USER}.",
                correlation_id=correlation_id,
                vm=vm,
            )
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

    # ----------------------------------------------------------------- remove
    def remove_vm(self, vm_id: str, correlation_id: str | None, detach_only: bool = False) -> None:
        with self.lock:
            vm = self.get_vm(vm_id)
            # RemoveVmCommand.validate: status switch, then locked disks, then vmNotLocked().
            if vm.status == "suspended":
                raise backend_failed(409, msg.REMOVE_NOT_DOWN)
            if vm.status not in ("down", "image_locked"):
                raise backend_failed(409, msg.VM_RUNNING.format(action="remove"))
            locked = [self.disks[d].alias for d in vm.disk_ids if self.disks[d].status == "locked"]
            if locked:
                raise backend_failed(
                    409,
                    msg.DISKS_LOCKED.format(action="remove", type="VM", aliases=", ".join(locked)),
                )
            if vm.status == "image_locked":
                raise backend_failed(409, msg.VM_LOCKED.format(action="remove"))
            job = self.start_job(f"Removing VM {vm.name} from system", correlation_id)
            del self.vms[vm.id]
            del self.vm_ids_by_name[vm.name]
            for nic_id in vm.nic_ids:
                self.nics.pop(nic_id, None)
            for snapshot_id in [vm.active_snapshot_id, *vm.snapshot_ids]:
                self.snapshots.pop(snapshot_id, None)
            disks = [self.disks[d] for d in vm.disk_ids]
            if detach_only:  # RemoveVm with removeDisks=false: the disks stay, floating
                for disk in disks:
                    disk.vm_id, disk.bootable = None, False
                disks = []
            for disk in disks:
                disk.status = "locked"

            def purge() -> None:
                for disk in disks:
                    sd = self.storage_domains[disk.storage_domain_id]
                    sd.used -= disk.actual_size
                    sd.committed -= disk.provisioned_size
                    self.disks.pop(disk.id, None)
                self.end_job(job)
                self.emit(
                    113,
                    f"VM {vm.name} was successfully removed by {USER}.",
                    correlation_id=correlation_id,
                    # AuditLogableBase.createAuditLog logs the command's VM (id and name)
                    # though the VM is gone: the event still names it.
                    vm=vm,
                )

            self.scheduler.after(1.0, purge)


# types.Vm attributes the world models itself (or that only the engine sets); every other
# attribute a client sends is kept as sent and returned on every GET.
MODELLED = {
    "id",
    "href",
    "name",
    "description",
    "comment",
    "cluster",
    "template",
    "memory",
    "memory_policy",
    "cpu",
    "os",
    "initialization",
    "use_latest_template_version",
    "status",
    "host",
    "disk_attachments",
    "nics",
    "tags",
    "snapshots",
    "statistics",
    "reported_devices",
    "creation_time",
    "start_time",
    "stop_time",
    "fqdn",
    "next_run_configuration_exists",
    "run_once",
    "original_template",
    "cpu_profile",
    "permissions",
    "cdroms",
    "watchdogs",
    "graphics_consoles",
    "numa_nodes",
    "host_devices",
    "sessions",
    "katello_errata",
    "applications",
    "affinity_labels",
    "large_icon",
    "small_icon",
    "guest_operating_system",
    "guest_time_zone",
    "status_detail",
}


def keep_unmodelled(extra: dict, spec: types.Vm) -> None:
    for key, value in vars(spec).items():
        name = key.lstrip("_")
        if value is not None and name not in MODELLED:
            extra[name] = copy.deepcopy(value)
