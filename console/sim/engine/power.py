"""Power actions on a VM: start (run and run-once), stop, shutdown, reboot, suspend, resume and restore."""

from __future__ import annotations

import copy

from ovirtsdk4 import types

from . import faults as msg
from .clock import (
    IP_REPORT_SECONDS,
    LAUNCH_SECONDS,
    POWERING_UP_SECONDS,
    REBOOT_SECONDS,
    RESTORE_SECONDS,
    SHUTDOWN_SECONDS,
    STOP_SECONDS,
    SUSPEND_SECONDS,
    utcnow,
)
from .faults import EngineFault, backend_failed
from .guest_script import schedule_first_boot
from .model import JAVA_RUNNING, USER, GuestBehaviour, Host, Job, MiB, Vm


class PowerOps:
    """Mixin of :class:`World`."""

    def host_free_memory(self, host: Host) -> int:
        """Bytes a host can still give a VM: its memory less what its running VMs have
        (the engine's max_scheduling_memory, without overcommit or reserved memory)."""
        used = sum(
            vm.memory
            for vm in self.vms.values()
            if vm.host_id == host.id and vm.status in JAVA_RUNNING
        )
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
                refusal = msg.VM_STATUS_ILLEGAL.format(
                    action="run", status=msg.LOCALIZED_STATUS[vm.status]
                )
            if refusal is not None:
                self.emit(
                    54,
                    f"Failed to run VM {vm.name} due to a failed validation: [{refusal}] (User: {USER}).",
                    "error",
                    correlation_id,
                    vm=vm,
                )
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
                    for h in sorted(hosts, key=lambda h: h.name)
                ]
                self.emit(
                    54,
                    f"Failed to run VM {vm.name} due to a failed validation: "
                    f"[{', '.join(refusal)}] (User: {USER}).",
                    "error",
                    correlation_id,
                    vm=vm,
                )
                raise backend_failed(409, *refusal)
            run_once = action.vm.initialization if action.vm is not None else None
            explicit_off = action.use_cloud_init is False and action.use_sysprep is False
            if run_once is not None:
                init = run_once
            elif (
                use_cloud_init
                or use_sysprep
                or use_ignition
                or (not explicit_off and vm.start_time is None and vm.initialization is not None)
            ):
                init = (
                    vm.initialization
                )  # stored initialization (used on first run when nothing is said)
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
            self.emit(
                153,
                f"VM {vm.name} was started by {USER} (Host: {host.name}).",
                correlation_id=correlation_id,
                vm=vm,
            )
            behaviour = self.guest_behaviour(vm.name)

            def launched() -> None:
                if behaviour.fail_boot:
                    self._set_status(vm, "down")
                    vm.host_id = None
                    vm.stop_time = utcnow()
                    self.end_job(job, "failed")
                    # VM_DOWN_ERROR, then RunVmCommandBase.rerun() logs USER_INITIATED_RUN_VM_FAILED and,
                    # with no rerun left, runningFailed() logs USER_FAILED_RUN_VM (DueToError " ").
                    self.emit(
                        119,
                        f"VM {vm.name} is down with error. Exit message: internal error: "
                        "process exited while connecting to monitor.",
                        "error",
                        correlation_id,
                        vm=vm,
                    )
                    self.emit(
                        151,
                        f"Failed to run VM {vm.name} on Host {host.name}.",
                        "warning",
                        correlation_id,
                        vm=vm,
                        host_id=host.id,
                    )
                    self.emit(
                        54,
                        f"Failed to run VM {vm.name}  (User: {USER}).",
                        "error",
                        correlation_id,
                        vm=vm,
                    )
                    return
                self._set_status(vm, "powering_up")
                vm.start_time = utcnow()
                self.end_job(job)
                self._later(vm, POWERING_UP_SECONDS, up)

            def up() -> None:
                self._set_status(vm, "up")
                self.emit(
                    32,
                    f"VM {vm.name} started on Host {host.name}",
                    correlation_id=correlation_id,
                    vm=vm,
                )
                self._schedule_guest_report(vm, behaviour)
                schedule_first_boot(self, vm, behaviour)

            self._later(vm, LAUNCH_SECONDS, launched)
            return job

    def _schedule_guest_report(self, vm: Vm, behaviour: GuestBehaviour) -> None:
        if behaviour.never_ip:
            return

        def report() -> None:
            if not vm.ips:
                vm.ips = [self._new_ip()]
            init = vm.run_once_initialization or vm.initialization
            vm.fqdn = behaviour.hostname or (
                init.host_name if init is not None and init.host_name else vm.name
            )
            vm.cpu_usage, vm.memory_usage = 3.0, 25.0

        self._later(vm, IP_REPORT_SECONDS, report)

    def _resume(self, vm: Vm, correlation_id: str | None) -> Job:
        job = self.start_job(f"Launching VM {vm.name}", correlation_id)
        self._set_status(vm, "up")
        self.end_job(job)
        self.emit(
            40,
            f"VM {vm.name} was resumed by {USER} (Host: {self.hosts[vm.host_id].name}).",
            correlation_id=correlation_id,
            vm=vm,
        )
        return job

    def _restore(self, vm: Vm, correlation_id: str | None) -> Job:
        hosts = [h for h in self.hosts.values() if h.cluster_id == vm.cluster_id]
        vm.host_id = vm.host_id or self.rng.choice(hosts).id
        self._set_status(vm, "restoring_state")
        job = self.start_job(f"Launching VM {vm.name}", correlation_id)
        self.emit(
            153,
            f"VM {vm.name} was started by {USER} (Host: {self.hosts[vm.host_id].name}).",
            correlation_id=correlation_id,
            vm=vm,
        )

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

    def _skip_down(
        self, vm: Vm, job_text: str, action_name: str, correlation_id: str | None
    ) -> Job:
        """StopVmCommandBase.shouldSkipCommandExecution: a Down VM is left alone, the call succeeds."""
        job = self.start_job(job_text, correlation_id)
        self.end_job(job)
        self.emit(
            254,
            f"VM {vm.name} is already {msg.JAVA_STATUS['down']}, {action_name} was skipped. User: {USER}.",
            correlation_id=correlation_id,
            vm=vm,
        )
        return job

    def _clear_suspended(self, vm: Vm, job: Job, correlation_id: str | None) -> None:
        """StopVmCommandBase on a Suspended VM: the saved state is dropped, the VM is Down at once."""
        self.emit(
            111,
            f"Suspended VM {vm.name} has had its save state cleared by {USER}.",
            correlation_id=correlation_id,
            vm=vm,
        )
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

    def _begin_stop(
        self, vm: Vm, job_text: str, action_name: str, action: str, correlation_id: str | None
    ) -> tuple[Job, bool]:
        """StopVmCommandBase's common part: (job, finished) - finished when nothing more is to do."""
        if vm.status == "down":
            return self._skip_down(vm, job_text, action_name, correlation_id), True
        self._check_stoppable(vm, action)
        job = self.start_job(job_text, correlation_id)
        if vm.status == "suspended":
            self._clear_suspended(vm, job, correlation_id)
            return job, True
        return job, False

    def stop(self, vm_id: str, correlation_id: str | None) -> Job:
        with self.lock:
            vm = self.get_vm(vm_id)
            job, finished = self._begin_stop(
                vm, f"Stopping VM {vm.name}", "Stop VM", "stop", correlation_id
            )
            if finished:
                return job
            host = self.hosts.get(vm.host_id)
            self.emit(
                33,
                f"VM {vm.name} powered off by {USER} (Host: {host.name if host else '<UNKNOWN>'}).",
                correlation_id=correlation_id,
                vm=vm,
            )
            self._power_off(vm, job)
            return job

    def shutdown(self, vm_id: str, correlation_id: str | None) -> Job:
        with self.lock:
            vm = self.get_vm(vm_id)
            job, finished = self._begin_stop(
                vm, f"Shutting down VM {vm.name}", "Shutdown VM", "shutdown", correlation_id
            )
            if finished:
                return job
            host = self.hosts.get(vm.host_id)
            host_name = host.name if host else "<UNKNOWN>"
            if vm.status != "up":
                # ShutdownVmCommand.canShutdownVm() is false: it runs StopVm (CANNOT_SHUTDOWN) instead.
                self.emit(
                    76,
                    f"VM {vm.name} was powered off ungracefully by {USER} (Host: {host_name}).",
                    correlation_id=correlation_id,
                    vm=vm,
                )
                self._power_off(vm, job)
                return job
            self.emit(
                73,
                f"VM shutdown initiated by {USER} on VM {vm.name} (Host: {host_name}).",
                correlation_id=correlation_id,
                vm=vm,
            )
            # Graceful DestroyVm: DestroyVmVDSCommand.changeStatus -> PoweringDown.
            self._set_status(vm, "powering_down")
            self.end_job(job)

            def down() -> None:
                self.emit(
                    61,
                    f"VM {vm.name} is down. Exit message: User shut down from within the guest",
                    correlation_id=correlation_id,
                    vm=vm,
                )
                self._went_down(vm)

            self._later(vm, SHUTDOWN_SECONDS, down)
            return job

    def reboot(self, vm_id: str, correlation_id: str | None) -> Job:
        with self.lock:
            vm = self.get_vm(vm_id)
            # RebootVmCommand.validate: Up or PoweringUp, else failVmStatusIllegal (VAR__ACTION__RESTART).
            if vm.status not in ("up", "powering_up"):
                raise backend_failed(
                    409,
                    msg.VM_STATUS_ILLEGAL.format(
                        action="restart", status=msg.LOCALIZED_STATUS[vm.status]
                    ),
                )
            job = self.start_job(f"Rebooting VM {vm.name}", correlation_id)
            self.emit(
                157,
                f"VM {vm.name} is rebooting. Rebooted by: {USER}",
                correlation_id=correlation_id,
                vm=vm,
            )
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
                raise backend_failed(
                    409,
                    msg.VM_STATUS_ILLEGAL.format(
                        action="hibernate", status=msg.LOCALIZED_STATUS[vm.status]
                    ),
                )
            if vm.status != "up":
                raise backend_failed(409, msg.VM_NOT_UP.format(action="hibernate"))
            job = self.start_job(f"Performing Hibernate action on VM {vm.name}", correlation_id)
            self.emit(
                501,
                f"Suspending VM {vm.name} was initiated by User {USER} "
                f"(Host: {self.hosts[vm.host_id].name}).",
                correlation_id=correlation_id,
                vm=vm,
            )
            self._set_status(vm, "saving_state")

            def suspended() -> None:
                self._set_status(vm, "suspended")
                vm.ips, vm.fqdn = [], None
                self.end_job(job)

            self._later(vm, SUSPEND_SECONDS, suspended)
            return job
