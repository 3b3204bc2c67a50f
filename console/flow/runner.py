"""The runner: drives a job through its steps against the engine, exactly once.

Reconcile, not replay: every step first reads what the engine has (the VM is found by its
deterministic name and the order/job marks it carries), then does only what is missing.
State and events are committed before and after each engine call that changes
something, so a `kill -9` at any instant leaves a job that `resume` finishes without a
second VM. Busy engines (locked, 5xx, timeouts) are retried with backoff; refusals fail
the step at once with the engine's reason. One runner per job, by lease.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from console.errors import BadInput, ConsoleError
from console.flow import firstboot, job_secrets, marks
from console.flow.events import ProgressEvent
from console.flow.licenses import KIND_LABELS, check_license, normalise_license
from console.flow.machine import STEPS, State, transition
from console.flow.plan import Plan, resource_diff
from console.flow.preflight import blocking, preflight, warnings
from console.flow.timing import Timing
from console.ovirt import Engine, EngineError, EngineNotFound, EngineRejected, Vm
from console.secrets import admin_password_secret, license_secret, mask, require_kept
from console.store import audit
from console.store import jobs as repo
from console.store.claims import claim_order
from console.store.models import Job, Order, utcnow
from console.units import format_mib

if TYPE_CHECKING:
    from console.flow.services import Services

log = logging.getLogger(__name__)
T = TypeVar("T")

STEP_TITLES = {
    "planned": "checking the job's keys and password are in the secret store",
    "cloning": "creating the VM as a full clone of the template",
    "clone_wait": "waiting for the engine to copy the template's disks",
    "resizing": "setting vCPU and memory, growing the disk",
    "initializing": "storing hostname, password, keys and first-boot script on the VM",
    "starting": "booting the VM with cloud-init / sysprep",
    "ip_wait": "waiting for the guest agent to report the IP and hostname",
    "handover": "handing the server over to billing",
}
RUNNING_STATUSES = ("up", "powering_up", "wait_for_launch", "reboot_in_progress")


class StepFailed(ConsoleError):
    """A step cannot finish; `code` names the kind of failure for scripts."""

    def __init__(self, message: str, hint: str | None = None, *, code: str = "step_failed"):
        super().__init__(message, hint)
        self.code = code


class JobBusy(ConsoleError):
    """Another runner holds the job (or the order)."""


class PreflightBlocked(BadInput):
    def __init__(self, message: str, hint: str | None, checks: list):
        super().__init__(message, hint)
        self.checks = checks


class _Cancelled(Exception):
    pass


class _LeaseLost(Exception):
    pass


class _Heartbeat(threading.Thread):
    def __init__(self, store, job_id: str, owner: str, every: float):
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.store, self.job_id, self.owner, self.every = store, job_id, owner, every
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                if not repo.heartbeat(self.store, self.job_id, self.owner):
                    self.lost = True
                    return
            except Exception:  # noqa: BLE001 - a busy database must not kill the runner
                log.warning("heartbeat of job %s failed", self.job_id, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()


def usable_ips(ips: tuple[str, ...]) -> tuple[str, ...]:
    """Addresses a customer can reach: no link-local, IPv4 first."""
    return tuple(ip for ip in ips if not ip.lower().startswith("fe80:")
                 and not ip.startswith("169.254."))


def hostname_matches(reported: str | None, plan: Plan) -> bool:
    if not reported:
        return False
    reported = reported.lower().rstrip(".")
    if "." in reported:
        return reported == plan.hostname
    # Windows guests report their NetBIOS computer name only.
    return reported == plan.hostname.split(".")[0][:15]


def resource_changes(order: Order, plan: Plan) -> list[str]:
    """What the engineer changed from what the customer ordered, e.g. 'RAM 4GiB -> 8GiB'."""
    shown = {"vCPU": str, "RAM": format_mib, "disk": lambda gib: f"{gib} GiB"}
    return [f"{label} {shown[label](ordered)} -> {shown[label](planned)}"
            for label, ordered, planned, changed in resource_diff(order, plan) if changed]


# What to do instead of retrying a job that has not failed.
RETRY_HINTS = {
    "done": "nothing to retry: the VM is up and handed over (vps-console jobs show shows it)",
    "cancelled": "a cancelled job stays cancelled: provision the order again "
                 "(vps-console provision ORDER, or p in the console)",
}


class Runner:
    """Launches, runs, resumes, retries and cancels provisioning jobs."""

    def __init__(self, services: "Services", *,
                 on_event: Callable[[ProgressEvent], None] | None = None,
                 timing: Timing | None = None):
        self.services = services
        self.store = services.store
        self.on_event = on_event
        self.timing = timing or Timing.from_env()
        self.actor = services.actor

    # --------------------------------------------------------------- launching
    def launch(self, order_id: str, plan: Plan, licenses: dict[str, str],
               admin_password: str | None = None, confirm_warnings: bool = False) -> Job:
        """Claim the order, keep the secrets, and persist a `planned` job. Does not run it."""
        licenses = {kind: normalise_license(kind, value) for kind, value in licenses.items()
                    if value}
        problems = [p for p in (check_license(kind, licenses.get(kind))
                                for kind in plan.key_kinds) if p]
        if problems:
            raise BadInput("; ".join(f"{p.field}: {p.message}" for p in problems),
                           problems[0].fix)
        require_kept(self.services.secrets)  # a job nobody could resume is not launched
        config = self.services.config
        checks = preflight(self.services.engine(plan.engine), plan, licenses,
                           config.catalog.stale_after_days)
        failed = blocking(checks)
        if failed:
            raise PreflightBlocked("preflight failed: " + "; ".join(
                f"{c.name}: {c.message}" for c in failed), failed[0].fix or None, checks)
        warned = warnings(checks)
        if warned and not confirm_warnings:
            raise PreflightBlocked("preflight has warnings to confirm: " + "; ".join(
                f"{c.name}: {c.message}" for c in warned),
                "confirm them (--yes in the CLI) to launch anyway", checks)
        claim = claim_order(self.store, order_id, self.actor)
        if not claim.won:
            if claim.holder and claim.holder != self.actor and "claimed by" in claim.reason:
                hint = "pick another order, or ask the holder to release it"
            else:  # done, cancelled in billing, needs mapping, gone: nobody to ask
                hint = (f"see why with vps-console orders show {order_id} (and jobs list "
                        "--all); a done order is not provisioned twice")
            raise JobBusy(claim.reason or f"order {order_id} is claimed by {claim.holder}",
                          hint)
        existing = repo.open_job_for_order(self.store, order_id)
        if existing is not None:
            raise self._busy_with(existing)
        plan = replace(plan, license_masks={kind: mask(licenses[kind]) for kind in plan.key_kinds})
        # The job row decides between two launches of one order (the same engineer in two
        # terminals passes the claim twice), yet must never exist without its secrets: they
        # are staged under the job's own id first (see console.flow.job_secrets).
        job_id = repo.new_job_id()
        password, adoption = job_secrets.admin_password_for(
            self.services.engine(plan.engine), self.services.secrets, plan, admin_password)
        job_secrets.stage(self.services.secrets, job_id,
                          {kind: licenses[kind] for kind in plan.key_kinds}, password)
        try:
            job = repo.create_job(self.store, order_id=order_id, plan=plan.to_dict(),
                                  engine=plan.engine, created_by=self.actor, leased=True,
                                  job_id=job_id, data={"preflight": [c.__dict__ for c in checks],
                                                       "warnings_confirmed": bool(warned)})
        except repo.OpenJobExists as exists:
            job_secrets.discard(self.services.secrets, job_id, plan.key_kinds)
            existing = repo.open_job_for_order(self.store, order_id)
            raise (self._busy_with(existing) if existing is not None
                   else JobBusy(exists.message, exists.hint)) from None
        try:
            if adoption:
                self._record(job, "info", "planned", adoption[0],
                             **({"warning": True} if adoption[1] else {}))
            job_secrets.promote(self.services.secrets, job.id, order_id, plan.key_kinds)
        finally:
            repo.release_lease(self.store, job.id, self.actor)
        repo.set_order_status(self.store, order_id, "provisioning",
                              template_name=plan.template_name)
        self._audit_launch(job, plan)
        self._emit(job, "finished", "planned", f"job {job.id} planned: {plan.vm_name} from "
                   f"{plan.template_name} v{plan.template_version}", 0.0)
        return job

    def _audit(self, action: str, job: Job, message: str, **data: Any) -> None:
        """A line in the audit trail; callers pass masked values only."""
        with self.store.session() as session:
            audit.record(session, action, actor=self.actor, order_id=job.order_id,
                         job_id=job.id, message=message, **data)

    def _audit_launch(self, job: Job, plan: Plan) -> None:
        """The launch, what it changed from the order and the keys given: one commit."""
        with self.store.session() as session:
            def record(action: str, message: str, **data: Any) -> None:
                audit.record(session, action, actor=self.actor, order_id=job.order_id,
                             job_id=job.id, message=message, **data)

            record("launch", f"{plan.vm_name} from {plan.template_name} "
                   f"v{plan.template_version} on {plan.engine}/{plan.cluster}: {plan.cpus} "
                   f"vCPU, {format_mib(plan.memory_mib)}, {plan.disk_gib} GiB",
                   template=plan.template_name, version=plan.template_version)
            order = session.get(Order, job.order_id)
            changes = resource_changes(order, plan) if order is not None else []
            if changes:
                record("resources_changed", "; ".join(changes))
            for kind in plan.key_kinds:
                record("license_given", f"{kind} key {plan.license_masks.get(kind, '')}",
                       license=kind)

    @staticmethod
    def _busy_with(existing: Job) -> JobBusy:
        holder = (f", run by {existing.owner} (pid {existing.owner_pid})" if existing.owner
                  else "")
        return JobBusy(f"order {existing.order_id} already has job {existing.id} "
                       f"({existing.state}{holder})", f"resume it (vps-console jobs resume) or "
                       f"cancel it (vps-console jobs cancel {existing.id})")

    # --------------------------------------------------------------- running
    def run(self, job_id: str) -> Job:
        """Run the job until it is done, failed or cancelled (blocking)."""
        job = self._job(job_id)
        if State(job.state, job.failed_step).terminal:
            return job
        lease = repo.acquire_lease(self.store, job_id, self.actor,
                                   lease_seconds=self.timing.lease_seconds)
        if not lease.won:
            raise JobBusy(f"job {job_id} for order {job.order_id} is being run by "
                          f"{lease.describe()}", "wait for it to finish, or if that runner "
                          "is gone, resume once its lease lapses")
        heart = _Heartbeat(self.store, job_id, self.actor, self.timing.lease_seconds / 3)
        heart.start()
        try:
            repo.update_job(self.store, job_id, attempts=job.attempts + 1)
            if lease.took_over_from:
                self._record(job, "info", job.state, f"took the job over from "
                             f"{lease.took_over_from}, whose runner is gone")
            return _Run(self, job_id, heart).go()
        finally:
            heart.stop()
            repo.release_lease(self.store, job_id, self.actor)

    def resume_unfinished(self) -> list[str]:
        """Run every job left unfinished (crash, closed console); returns the ids run."""
        candidates = repo.list_jobs(self.store, states=repo.UNFINISHED_STATES)
        candidates += [j for j in repo.list_jobs(self.store, states=("failed",))
                       if (j.data or {}).get("cancel_requested")]
        ran = []
        for job in sorted(candidates, key=lambda j: j.created_at):
            try:
                self.run(job.id)
                ran.append(job.id)
            except JobBusy as busy:
                self._record(job, "info", job.state, f"not resumed: {busy.message}",
                             persist=False)
        return ran

    def retry(self, job_id: str, *, run: bool = True) -> Job:
        """Put a failed job back at the step that failed, and (by default) run it."""
        job = self._job(job_id)
        if job.state != "failed":
            raise BadInput(f"job {job_id} is {job.state}; only failed jobs can be retried",
                           RETRY_HINTS.get(job.state, "an unfinished job goes on with "
                                           "vps-console jobs resume"))
        state = transition(State("failed", job.failed_step), "retry")
        repo.update_job(self.store, job_id, state=state.name, failed_step=None,
                        error_code=None, error_message=None, error_hint=None,
                        data={f"since_{state.name}": None})
        repo.set_order_status(self.store, job.order_id, "provisioning")
        self._record(job, "info", state.name, f"retry from {state.name} by {self.actor}")
        self._audit("retry", job, f"retry from {state.name} (failed: "
                    f"{(job.error_message or '')[:120]})")
        return self.run(job_id) if run else self._job(job_id)

    def cancel(self, job_id: str) -> Job:
        """Roll back: remove the VM only if this job created it; the order goes back to the
        queue. When another runner holds the job, it rolls back at its next check."""
        job = self._job(job_id)
        if State(job.state, job.failed_step).terminal:
            raise BadInput(f"job {job_id} is {job.state}; there is nothing to cancel")
        repo.update_job(self.store, job_id, data={"cancel_requested": self.actor})
        self._record(job, "info", job.state, f"cancel requested by {self.actor}")
        self._audit("cancel", job, f"cancel at {job.state}" + (f" ({job.failed_step})"
                                                               if job.failed_step else ""))
        lease = repo.acquire_lease(self.store, job_id, self.actor,
                                   lease_seconds=self.timing.lease_seconds)
        if not lease.won:
            return self._job(job_id)
        try:
            job = self._job(job_id)
            if State(job.state, job.failed_step).terminal:
                return job  # the runner that held it rolled back (or finished) in between
            return _Run(self, job_id, None).rollback()
        finally:
            repo.release_lease(self.store, job_id, self.actor)

    # --------------------------------------------------------------- helpers
    def _job(self, job_id: str) -> Job:
        job = repo.find_job(self.store, job_id)
        if job is None:
            raise BadInput(f"no job {job_id}", "list jobs with vps-console jobs list")
        return job

    def _emit(self, job: Job, kind: str, step: str | None, message: str,
              elapsed: float, state: str | None = None) -> None:
        if self.on_event is None:
            return
        event = ProgressEvent(job_id=job.id, order_id=job.order_id, state=state or job.state,
                              step=step, kind=kind, message=message, at=utcnow(),
                              elapsed_seconds=elapsed)
        try:
            self.on_event(event)
        except Exception:  # noqa: BLE001 - a broken display must not break provisioning
            log.warning("progress listener failed", exc_info=True)

    def _record(self, job: Job, kind: str, step: str | None, message: str, *,
                elapsed: float = 0.0, state: str | None = None, persist: bool = True,
                **data: Any) -> None:
        if persist:
            stored_kind = {"started": "step_started", "finished": "step_finished",
                           "failed": "step_failed"}.get(kind, kind)
            repo.add_event(self.store, job_id=job.id, order_id=job.order_id, kind=stored_kind,
                           step=step, actor=self.actor, message=message, **data)
        self._emit(job, kind, step, message, elapsed, state)


class _Run:
    """One pass of one job through its remaining steps, holding its lease."""

    def __init__(self, runner: Runner, job_id: str, heart: _Heartbeat | None):
        self.runner = runner
        self.store = runner.store
        self.timing = runner.timing
        self.job_id = job_id
        self.heart = heart
        self.job = runner._job(job_id)
        self.plan = Plan.from_dict(self.job.plan)
        self.engine: Engine = runner.services.engine(self.plan.engine or None)
        self.started = time.monotonic()
        self.rolling_back = False

    # ----------------------------------------------------------- bookkeeping
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def record(self, kind: str, step: str | None, message: str, **data: Any) -> None:
        self.runner._record(self.job, kind, step, message, elapsed=self.elapsed(),
                            state=self.job.state, **data)

    def refresh(self) -> Job:
        self.job = self.runner._job(self.job_id)
        return self.job

    def save(self, **values: Any) -> Job:
        self.job = repo.update_job(self.store, self.job_id, **values)
        return self.job

    def check(self) -> None:
        """Between engine calls: stop if the lease was lost or a cancel was asked for."""
        if self.heart is not None and self.heart.lost:
            raise _LeaseLost()
        if not self.rolling_back and (self.refresh().data or {}).get("cancel_requested"):
            raise _Cancelled()

    def sleep(self, seconds: float) -> None:
        self.check()
        time.sleep(seconds)
        self.check()

    def since(self, step: str) -> float:
        """Seconds since `step` first began (persisted, so a resume keeps the clock)."""
        key = f"since_{step}"
        stamp = (self.job.data or {}).get(key)
        if stamp is None:
            now = utcnow()
            self.save(data={key: now.isoformat()})
            return 0.0
        return (utcnow() - datetime.fromisoformat(stamp)).total_seconds()

    def call(self, what: str, operation: Callable[[], T], *, changes: bool = True) -> T:
        """An engine call with backoff on busy/unavailable; changes are journaled around it."""
        step = self.job.state
        if changes:
            repo.add_event(self.store, job_id=self.job_id, order_id=self.job.order_id,
                           kind="engine", step=step, actor=self.runner.actor,
                           message=f"calling: {what}", phase="before")
        delay = self.timing.backoff_first_seconds
        deadline = time.monotonic() + self.timing.retry_budget_seconds
        while True:
            if not self.rolling_back:
                self.check()
            try:
                result = operation()
                break
            except EngineError as error:
                if not error.retryable or time.monotonic() + delay > deadline:
                    raise
                self.record("info", step, f"{error.message}; retrying in {delay:.1f}s")
                time.sleep(delay)
                delay = min(delay * 2, self.timing.backoff_max_seconds)
        if changes:
            repo.add_event(self.store, job_id=self.job_id, order_id=self.job.order_id,
                           kind="engine", step=step, actor=self.runner.actor,
                           message=f"done: {what}", phase="after")
        return result

    def read_vm(self, vm_id: str, *, detail: bool = True) -> Vm:
        return self.call(f"read VM {self.plan.vm_name}", lambda: self.engine.get_vm(
            vm_id, detail=detail, correlation_id=self.job.correlation_id), changes=False)

    def secrets(self) -> tuple[dict[str, str], str]:
        store = self.runner.services.secrets
        # A launch killed after committing the job left its secrets staged: move them now.
        job_secrets.promote(store, self.job_id, self.plan.order_id, self.plan.key_kinds)
        licenses = {}
        for kind in self.plan.key_kinds:
            value = store.get(license_secret(self.plan.order_id, kind))
            if not value:
                raise StepFailed(f"the {KIND_LABELS[kind]} for order {self.plan.order_id} is not "
                                 "in the secret store", f"vps-console credentials set license "
                                 f"{self.plan.order_id} {kind}, then retry the job",
                                 code="secret_missing")
            licenses[kind] = value
        password = store.get(admin_password_secret(self.plan.order_id))
        if not password:
            raise StepFailed(f"the admin password for order {self.plan.order_id} is not in "
                             "the secret store", "vps-console credentials set admin-password "
                             f"{self.plan.order_id}, then retry the job", code="secret_missing")
        return licenses, password

    # ----------------------------------------------------------- the loop
    def go(self) -> Job:
        while True:
            job = self.refresh()
            if (job.data or {}).get("cancel_requested"):
                return self.rollback()
            state = State(job.state, job.failed_step)
            if state.terminal or state.name == "failed":
                return job
            step = state.name
            resumed = bool((job.data or {}).get(f"since_{step}")) or step != "planned" and \
                any(e.step == step and e.kind == "step_started"
                    for e in repo.job_events(self.store, self.job_id, limit=6))
            self.record("started", step, ("resuming: " if resumed else "") + STEP_TITLES[step])
            try:
                message, values = getattr(self, f"step_{step}")()
            except _Cancelled:
                return self.rollback()
            except _LeaseLost:
                raise JobBusy(f"job {self.job_id} was taken over by another runner while this "
                              "one was stalled", "check `vps-console jobs show` for who runs it")
            except ConsoleError as error:
                return self.fail(state, error)
            new = transition(state, "advance")
            extra = dict(values)
            data = dict(extra.pop("data", {}) or {})
            data[f"since_{step}"] = None
            if new.name == "done":
                extra["finished_at"] = utcnow()
            self.save(state=new.name, failed_step=None, data=data, **extra)
            self.record("finished", step, message)
            if step == "initializing":
                for kind in self.plan.key_kinds:
                    self.runner._audit("license_applied", self.job, f"{kind} key "
                                       f"{self.plan.license_masks.get(kind, '')} on "
                                       f"{self.plan.vm_name}", license=kind)
            if new.name == "done":
                repo.set_order_status(self.store, self.job.order_id, "done")
                late = (self.refresh().data or {}).get("cancel_requested")
                if late:
                    self.save(data={"cancel_requested": None})
                    self.record("info", None, f"the cancel asked by {late} came after the "
                                "handover had begun: the order is handed over and the VM stays "
                                "(remove it, and cancel the order in WHMCS, by hand if needed)")
                self.record("finished", None, f"{self.plan.vm_name} is ready: "
                            f"{', '.join(self.job.ips)}")
                return self.job

    def fail(self, state: State, error: ConsoleError) -> Job:
        failed = transition(state, "fail")
        code = getattr(error, "code", None) or type(error).__name__
        self.save(state=failed.name, failed_step=failed.failed_step, error_code=str(code),
                  error_message=error.message, error_hint=error.hint)
        repo.set_order_status(self.store, self.job.order_id, "failed")
        self.record("failed", state.name, error.message, hint=error.hint, code=str(code))
        return self.job

    # ----------------------------------------------------------- the steps
    def step_planned(self) -> tuple[str, dict]:
        licenses, _ = self.secrets()
        kinds = ", ".join(f"{k} {mask(v)}" for k, v in licenses.items()) or "no keys needed"
        return f"secrets in place ({kinds})", {}

    def _ours(self, vm: Vm) -> None:
        owner = marks.order_of(vm)
        if owner != self.plan.order_id:
            said = f"belongs to order {owner}" if owner else "carries no order mark"
            raise StepFailed(f"a VM named {vm.name} already exists on the engine and {said}; "
                             "it is not touched", "rename or remove that VM on the engine, or "
                             "change [naming] vm_name, then retry", code="name_collision")

    def ensure_vm(self) -> tuple[Vm, str]:
        """The job's VM: found by name and marks, else created. Never a second one."""
        plan = self.plan
        found = self.call(f"look up VM {plan.vm_name}", lambda: self.engine.find_vm(
            plan.vm_name, correlation_id=self.job.correlation_id), changes=False)
        if found is not None:
            self._ours(found)
            mine = marks.job_of(found) == self.job_id
            self.save(vm_id=found.id, vm_name=found.name, vm_created_by_job=mine)
            return found, f"adopted {found.name} ({found.status}), already on the engine"
        try:
            created = self.call(f"create VM {plan.vm_name} from {plan.template_name} "
                                f"v{plan.template_version}", lambda: self.engine.clone_vm(
                                    plan.vm_name, template_id=plan.template_id,
                                    cluster=plan.cluster,
                                    description=marks.description(plan.order_id, plan.service_id,
                                                                  self.job_id),
                                    comment=marks.comment(plan.order_id, plan.service_id,
                                                          self.job_id),
                                    correlation_id=self.job.correlation_id))
        except EngineRejected as error:
            if "already in use" not in (error.detail or error.message):
                raise
            # Someone (our own earlier, lost request) created it meanwhile: adopt.
            return self.ensure_vm()
        self.save(vm_id=created.id, vm_name=created.name, vm_created_by_job=True)
        return created, f"created {created.name} ({created.id})"

    def step_cloning(self) -> tuple[str, dict]:
        vm, message = self.ensure_vm()
        return message, {}

    def current_vm(self, *, detail: bool = True) -> Vm:
        if self.job.vm_id:
            try:
                return self.read_vm(self.job.vm_id, detail=detail)
            except EngineNotFound:
                pass
        vm, message = self.ensure_vm()
        self.record("info", self.job.state, f"the VM was not where the job left it: {message}")
        return vm

    def step_clone_wait(self) -> tuple[str, dict]:
        vm = self.current_vm(detail=False)
        limit = self.timing.clone_limit(self.plan.disk_gib)
        while vm.status == "image_locked":
            waited = self.since("clone_wait")
            if waited > limit:
                raise StepFailed(
                    f"{vm.name} is still image_locked after {waited:.0f}s; a {self.plan.disk_gib} "
                    f"GiB clone should take at most {limit:.0f}s", "check the engine's Tasks "
                    "and Events for the disk copy, and the storage domain's health; retry "
                    "once the VM is no longer locked", code="stuck_image_locked")
            self.sleep(self.timing.poll_seconds)
            vm = self.read_vm(vm.id, detail=False)
        vm = self.read_vm(vm.id)
        tag = marks.tag_name(self.plan.order_id)
        if tag not in vm.tags:
            self.call(f"tag {vm.name} with {tag}", lambda: self.engine.tag_vm(
                vm.id, tag, description=f"order {self.plan.order_id}",
                correlation_id=self.job.correlation_id))
        return f"{vm.name} copied ({vm.status}), tagged {tag}", {}

    def step_resizing(self) -> tuple[str, dict]:
        plan = self.plan
        vm = self.current_vm()
        changes: dict[str, int] = {}
        if vm.cpus != plan.cpus:
            changes["cpus"] = plan.cpus
        if vm.memory_mib != plan.memory_mib:
            changes["memory_mib"] = plan.memory_mib
            changes["max_memory_mib"] = plan.memory_mib * 4
        if vm.guaranteed_mib != plan.guaranteed_mib:
            changes["guaranteed_mib"] = plan.guaranteed_mib
        if changes:
            self.call(f"set {vm.name} to {plan.cpus} vCPU, {plan.memory_mib} MiB",
                      lambda: self.engine.update_vm(vm.id, correlation_id=self.job.correlation_id,
                                                    **changes))
        disks = vm.disks or self.call("list disks", lambda: self.engine.vm_disks(
            vm.id, correlation_id=self.job.correlation_id), changes=False)
        if not disks:
            raise StepFailed(f"{vm.name} has no disk", "check the template has a disk",
                             code="no_disk")
        disk = next((d for d in disks if d.bootable), disks[0])
        if disk.provisioned_gib < plan.disk_gib:
            self.call(f"extend disk {disk.alias} to {plan.disk_gib} GiB", lambda: (
                self.engine.extend_disk(vm.id, disk.id, plan.disk_gib,
                                        correlation_id=self.job.correlation_id)))
        current = disk
        while True:
            current = self.call("read disk", lambda: self.engine.get_disk(
                disk.id, correlation_id=self.job.correlation_id), changes=False)
            if current.status != "locked" and current.provisioned_gib >= plan.disk_gib:
                break
            waited = self.since("resizing")
            if waited > self.timing.disk_extend_seconds:
                raise StepFailed(f"disk {disk.alias} is still {current.status} at "
                                 f"{current.provisioned_gib} GiB after {waited:.0f}s",
                                 "check the engine's Tasks for the extend and the storage "
                                 "domain", code="stuck_disk")
            self.sleep(self.timing.poll_seconds)
        return (f"{plan.cpus} vCPU, {plan.memory_mib} MiB (guaranteed {plan.guaranteed_mib}), "
                f"disk {current.provisioned_gib} GiB"), {}

    def initialization(self):
        licenses, password = self.secrets()
        return firstboot.initialization(self.plan, licenses, password)

    def step_initializing(self) -> tuple[str, dict]:
        init = self.initialization()
        vm = self.current_vm(detail=False)
        if vm.init_host_name != init.host_name:
            self.call(f"store {init.kind} settings on {vm.name}", lambda: self.engine.update_vm(
                vm.id, initialization=init, correlation_id=self.job.correlation_id))
        keys = ", ".join(f"{k} {m}" for k, m in self.plan.license_masks.items()) or "none"
        return f"{init.kind}: hostname {init.host_name}, keys {keys}", {}

    def step_starting(self) -> tuple[str, dict]:
        vm = self.current_vm(detail=False)
        started_here = False
        seen_running = vm.status in RUNNING_STATUSES
        if vm.status == "down":
            init = self.initialization()
            try:
                self.call(f"start {vm.name} with {init.kind}", lambda: self.engine.start_vm(
                    vm.id, init, correlation_id=self.job.correlation_id))
                started_here = True
            except EngineRejected as error:
                if "is running" not in (error.detail or error.message):
                    raise
        elif vm.status not in RUNNING_STATUSES:
            raise StepFailed(f"{vm.name} is {vm.status}; it can only be started from down",
                             "bring it to down (or up) on the engine, then retry",
                             code="unexpected_status")
        while True:
            vm = self.read_vm(vm.id, detail=False)
            if vm.status == "up":
                return f"{vm.name} is up", {}
            seen_running = seen_running or vm.status in RUNNING_STATUSES
            if vm.status == "down" and (started_here or seen_running):
                raise StepFailed(f"{vm.name} went down while booting", "open the VM's console "
                                 "and the engine's events (VM_DOWN_ERROR); fix and retry",
                                 code="boot_failed")
            waited = self.since("starting")
            if waited > self.timing.boot_seconds:
                raise StepFailed(f"{vm.name} is still {vm.status} after {waited:.0f}s",
                                 "check the host it runs on and the VM's console",
                                 code="stuck_boot")
            self.sleep(self.timing.poll_seconds)

    def step_ip_wait(self) -> tuple[str, dict]:
        plan = self.plan
        ip_since = None
        while True:
            vm = self.current_vm()
            if vm.status in ("down", "paused", "suspended"):
                raise StepFailed(f"{vm.name} is {vm.status}; it stopped before reporting an IP",
                                 "check its console and the engine's events, then retry "
                                 "(the starting step runs again)", code="vm_stopped")
            ips = usable_ips(vm.ips)
            waited = self.since("ip_wait")
            if ips and hostname_matches(vm.fqdn, plan):
                return (f"guest reports {', '.join(ips)} as {vm.fqdn}",
                        {"ips": list(ips)})
            if ips:
                ip_since = ip_since if ip_since is not None else time.monotonic()
                if vm.fqdn and time.monotonic() - ip_since > self.timing.hostname_grace_seconds:
                    raise StepFailed(
                        f"the guest reports hostname {vm.fqdn!r} but the plan says "
                        f"{plan.hostname!r}", f"check that {plan.init_kind} ran (VM console; "
                        + ("/var/log/cloud-init.log" if plan.init_kind == "cloud-init" else
                           r"C:\Windows\Panther\UnattendGC\setupact.log")
                        + ") and that the template was sealed; fix the name, then retry",
                        code="hostname_mismatch")
            if waited > self.timing.ip_seconds and ips:
                # The address came, the name did not: say so, not "no IP".
                raise StepFailed(
                    f"{vm.name} reports {', '.join(ips)} but no hostname after {waited:.0f}s; "
                    f"the plan says {plan.hostname!r} and handover needs it confirmed",
                    "check the guest agent runs in the VM and reports the FQDN "
                    "(qemu-guest-agent / oVirt guest tools), and that "
                    f"{plan.init_kind} set the hostname; then retry", code="no_hostname")
            if waited > self.timing.ip_seconds:
                raise StepFailed(f"{vm.name} reported no IP address in {waited:.0f}s",
                                 "check the guest agent runs in the VM (qemu-guest-agent / "
                                 "oVirt guest tools) and that its NIC is on a network with "
                                 "DHCP", code="no_ip")
            self.sleep(self.timing.poll_seconds)

    def step_handover(self) -> tuple[str, dict]:
        from console.billing.handover import handover

        _, password = self.secrets()
        with self.store.session() as session:
            order = session.get(Order, self.job.order_id)
        if order is None:
            raise StepFailed(f"order {self.job.order_id} is gone from the store",
                             "sync orders again, then retry", code="order_missing")
        client = self.runner.services.billing() if order.source == "whmcs" else None
        if order.source == "whmcs" and client is None:
            raise StepFailed("this order came from WHMCS but billing is not configured",
                             'set [billing] kind = "whmcs" with url and identifier, then retry',
                             code="billing_missing")
        # A cancel is honoured up to the first write to billing; from there the handover
        # completes, so that WHMCS never holds the credentials of a VM that was removed.
        result = handover(client, order, list(self.job.ips), self.plan.admin_user, password,
                          actor=self.runner.actor, before_first_write=self.check,
                          after_service_update=lambda: self.save(
                              data={"billing_service_updated": True}))
        repo.set_order_status(self.store, order.id, order.status, handed_over_at=utcnow())
        return "; ".join(result.steps), {"data": {"handover": result.to_dict()}}

    # ----------------------------------------------------------- cancelling
    def rollback(self) -> Job:
        """Remove the VM if (and only if) this job created it, then cancel the job."""
        self.rolling_back = True
        job = self.refresh()
        step = job.failed_step or job.state
        vm = None
        try:
            if job.vm_id:
                vm = self.read_vm(job.vm_id, detail=False)
        except EngineNotFound:
            vm = None
        if vm is None:
            vm = self.call("look up VM", lambda: self.engine.find_vm(
                self.plan.vm_name, correlation_id=job.correlation_id), changes=False)
        billing_note = self.withdraw_billing(job)
        if vm is not None and marks.job_of(vm) == self.job_id:
            self.remove(vm)
            note = f"removed {vm.name}, which this job created"
        elif vm is not None:
            note = f"left {vm.name} alone: this job did not create it"
        else:
            note = "no VM to remove"
        if billing_note:
            note += f"; {billing_note}"
        state = transition(State(job.state, job.failed_step), "cancel")
        self.save(state=state.name, failed_step=None, finished_at=utcnow(),
                  data={"cancel_requested": None, "cancelled_at_step": step})
        repo.set_order_status(self.store, job.order_id, "new", release=True)
        self.record("finished", step, f"cancelled: {note}; order {job.order_id} is back in "
                    "the queue")
        return self.job

    def withdraw_billing(self, job: Job) -> str | None:
        """A handover that wrote to WHMCS but never finished leaves the service pointing at
        this VM: take that back before the VM goes. A failure here does not stop the cancel."""
        if not (job.data or {}).get("billing_service_updated"):
            return None
        from console.billing.errors import BillingError
        from console.billing.handover import withdraw_handover

        with self.store.session() as session:
            order = session.get(Order, job.order_id)
        try:
            client = self.runner.services.billing()
            if order is None or client is None:
                return None
            note = withdraw_handover(client, order)
        except (BillingError, ConsoleError) as error:
            note = (f"could not withdraw the handover from WHMCS ({error.message}): clear the "
                    f"IPs of service {order.service_id if order else '?'} and set it Pending "
                    "by hand")
        self.record("info", job.state, note)
        self.save(data={"billing_service_updated": None})
        return note

    def remove(self, vm: Vm) -> None:
        deadline = time.monotonic() + self.timing.retry_budget_seconds
        while True:
            current = self.read_vm(vm.id, detail=False)
            if current.status == "down":
                break
            if current.status in RUNNING_STATUSES or current.status in (
                    "paused", "suspended", "not_responding", "powering_down"):
                if current.status != "powering_down":
                    try:
                        self.call(f"stop {vm.name}", lambda: self.engine.stop_vm(
                            vm.id, correlation_id=self.job.correlation_id))
                    except EngineRejected as error:
                        if "not running" not in (error.detail or error.message):
                            raise
            if time.monotonic() > deadline:
                raise StepFailed(f"{vm.name} did not stop (it is {current.status})",
                                 "stop it on the engine, then cancel again", code="stop_failed")
            time.sleep(self.timing.poll_seconds)
        try:
            self.call(f"remove {vm.name}", lambda: self.engine.remove_vm(
                vm.id, correlation_id=self.job.correlation_id))
        except EngineNotFound:
            pass


__all__ = ["JobBusy", "PreflightBlocked", "Runner", "StepFailed", "STEPS", "resource_changes"]
