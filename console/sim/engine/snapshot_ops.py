"""VM snapshots: CreateSnapshotForVm, RemoveSnapshot, restore (TryBackToAllSnapshotsOfVm + RestoreAllSnapshots)."""

from __future__ import annotations

import copy

from ovirtsdk4 import types

from . import faults as msg
from .clock import SNAPSHOT_SECONDS, utcnow
from .faults import EngineFault, backend_failed
from .model import USER, Snapshot, Vm

SNAPSHOT = "Snapshot"  # VAR__TYPE__SNAPSHOT


class SnapshotOps:
    """Mixin of :class:`World`."""

    def vm_snapshot_record(self, vm_id: str, snapshot_id: str) -> tuple[Vm, Snapshot]:
        vm = self.get_vm(vm_id)
        snapshot = self.snapshots.get(snapshot_id)
        if snapshot is None or snapshot.vm_id != vm.id:
            raise EngineFault(404, None)
        return vm, snapshot

    def _vm_config(self, vm: Vm) -> dict:
        return {
            "memory": vm.memory,
            "memory_guaranteed": vm.memory_guaranteed,
            "memory_max": vm.memory_max,
            "sockets": vm.sockets,
            "cores": vm.cores,
            "threads": vm.threads,
            "description": vm.description,
            "os_type": vm.os_type,
            "extra": copy.deepcopy(vm.extra),
        }

    def _snapshot_busy(self, vm: Vm, action: str) -> None:
        if any(self.snapshots[s].status == "locked" for s in vm.snapshot_ids):
            raise backend_failed(409, msg.OBJECT_LOCKED.format(action=action, type=SNAPSHOT))
        if vm.status == "image_locked":
            raise backend_failed(
                409, msg.VM_LOCKED.format(action=action).replace(" VM:", f" {SNAPSHOT}:", 1)
            )

    def create_snapshot(
        self, vm_id: str, spec: types.Snapshot, correlation_id: str | None
    ) -> Snapshot:
        with self.lock:
            vm = self.get_vm(vm_id)
            self._snapshot_busy(vm, "create")
            description = spec.description or ""
            snapshot = Snapshot(
                self.new_id(),
                vm.id,
                description,
                utcnow(),
                status="locked",
                persist_memorystate=bool(spec.persist_memorystate) and vm.status == "up",
                config=self._vm_config(vm),
                disks={d: self.disks[d].provisioned_size for d in vm.disk_ids},
            )
            self.snapshots[snapshot.id] = snapshot
            vm.snapshot_ids.append(snapshot.id)
            self.emit(
                45,
                f"Snapshot '{description}' creation for VM '{vm.name}' was initiated by {USER}.",
                correlation_id=correlation_id,
                vm=vm,
            )
            job = self.start_job(
                f"Creating VM Snapshot {description} for VM {vm.name}", correlation_id
            )

            def done() -> None:
                if self.snapshots.get(snapshot.id) is snapshot:
                    snapshot.status = "ok"
                    self.end_job(job)
                    self.emit(
                        68,
                        f"Snapshot '{description}' creation for VM '{vm.name}' has been completed.",
                        correlation_id=correlation_id,
                        vm=vm,
                    )

            self.scheduler.after(SNAPSHOT_SECONDS, done)
            return snapshot

    def remove_snapshot(self, vm_id: str, snapshot_id: str, correlation_id: str | None) -> None:
        with self.lock:
            vm, snapshot = self.vm_snapshot_record(vm_id, snapshot_id)
            if snapshot.type == "active":
                # BackendSnapshotResource.remove -> RemoveSnapshot validate: the active image is no snapshot.
                raise backend_failed(
                    409, msg.SNAPSHOT_NOT_FOUND.format(action="remove", type=SNAPSHOT)
                )
            self._snapshot_busy(vm, "remove")
            snapshot.status = "locked"
            name = snapshot.description
            self.emit(
                342,
                f"Snapshot '{name}' deletion for VM '{vm.name}' was initiated by {USER}.",
                correlation_id=correlation_id,
                vm=vm,
            )
            job = self.start_job(f"Removing Snapshot {name} of VM {vm.name}", correlation_id)

            def gone() -> None:
                self.snapshots.pop(snapshot.id, None)
                if snapshot.id in vm.snapshot_ids:
                    vm.snapshot_ids.remove(snapshot.id)
                self.end_job(job)
                self.emit(
                    356,
                    f"Snapshot '{name}' deletion for VM '{vm.name}' has been completed.",
                    correlation_id=correlation_id,
                    vm=vm,
                )

            self.scheduler.after(SNAPSHOT_SECONDS, gone)

    def restore_snapshot(self, vm_id: str, snapshot_id: str, correlation_id: str | None) -> None:
        """The VM's configuration and disk sizes go back to the snapshot's; later snapshots are dropped."""
        with self.lock:
            vm, snapshot = self.vm_snapshot_record(vm_id, snapshot_id)
            if vm.status != "down":
                raise backend_failed(409, msg.VMS_NOT_DOWN.format(action="preview", type=SNAPSHOT))
            self._snapshot_busy(vm, "revert to")
            self.emit(
                1190,
                f"Restoring VM {vm.name} from snapshot started by user {USER}.",
                correlation_id=correlation_id,
                vm=vm,
            )
            config = snapshot.config
            for key in (
                "memory",
                "memory_guaranteed",
                "memory_max",
                "sockets",
                "cores",
                "threads",
                "description",
                "os_type",
            ):
                setattr(vm, key, config[key])
            vm.extra = copy.deepcopy(config["extra"])
            vm.next_run.clear()
            later = vm.snapshot_ids[vm.snapshot_ids.index(snapshot.id) + 1 :]
            for dropped in later:
                vm.snapshot_ids.remove(dropped)
                self.snapshots.pop(dropped, None)
            self._set_status(vm, "image_locked")
            job = self.start_job(f"Restoring VM {vm.name} from Snapshot", correlation_id)

            def restored() -> None:
                self._set_status(vm, "down")
                self.end_job(job)
                self.emit(
                    100,
                    f"VM {vm.name} restoring from Snapshot has been completed.",
                    correlation_id=correlation_id,
                    vm=vm,
                )

            self._later(vm, SNAPSHOT_SECONDS, restored)
