"""One pass of one template refresh through its remaining steps, holding its lease.

Every step reads the engine first and does only what is missing (see refresh.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from console.errors import BadInput
from console.flow.catalog import refresh_catalog
from console.flow.engine_calls import Phase, call_with_backoff
from console.flow.upkeep import policy, scripts
from console.flow.upkeep.build_vm import RUNNING, Cancelled, RefreshFailed, mark, refresh_of
from console.flow.upkeep.machine import STEP_TITLES, Position, RefreshState, transition
from console.ovirt import (
    Engine,
    EngineError,
    EngineLocked,
    EngineNotFound,
    EngineRejected,
    Template,
    Vm,
)
from console.store import refresh_jobs as repo
from console.store.models import utcnow

if TYPE_CHECKING:
    from console.flow.upkeep.refresh import RefreshRunner

T = TypeVar("T")


class RefreshPass:
    """One pass of one refresh through its remaining steps, holding its lease."""

    def __init__(self, runner: RefreshRunner, refresh_id: str):
        self.runner = runner
        self.store = runner.store
        self.timing = runner.timing
        self.id = refresh_id
        self.row = runner._row(refresh_id)
        self.engine: Engine = runner.services.engine(self.row.engine or None)
        self.rolling_back = False
        self._beat = time.monotonic()

    # ------------------------------------------------------------ bookkeeping
    def refresh(self) -> repo.TemplateRefresh:
        self.row = self.runner._row(self.id)
        return self.row

    def save(self, event: dict[str, Any] | None = None, **values: Any) -> repo.TemplateRefresh:
        self.row = repo.update_row(self.store, self.id, event=event, **values)
        return self.row

    def record(self, kind: str, step: str | None, message: str, **values: Any) -> None:
        self.save(event={"step": step, "kind": kind, "message": message}, **values)
        self.runner.emit(self.row, kind, step, message)

    def check(self) -> None:
        now = time.monotonic()
        if now - self._beat > self.timing.lease_seconds / 3:
            repo.heartbeat(self.store, self.id, self.runner.actor)
            self._beat = now
        if not self.rolling_back and (self.refresh().data or {}).get("cancel_requested"):
            raise Cancelled()

    def sleep(self) -> None:
        self.check()
        time.sleep(self.timing.poll_seconds)
        self.check()

    def since(self, step: str) -> float:
        key = f"since_{step}"
        stamp = (self.row.data or {}).get(key)
        if stamp is None:
            self.save(data={key: utcnow().isoformat()})
            return 0.0
        return (utcnow() - datetime.fromisoformat(stamp)).total_seconds()

    def call(
        self,
        what: str,
        operation: Callable[[], T],
        *,
        changes: bool = True,
        retry_locked: bool = True,
    ) -> T:
        """An engine call with backoff on busy/unavailable; changes are journaled around it.
        `retry_locked=False`: a lock comes back at once, for the caller to reconcile first."""
        step = self.row.state

        def journal(message: str, _phase: Phase) -> None:
            self.save(event={"step": step, "kind": "engine", "message": message})

        return call_with_backoff(
            self,
            what,
            operation,
            journal=journal if changes else None,
            retry_locked=retry_locked,
        )

    @property
    def cid(self) -> str:
        return self.row.correlation_id

    # ------------------------------------------------------------ the loop
    def go(self) -> repo.TemplateRefresh:
        while True:
            row = self.refresh()
            if (row.data or {}).get("cancel_requested"):
                return self.rollback()
            position = Position.of(row.state, row.failed_step)
            if position.terminal or position.state is RefreshState.FAILED:
                return row
            step = position.state
            self.record("started", step.value, STEP_TITLES[step])
            started = time.monotonic()
            try:
                message, values = getattr(self, f"step_{step.value}")()
            except Cancelled:
                return self.rollback()
            except (RefreshFailed, EngineError, BadInput) as error:
                code = getattr(error, "code", "step_failed")
                reason = error.message
                if isinstance(error, EngineError) and error.detail and error.detail not in reason:
                    reason = f"{reason}: {error.detail}"
                failed = transition(position, "fail")
                self.record(
                    "failed",
                    step.value,
                    reason,
                    state=failed.state.value,
                    failed_step=step.value,
                    error_code=code,
                    error_message=reason,
                    error_hint=error.hint or HINTS.get(step),
                )
                return self.row
            after = transition(position, "advance")
            durations = {f"{step.value}_seconds": round(time.monotonic() - started, 3)}
            if step is RefreshState.SCRIPT_WAIT:
                durations["script_seconds"] = round(self.since("booting"), 3)
            self.record(
                "finished",
                step.value,
                message,
                state=after.state.value,
                finished_at=utcnow() if after.state is RefreshState.DONE else None,
                data={**durations, **values},
            )

    # ------------------------------------------------------------ the steps
    def versions(self) -> list[Template]:
        name = self.row.template_name
        found = self.call(
            f"list versions of {name}",
            lambda: self.engine.list_templates(search=f"name={name}"),
            changes=False,
        )
        return [t for t in found if t.name == name]

    def step_planned(self) -> tuple[str, dict[str, Any]]:
        versions = self.versions()
        if not versions:
            raise RefreshFailed(
                f"the engine has no template {self.row.template_name}",
                "check the name, then cancel this refresh",
                code="no_template",
            )
        latest = max(versions, key=lambda t: t.version_number)
        base = min(versions, key=lambda t: t.version_number)  # the base is never removed first
        if latest.status != "ok":
            raise RefreshFailed(
                f"{latest.label} is {latest.status}",
                "wait until it is ok, then retry",
                code="template_not_ok",
            )
        name = self.row.new_version_name or policy.version_name(versions)
        self.save(
            source_template_id=latest.id,
            source_version=latest.version_number,
            base_template_id=base.id,
            new_version_name=name,
            data={"disk_gib": latest.disk_gib, "windows": latest.is_windows},
        )
        return f"from {latest.label}; the new version will be named {name}", {}

    def find_build_vm(self) -> Vm | None:
        build_vm_id = self.row.build_vm_id
        if build_vm_id:
            try:
                return self.call(
                    "read the build VM",
                    lambda: self.engine.get_vm(build_vm_id, detail=False, correlation_id=self.cid),
                    changes=False,
                )
            except EngineNotFound:
                pass
        vm = self.call(
            "look up the build VM",
            lambda: self.engine.find_vm(self.row.build_vm_name, correlation_id=self.cid),
            changes=False,
        )
        return vm if vm is not None and refresh_of(vm) == self.id else None

    def step_cloning(self) -> tuple[str, dict[str, Any]]:
        vm = self.find_build_vm()
        if vm is not None:
            self.save(build_vm_id=vm.id)
            return f"adopted {vm.name} ({vm.status}), made by this refresh", {}
        cluster = (
            self.runner.config.engine(self.row.engine or None).cluster
            or self.call("list clusters", self.engine.clusters, changes=False)[0].name
        )
        name = self.row.build_vm_name
        source_id = self.row.source_template_id
        assert source_id is not None  # the planned step sets it
        try:
            created = self.call(
                f"clone {name} from {self.row.template_name} v{self.row.source_version}",
                lambda: self.engine.clone_vm(
                    name,
                    template_id=source_id,
                    cluster=cluster,
                    comment=mark(self.row.template_name, self.id),
                    description=f"build VM of template refresh {self.id}; "
                    "removed when the new version is sealed",
                    correlation_id=self.cid,
                ),
            )
        except EngineRejected as error:
            if "already in use" not in (error.detail or error.message):
                raise
            vm = self.find_build_vm()
            if vm is None:
                raise RefreshFailed(
                    f"a VM named {name} exists and is not this refresh's",
                    "rename or remove it on the engine, then retry",
                    code="name_taken",
                ) from None
            created = vm
        self.save(build_vm_id=created.id)
        return f"created {created.name} on {cluster}", {}

    def build_vm(self) -> Vm:
        vm = self.find_build_vm()
        if vm is None:
            raise RefreshFailed(
                f"the build VM {self.row.build_vm_name} is gone from the engine",
                "cancel this refresh and start a new one",
                code="build_vm_gone",
            )
        return vm

    def step_clone_wait(self) -> tuple[str, dict[str, Any]]:
        limit = self.timing.clone_limit(int((self.row.data or {}).get("disk_gib") or 0))
        vm = self.build_vm()
        while vm.status == "image_locked":
            waited = self.since("clone_wait")
            if waited > limit:
                raise RefreshFailed(
                    f"{vm.name} is still image_locked after {waited:.0f}s",
                    "check the engine's Tasks and the storage domain; retry once it is down",
                    code="stuck_image_locked",
                )
            self.sleep()
            vm = self.build_vm()
        return f"{vm.name} copied ({vm.status})", {}

    def step_booting(self) -> tuple[str, dict[str, Any]]:
        vm = self.build_vm()
        if vm.status in RUNNING:
            return f"{vm.name} is {vm.status}", {}
        if vm.status != "down":
            raise RefreshFailed(
                f"{vm.name} is {vm.status}; it can only be started from down",
                "bring it to down on the engine, then retry",
                code="unexpected_status",
            )
        started_at = self.call(
            "read the build VM's start time",
            lambda: self.engine.vm_start_time(vm.id, correlation_id=self.cid),
            changes=False,
        )
        if started_at is not None:
            # It ran already (an earlier pass started it and the script powered it off).
            return f"{vm.name} already ran its script (started {started_at:%H:%M:%S})", {}
        versions = self.versions()
        source = next((t for t in versions if t.id == self.row.source_template_id), None)
        if source is None:
            raise RefreshFailed(
                f"version {self.row.source_version} of {self.row.template_name} "
                "is gone from the engine",
                "cancel this refresh and start a new one",
                code="source_gone",
            )
        entry = self.runner.config.catalog.upkeep_for(self.row.template_name)
        script = scripts.script_for(source, self.runner._script_path(entry.update_script))
        init = scripts.build_initialization(source, vm.name, script)
        self.since("booting")
        try:
            self.call(
                f"start {vm.name} with its {init.kind} update script",
                lambda: self.engine.start_vm(vm.id, init, correlation_id=self.cid),
                retry_locked=False,
            )
        except (EngineRejected, EngineLocked):
            # A start of ours whose answer was lost may have landed meanwhile.
            again = self.build_vm()
            if again.status not in RUNNING:
                raise
            return f"{vm.name} is {again.status}", {}
        return f"started {vm.name} with the update script ({init.kind})", {}

    def step_script_wait(self) -> tuple[str, dict[str, Any]]:
        entry = self.runner.config.catalog.upkeep_for(self.row.template_name)
        timeout, source = policy.script_timeout(self.store, entry)
        timeout *= self.runner.time_scale
        vm = self.build_vm()
        while vm.status != "down":
            waited = self.since("script_wait")
            if waited > timeout:
                log_hint = (
                    r"C:\Windows\Panther\UnattendGC\setupact.log and the Windows Update log"
                    if (self.row.data or {}).get("windows")
                    else "/var/log/cloud-init-output.log"
                )
                raise RefreshFailed(
                    f"the update script on {vm.name} did not power the guest off within "
                    f"{timeout:.0f}s ({source}); the VM is {vm.status}",
                    f"{vm.name} is left running for inspection: open its console and read "
                    f"{log_hint}; retry waits again, cancel removes the build VM",
                    code="script_timeout",
                )
            if vm.status not in RUNNING:
                raise RefreshFailed(
                    f"{vm.name} is {vm.status} while its script runs",
                    "check the engine's events for the VM",
                    code="unexpected_status",
                )
            self.sleep()
            vm = self.build_vm()
        return f"the script finished and powered {vm.name} off", {}

    def find_new_version(self) -> Template | None:
        new_template_id = self.row.new_template_id
        if new_template_id:
            try:
                return self.call(
                    "read the new version",
                    lambda: self.engine.get_template(new_template_id, correlation_id=self.cid),
                    changes=False,
                )
            except EngineNotFound:
                pass
        for template in self.versions():
            if template.version_name == self.row.new_version_name and template.version_number > (
                self.row.source_version or 0
            ):
                return template
        return None

    def step_sealing(self) -> tuple[str, dict[str, Any]]:
        windows = bool((self.row.data or {}).get("windows"))
        how = "sealed by sysprep in the guest" if windows else "sealed by the engine"
        deadline = time.monotonic() + self.timing.clone_limit(
            int((self.row.data or {}).get("disk_gib") or 0)
        )
        while True:
            # Reconcile on every attempt: a create whose answer was lost (or that lands late)
            # is found by the name chosen at planning, never made twice.
            found = self.find_new_version()
            if found is not None:
                break
            vm = self.build_vm()
            if vm.status == "down":
                source_description = next(
                    (t.description for t in self.versions() if t.id == self.row.source_template_id),
                    "",
                )
                base_id, version_name = self.row.base_template_id, self.row.new_version_name
                assert base_id is not None and version_name is not None  # set when planned
                try:
                    found = self.call(
                        f"create version {self.row.new_version_name} of {self.row.template_name}",
                        partial(
                            self.engine.create_template_version,
                            vm.id,
                            name=self.row.template_name,
                            base_template_id=base_id,
                            version_name=version_name,
                            description=source_description,
                            seal=not windows,
                            correlation_id=self.cid,
                        ),
                        retry_locked=False,
                    )
                    break
                except EngineLocked:
                    pass  # made locked meanwhile (by a create of ours that landed late): look again
            elif vm.status != "image_locked":
                raise RefreshFailed(
                    f"{vm.name} is {vm.status}; a version is made from a down VM",
                    "stop it on the engine, then retry",
                    code="unexpected_status",
                )
            if time.monotonic() > deadline:
                raise RefreshFailed(
                    f"{vm.name} stays {vm.status} and no version "
                    f"{self.row.new_version_name} appeared",
                    "check the engine's Tasks and Events for the template, then retry",
                    code="stuck_image_locked",
                )
            self.sleep()
        self.save(new_template_id=found.id, new_version_number=found.version_number)
        return f"version {found.version_number} ({found.version_name}) {how}", {}

    def step_seal_wait(self) -> tuple[str, dict[str, Any]]:
        limit = self.timing.clone_limit(int((self.row.data or {}).get("disk_gib") or 0))
        while True:
            version = self.find_new_version()
            if version is None:
                raise RefreshFailed(
                    f"version {self.row.new_version_name} is gone from the engine",
                    "retry from sealing: cancel and refresh again",
                    code="version_gone",
                )
            if version.status == "ok":
                return f"{version.label} is ok", {}
            if version.status == "illegal":
                raise RefreshFailed(
                    f"{version.label} is illegal",
                    "check the engine's events for the template's disks; cancel removes it",
                    code="template_illegal",
                )
            waited = self.since("seal_wait")
            if waited > limit:
                raise RefreshFailed(
                    f"{version.label} is still {version.status} after {waited:.0f}s",
                    "check the engine's Tasks for the copy; retry once it is ok",
                    code="stuck_template_locked",
                )
            self.sleep()

    def step_cleanup(self) -> tuple[str, dict[str, Any]]:
        vm = self.find_build_vm()
        if vm is None:
            return f"{self.row.build_vm_name} is gone", {}
        self.remove_vm(vm)
        return f"removed {vm.name}", {}

    def step_recording(self) -> tuple[str, dict[str, Any]]:
        templates = self.call(
            "read the catalog",
            lambda: refresh_catalog(self.engine, self.store, self.row.engine),
            changes=False,
        )
        new = next((t for t in templates if t.id == self.row.new_template_id), None)
        if new is None:
            raise RefreshFailed(
                "the new version is not in the engine's catalog",
                "check the engine's templates, then retry",
                code="version_gone",
            )
        return (
            f"catalog: {new.label} ({new.version_name}) sealed {new.created_at:%Y-%m-%d %H:%M}",
            {},
        )

    # ------------------------------------------------------------ cancelling
    def remove_vm(self, vm: Vm) -> None:
        deadline = time.monotonic() + max(
            self.timing.retry_budget_seconds, 10 * self.timing.poll_seconds
        )
        while True:
            current = self.call(
                "read the build VM",
                lambda: self.engine.get_vm(vm.id, detail=False, correlation_id=self.cid),
                changes=False,
            )
            if current.status == "down":
                break
            if current.status in RUNNING or current.status in (
                "paused",
                "suspended",
                "not_responding",
            ):
                try:
                    self.call(
                        f"stop {vm.name}",
                        lambda: self.engine.stop_vm(vm.id, correlation_id=self.cid),
                    )
                except EngineRejected as error:
                    if "not running" not in (error.detail or error.message):
                        raise
            if time.monotonic() > deadline:
                raise RefreshFailed(
                    f"{vm.name} did not stop (it is {current.status})",
                    "stop it on the engine, then try again",
                    code="stop_failed",
                )
            time.sleep(self.timing.poll_seconds)
        try:
            self.call(
                f"remove {vm.name}", lambda: self.engine.remove_vm(vm.id, correlation_id=self.cid)
            )
        except EngineNotFound:
            pass

    def rollback(self) -> repo.TemplateRefresh:
        """Remove the build VM and a version this refresh made; nothing else."""
        self.rolling_back = True
        row = self.refresh()
        step = row.failed_step or row.state
        notes = []
        vm = self.find_build_vm()
        if vm is not None:
            self.remove_vm(vm)
            notes.append(f"removed build VM {vm.name}")
        # A version with this refresh's name was made by it (the name is unique per template,
        # chosen when the refresh was planned), even when the create call's answer was lost.
        version = self.find_new_version() if row.new_version_name else None
        if version is not None:
            deadline = time.monotonic() + self.timing.clone_limit(
                int((row.data or {}).get("disk_gib") or 0)
            )
            while version.status == "locked" and time.monotonic() < deadline:
                time.sleep(self.timing.poll_seconds)
                version = self.find_new_version() or version
            self.call(
                f"remove {version.label}",
                lambda: self.engine.remove_template(version.id, correlation_id=self.cid),
            )
            notes.append(f"removed {version.label}, which this refresh made")
            try:
                refresh_catalog(self.engine, self.store, row.engine)
            except EngineError:
                notes.append("the catalog cache is refreshed at the next read")
        position = transition(Position.of(row.state, row.failed_step), "cancel")
        self.record(
            "finished",
            step,
            "cancelled: " + ("; ".join(notes) or "nothing to remove"),
            state=position.state.value,
            failed_step=None,
            finished_at=utcnow(),
            data={"cancel_requested": None, "cancelled_at_step": step},
        )
        return self.row


HINTS = {
    RefreshState.CLONING: "check the engine's events and the storage domain's free space, then retry",
    RefreshState.BOOTING: "check the build VM's console and the engine's events, then retry",
    RefreshState.SEALING: "check the build VM is down and the storage domain has room, then retry",
    RefreshState.CLEANUP: "remove the build VM on the engine, then retry",
}
