"""Disks: floating disks, attachments to VMs, extend, remove; storage space accounting."""

from __future__ import annotations

from ovirtsdk4 import types

from . import faults as msg
from .clock import DISK_CREATE_SECONDS, EXTEND_SECONDS
from .faults import EngineFault, backend_failed, incomplete
from .model import JAVA_RUNNING, USER, Disk, GiB, Vm

NEW_SPARSE_BYTES = 200 * 1024  # a new, empty qcow2 volume
DISK = "Virtual Disk"  # VAR__TYPE__DISK


class DiskOps:
    """Mixin of :class:`World`."""

    # ----------------------------------------------------------- disk extend
    def extend_disk(
        self, vm_id: str, disk_id: str, new_size: int | None, correlation_id: str | None
    ) -> Disk:
        with self.lock:
            vm = self.get_vm(vm_id)
            if disk_id not in vm.disk_ids:
                raise EngineFault(404, None)
            disk = self.disks[disk_id]
            if new_size is None or new_size == disk.provisioned_size:
                return disk
            if disk.status == "locked":
                raise backend_failed(
                    409,
                    msg.DISKS_LOCKED.format(action="edit", type="Virtual Disk", aliases=disk.alias),
                )
            if new_size < disk.provisioned_size:
                raise backend_failed(400, msg.DISK_SHRINK)
            sd = self.storage_domains[disk.storage_domain_id]
            grow = new_size - disk.provisioned_size
            if sd.id in self.full_domains or (not disk.sparse and sd.available < grow):
                raise backend_failed(
                    409,
                    msg.LOW_DISK_SPACE.format(action="edit", type="Virtual Disk", domain=sd.name),
                )
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
                    self.emit(
                        371,
                        f"Size of the disk '{disk.alias}' was successfully updated to {new_size // GiB} GB "
                        f"by {USER}.",
                        correlation_id=correlation_id,
                        vm=vm,
                    )

            self.scheduler.after(EXTEND_SECONDS + (new_size // GiB - old_gib) * 0.02, finish)
            return disk

    # ------------------------------------------------------ new and removed disks
    def add_disk(self, spec: types.Disk, correlation_id: str | None, vm: Vm | None = None) -> Disk:
        """AddDiskCommand: a floating disk, or (with ``vm``) a new disk attached to a VM."""
        with self.lock:
            missing = []
            if spec.provisioned_size is None:
                missing.append("provisioned_size")
            if spec.format is None:
                missing.append("format")
            if not spec.storage_domains or not (
                spec.storage_domains[0].id or spec.storage_domains[0].name
            ):
                missing.append("storage_domains.storage_domain.id|name")
            if missing:
                raise incomplete("Disk", missing, "add")
            sd = self.resolve(self.storage_domains, spec.storage_domains[0], "StorageDomain")
            sparse = spec.sparse if spec.sparse is not None else spec.format == types.DiskFormat.COW
            actual = NEW_SPARSE_BYTES if sparse else spec.provisioned_size
            if sd.id in self.full_domains or sd.available < actual:
                raise backend_failed(
                    409, msg.LOW_DISK_SPACE.format(action="add", type=DISK, domain=sd.name)
                )
            alias = (
                spec.alias or spec.name or (f"{vm.name}_Disk{len(vm.disk_ids) + 1}" if vm else "")
            )
            disk = Disk(
                self.new_id(),
                alias,
                spec.provisioned_size,
                actual,
                sd.id,
                format=spec.format.value,
                sparse=sparse,
                status="locked",
                vm_id=vm.id if vm else None,
                description=spec.description or "",
                bootable=False,
            )
            self.disks[disk.id] = disk
            sd.used += disk.actual_size
            sd.committed += disk.provisioned_size
            if vm is not None:
                vm.disk_ids.append(disk.id)
                self.emit(
                    78,
                    f"Add-Disk operation of {alias} was initiated on VM {vm.name} by {USER}.",
                    correlation_id=correlation_id,
                    vm=vm,
                )
            else:
                self.emit(
                    2020,
                    f"Add-Disk operation of '{alias}' was initiated by {USER}.",
                    correlation_id=correlation_id,
                    storage_domain_id=sd.id,
                    data_center_id=sd.data_center_id,
                )
            job = self.start_job(
                f"Adding Disk {alias}" if vm is None else f"Adding Disk {alias} to VM {vm.name}",
                correlation_id,
            )

            def created() -> None:
                if self.disks.get(disk.id) is not disk:
                    return
                disk.status = "ok"
                self.end_job(job)
                if vm is not None and self.vms.get(vm.id) is vm:
                    self.emit(
                        97,
                        f"The disk {alias} was successfully added to VM {vm.name}.",
                        correlation_id=correlation_id,
                        vm=vm,
                    )
                else:
                    self.emit(
                        2021,
                        f"The disk '{alias}' was successfully added.",
                        correlation_id=correlation_id,
                        storage_domain_id=sd.id,
                        data_center_id=sd.data_center_id,
                    )

            self.scheduler.after(DISK_CREATE_SECONDS, created)
            return disk

    def remove_disk(self, disk_id: str, correlation_id: str | None) -> None:
        """RemoveDiskCommand: refused while locked or while its VM runs; the space comes back when done."""
        with self.lock:
            disk = self.get(self.disks, disk_id)
            if disk.template_id is not None:
                # RemoveDiskCommand.validate on a template disk: VMs based on the template block it.
                users = [vm.name for vm in self.vms.values() if vm.template_id == disk.template_id]
                if users:
                    raise backend_failed(409, msg.TEMPLATE_IN_USE.format(vms=",".join(users)))
            if disk.status == "locked":
                raise backend_failed(
                    409, msg.DISKS_LOCKED.format(action="remove", type=DISK, aliases=disk.alias)
                )
            vm = self.vms.get(disk.vm_id) if disk.vm_id else None
            if vm is not None and vm.status != "down":
                raise backend_failed(409, msg.VMS_NOT_DOWN.format(action="remove", type=DISK))
            sd = self.storage_domains[disk.storage_domain_id]
            disk.status = "locked"
            if vm is not None:
                self.emit(
                    2044,
                    f"Removal of Disk {disk.alias} associated to the VMs {vm.name} from domain "
                    f"{sd.name} was initiated by {USER}.",
                    correlation_id=correlation_id,
                    vm=vm,
                )
            else:
                self.emit(
                    2038,
                    f"Removal of Disk {disk.alias} from domain {sd.name} was initiated by {USER}.",
                    correlation_id=correlation_id,
                    storage_domain_id=sd.id,
                )
            job = self.start_job(f"Removing Disk {disk.alias}", correlation_id)

            def purge() -> None:
                self._drop_disk(disk)
                self.end_job(job)
                self.emit(
                    2014,
                    f"Disk {disk.alias} was successfully removed from domain {sd.name} (User {USER}).",
                    correlation_id=correlation_id,
                    storage_domain_id=sd.id,
                )

            self.scheduler.after(1.0, purge)

    def _drop_disk(self, disk: Disk) -> None:
        if self.disks.pop(disk.id, None) is None:
            return
        sd = self.storage_domains[disk.storage_domain_id]
        sd.used -= disk.actual_size
        sd.committed -= disk.provisioned_size
        owner = self.vms.get(disk.vm_id) if disk.vm_id else None
        if owner is not None and disk.id in owner.disk_ids:
            owner.disk_ids.remove(disk.id)

    # ----------------------------------------------------------- attachments
    def attach_disk(
        self, vm_id: str, spec: types.DiskAttachment, correlation_id: str | None
    ) -> Disk:
        """POST /vms/{id}/diskattachments: AttachDiskToVm for an existing disk, AddDisk for a new one."""
        with self.lock:
            vm = self.get_vm(vm_id)
            missing = []
            if spec.disk is None:
                missing.append("disk")
            if spec.interface is None:
                missing.append("interface")
            if missing:
                raise incomplete("DiskAttachment", missing, "add")
            if spec.bootable:
                self._check_boot_free(vm, None, "attach" if spec.disk.id else "add")
            if spec.disk.id and spec.disk.id in self.disks:
                disk = self.disks[spec.disk.id]
                if disk.vm_id is not None or disk.template_id is not None:
                    raise backend_failed(
                        409, msg.DISK_ALREADY_ATTACHED.format(action="attach", type=DISK)
                    )
                if disk.status == "locked":
                    raise backend_failed(
                        409, msg.DISKS_LOCKED.format(action="attach", type=DISK, aliases=disk.alias)
                    )
                disk.vm_id = vm.id
                vm.disk_ids.append(disk.id)
                self.emit(
                    2016,
                    f"Disk {disk.alias} was successfully attached to VM {vm.name} by {USER}.",
                    correlation_id=correlation_id,
                    vm=vm,
                )
            elif spec.disk.id:
                raise EngineFault(404, None)
            else:
                disk = self.add_disk(spec.disk, correlation_id, vm=vm)
            disk.interface = spec.interface.value
            disk.bootable = bool(spec.bootable)
            disk.active = spec.active if spec.active is not None else True
            return disk

    def _check_boot_free(self, vm: Vm, disk: Disk | None, action: str) -> None:
        for other_id in vm.disk_ids:
            other = self.disks[other_id]
            if other is not disk and other.bootable:
                raise backend_failed(
                    409,
                    msg.DISK_BOOT_IN_USE.format(
                        action=action, type=DISK, disk=other.alias, vm=vm.name
                    ),
                )

    def update_attachment(
        self, vm_id: str, disk_id: str, spec: types.DiskAttachment, correlation_id: str | None
    ) -> Disk:
        """PUT /vms/{id}/diskattachments/{id}: plug state (HotPlug/HotUnPlug), boot flag, interface, size, alias."""
        with self.lock:
            vm = self.get_vm(vm_id)
            if disk_id not in vm.disk_ids:
                raise EngineFault(404, None)
            disk = self.disks[disk_id]
            size = spec.disk.provisioned_size if spec.disk is not None else None
            if size is not None and size != disk.provisioned_size:
                self.extend_disk(vm_id, disk_id, size, correlation_id)
            changed = False
            if spec.bootable is not None and spec.bootable != disk.bootable:
                if spec.bootable:
                    self._check_boot_free(vm, disk, "edit")
                disk.bootable = spec.bootable
                changed = True
            if spec.interface is not None and spec.interface.value != disk.interface:
                disk.interface = spec.interface.value
                changed = True
            if spec.disk is not None and spec.disk.alias and spec.disk.alias != disk.alias:
                disk.alias = spec.disk.alias
                changed = True
            if spec.active is not None and spec.active != disk.active:
                disk.active = spec.active
                # HotPlugDiskToVm / HotUnPlugDiskFromVm (USER_HOTPLUG_DISK 2000 / USER_HOTUNPLUG_DISK 2002)
                if vm.status in JAVA_RUNNING:
                    code = 2000 if spec.active else 2002
                    text = "plugged" if spec.active else "unplugged"
                    self.emit(
                        code,
                        f"VM {vm.name} disk {disk.alias} was {text} by {USER}.",
                        correlation_id=correlation_id,
                        vm=vm,
                    )
                else:
                    self.emit(
                        88,
                        f"VM {vm.name} {disk.alias} disk was updated by {USER}.",
                        correlation_id=correlation_id,
                        vm=vm,
                    )
            elif changed:
                self.emit(
                    88,
                    f"VM {vm.name} {disk.alias} disk was updated by {USER}.",
                    correlation_id=correlation_id,
                    vm=vm,
                )
            return disk

    def detach_disk(self, vm_id: str, disk_id: str, correlation_id: str | None) -> None:
        """DELETE /vms/{id}/diskattachments/{id}: DetachDiskFromVm; the disk stays, floating."""
        with self.lock:
            vm = self.get_vm(vm_id)
            if disk_id not in vm.disk_ids:
                raise EngineFault(404, None)
            disk = self.disks[disk_id]
            if disk.status == "locked":
                raise backend_failed(
                    409, msg.DISKS_LOCKED.format(action="detach", type=DISK, aliases=disk.alias)
                )
            if vm.status in JAVA_RUNNING and disk.active:
                raise backend_failed(409, msg.VMS_NOT_DOWN.format(action="detach", type=DISK))
            vm.disk_ids.remove(disk_id)
            disk.vm_id = None
            disk.bootable = False
            self.emit(
                2018,
                f"Disk {disk.alias} was successfully detached from VM {vm.name} by {USER}.",
                correlation_id=correlation_id,
                vm=vm,
            )
