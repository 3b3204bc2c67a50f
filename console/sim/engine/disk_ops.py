"""Disks: floating disks, attachments to VMs, extend, remove; storage space accounting."""

from __future__ import annotations

from . import faults as msg
from .clock import EXTEND_SECONDS
from .faults import EngineFault, backend_failed
from .model import USER, GiB, Disk


class DiskOps:
    """Mixin of :class:`World`."""

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

