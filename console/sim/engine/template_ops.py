"""Templates made from VMs (AddVmTemplate, with versions and seal), their removal, and VMs cloned from snapshots.

Both copy a VM's disks in full, so both take time proportional to the size and
keep the new entity locked meanwhile.
"""

from __future__ import annotations

import copy

from ovirtsdk4 import types

from . import faults as msg
from .clock import TEMPLATE_SECONDS_PER_GIB, utcnow
from .faults import backend_failed, incomplete, not_found
from .model import USER, Disk, GiB, Nic, Template, Vm
from .seed import BLANK_ID

TEMPLATE = "Template"  # VAR__TYPE__VM_TEMPLATE


class TemplateOps:
    """Mixin of :class:`World`."""

    def _copy_disks(
        self, source: Vm, owner: str, owner_name: str, **owner_ref: str
    ) -> tuple[list[str], int]:
        """Full copies of a VM's disks on the same domains; returns the new ids and the bytes to copy."""
        ids, total = [], 0
        for n, disk_id in enumerate(source.disk_ids, start=1):
            src = self.disks[disk_id]
            disk = Disk(
                self.new_id(),
                f"{owner_name}_Disk{n}" if owner == "vm" else src.alias,
                src.provisioned_size,
                src.actual_size,
                src.storage_domain_id,
                format=src.format,
                sparse=src.sparse,
                status="locked",
                interface=src.interface,
                bootable=src.bootable,
                **owner_ref,
            )
            self.disks[disk.id] = disk
            sd = self.storage_domains[disk.storage_domain_id]
            sd.used += disk.actual_size
            sd.committed += disk.provisioned_size
            ids.append(disk.id)
            total += src.actual_size
        return ids, total

    def _check_space(self, source: Vm, action: str, type_name: str) -> None:
        needs: dict[str, int] = {}
        for disk_id in source.disk_ids:
            disk = self.disks[disk_id]
            needs[disk.storage_domain_id] = needs.get(disk.storage_domain_id, 0) + disk.actual_size
        for sd_id, need in needs.items():
            sd = self.storage_domains[sd_id]
            if sd.id in self.full_domains or sd.available < need:
                raise backend_failed(
                    409, msg.LOW_DISK_SPACE.format(action=action, type=type_name, domain=sd.name)
                )

    # -------------------------------------------------------------- templates
    def add_template(
        self, spec: types.Template, seal: bool, correlation_id: str | None
    ) -> Template:
        with self.lock:
            missing = [
                f
                for f, ok in (
                    ("name", spec.name),
                    ("vm.id|name", spec.vm and (spec.vm.id or spec.vm.name)),
                )
                if not ok
            ]
            if missing:
                raise incomplete("Template", missing, "add")
            vm = self.get_vm(spec.vm.id) if spec.vm.id else self.vm_by_name(spec.vm.name)
            if vm is None:
                raise not_found(f"VM: name={spec.vm.name}")
            if vm.status != "down":
                raise backend_failed(
                    409, msg.TEMPLATE_FROM_RUNNING_VM.format(action="add", type=TEMPLATE)
                )
            if seal and vm.os_type.startswith("windows"):
                raise backend_failed(409, msg.SEAL_WINDOWS.format(action="add", type=TEMPLATE))
            version = spec.version
            base = None
            if version is not None and version.base_template is not None:
                base = self.resolve(self.templates, version.base_template, "Template")
            elif any(t.name == spec.name for t in self.templates.values()):
                raise backend_failed(
                    409,
                    msg.TEMPLATE_NAME_IN_USE.format(action="add", type=TEMPLATE, name=spec.name),
                )
            self._check_space(vm, "add", TEMPLATE)
            if base is not None:
                number = 1 + max(
                    t.version_number
                    for t in self.templates.values()
                    if t.base_template_id == base.base_template_id
                )
                base_id = base.base_template_id
                name = base.name  # a version keeps its base template's name
            else:
                number, base_id, name = 1, "", spec.name
            template = Template(
                self.new_id(),
                name,
                spec.description or "",
                spec.comment or "",
                vm.cluster_id,
                vm.os_type,
                vm.memory,
                vm.sockets,
                vm.cores,
                vm.threads,
                number,
                (
                    version.version_name
                    if version is not None and version.version_name
                    else "base version"
                    if base is None
                    else ""
                ),
                base_id,
                utcnow(),
                status="locked",
                vm_id=vm.id,
                sealed=seal,
                extra=copy.deepcopy(vm.extra),
            )
            template.base_template_id = base_id or template.id
            template.nics = [
                (n.name, n.interface, n.vnic_profile_id) for n in (self.nics[i] for i in vm.nic_ids)
            ]
            self.templates[template.id] = template
            template.disk_ids, total = self._copy_disks(
                vm, "template", name, template_id=template.id
            )
            self._set_status(vm, "image_locked")
            self.emit(
                48,
                f"Creation of Template {name} from VM {vm.name} was initiated by {USER}.",
                correlation_id=correlation_id,
                vm=vm,
                template_id=template.id,
            )
            job = self.start_job(f"Creating Template {name} from VM {vm.name}", correlation_id)

            def done() -> None:
                for disk_id in template.disk_ids:
                    if disk_id in self.disks:
                        self.disks[disk_id].status = "ok"
                template.status = "ok"
                # seal=true makes the engine run virt-sysprep on the copies (SealVmTemplate) before the
                # template turns ok; nothing of it shows in the API (kept as Template.sealed for tests).
                if self.vms.get(vm.id) is vm:
                    self._set_status(vm, "down")
                self.end_job(job)
                self.emit(
                    51,
                    f"Creation of Template {name} from VM {vm.name} has been completed.",
                    correlation_id=correlation_id,
                    vm=vm,
                    template_id=template.id,
                )

            self.scheduler.after(TEMPLATE_SECONDS_PER_GIB * total / GiB + 1.0, done)
            return template

    def remove_template(self, template_id: str, correlation_id: str | None) -> None:
        with self.lock:
            template = self.get(self.templates, template_id)
            if template.id == BLANK_ID:
                raise backend_failed(409, msg.BLANK_TEMPLATE.format(action="remove", type=TEMPLATE))
            users = [vm.name for vm in self.vms.values() if vm.template_id == template.id]
            if users:
                raise backend_failed(409, msg.TEMPLATE_IN_USE.format(vms=",".join(users)))
            if template.status == "locked":
                raise backend_failed(409, msg.OBJECT_LOCKED.format(action="remove", type=TEMPLATE))
            if template.base_template_id == template.id:
                versions = [
                    t.version_name or str(t.version_number)
                    for t in self.templates.values()
                    if t.base_template_id == template.id and t is not template
                ]
                if versions:
                    raise backend_failed(
                        409, msg.BASE_WITH_VERSIONS.format(versions=", ".join(versions))
                    )
            template.status = "locked"
            self.emit(
                50,
                f"Removal of Template {template.name} was initiated by {USER}.",
                correlation_id=correlation_id,
                template_id=template.id,
            )
            job = self.start_job(f"Removing Template {template.name}", correlation_id)

            def gone() -> None:
                self.templates.pop(template.id, None)
                for disk_id in template.disk_ids:
                    disk = self.disks.get(disk_id)
                    if disk is not None:
                        self._drop_disk(disk)
                self.end_job(job)
                self.emit(
                    251,
                    f"Removal of Template {template.name} has been completed.",
                    correlation_id=correlation_id,
                )

            self.scheduler.after(1.0, gone)

    # ------------------------------------------------------ clone from snapshot
    def clone_from_snapshot(
        self, spec: types.Vm, snapshot_id: str, correlation_id: str | None
    ) -> Vm:
        """AddVmFromSnapshot: the snapshot's configuration, full copies of its VM's disks."""
        with self.lock:
            snapshot = self.snapshots.get(snapshot_id)
            if snapshot is None:
                raise not_found(f"Snapshot: id={snapshot_id}")
            source = self.vms[snapshot.vm_id]
            if not spec.name:
                raise incomplete("Vm", ["name"], "add")
            if spec.name in self.vm_ids_by_name:
                raise backend_failed(409, msg.NAME_IN_USE.format(action="add"))
            self._check_space(source, "add", "VM")
            config = snapshot.config if snapshot.type != "active" else self._vm_config(source)
            vm = Vm(
                self.new_id(),
                spec.name,
                source.cluster_id,
                source.template_id,
                config["os_type"],
                config["memory"],
                config["memory_guaranteed"],
                config["memory_max"],
                config["sockets"],
                config["cores"],
                config["threads"],
                utcnow(),
                status="image_locked",
                description=spec.description or config["description"],
                comment=spec.comment or "",
                extra=copy.deepcopy(config["extra"]),
            )
            self.add_vm_record(vm)
            self.add_active_snapshot(vm)
            vm.disk_ids, total = self._copy_disks(source, "vm", vm.name, vm_id=vm.id)
            for nic_id in source.nic_ids:
                src = self.nics[nic_id]
                nic = Nic(
                    self.new_id(),
                    src.name,
                    self.new_mac(),
                    vm.id,
                    src.interface,
                    vnic_profile_id=src.vnic_profile_id,
                )
                self.nics[nic.id] = nic
                vm.nic_ids.append(nic.id)
            self.emit(
                37,
                f"VM {vm.name} creation was initiated by {USER}.",
                correlation_id=correlation_id,
                vm=vm,
            )
            job = self.start_job(
                f"Creating VM {vm.name} from Snapshot {snapshot.description}", correlation_id
            )

            def done() -> None:
                for disk_id in vm.disk_ids:
                    self.disks[disk_id].status = "ok"
                self._set_status(vm, "down")
                self.end_job(job)
                self.emit(
                    53,
                    f"VM {vm.name} creation has been completed.",
                    correlation_id=correlation_id,
                    vm=vm,
                )

            self._later(vm, TEMPLATE_SECONDS_PER_GIB * total / GiB + 1.0, done)
            return vm
