"""The runner: drives a job through its steps against the engine, exactly once.

Reconcile, not replay: every step first reads what the engine has (the VM is found by its
deterministic name and the order/job marks it carries), then does only what is missing.
State and events are committed before and after each engine call that changes
something, so a `kill -9` at any instant leaves a job that `resume` finishes without a
second VM. Busy engines (locked, 5xx, timeouts) are retried with backoff; refusals fail
the step at once with the engine's reason. One runner per job, by lease.

The parts: errors (console.flow.errors), the run context shared by the steps
(console.flow.context), the steps and their table (console.flow.steps), cancelling
(console.flow.rollback). This module keeps the public API and the loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from console.errors import BadInput, ConsoleError
from console.flow import amend, clone_slots, eta, job_secrets, parking, vault
from console.flow.context import ENGINE_NAMES, VM_AT_LAUNCH, Heartbeat, RunContext
from console.flow.errors import Cancelled, JobBusy, LeaseLost, PreflightBlocked, StepFailed
from console.flow.events import ProgressEvent
from console.flow.licenses import check_license, normalise_license
from console.flow.machine import STEPS, Event, State, transition
from console.flow.passwords import validated_admin_password
from console.flow.plan import Plan, resource_changes
from console.flow.preflight import Check, Reads, blocking, preflight, warnings
from console.flow.rollback import rollback
from console.flow.steps import STEP_ACTIONS, STEP_TITLES
from console.flow.timing import Timing
from console.secrets import mask, require_kept
from console.store import audit
from console.store import jobs as repo
from console.store.claims import claim_order
from console.store.db import StoreUnavailable
from console.store.models import CANCEL_REQUESTED, Job, JobEvent, Order, since_key, utcnow
from console.store.orders import set_order_status
from console.store.states import (
    PARKED_JOB_STATES,
    UNFINISHED_JOB_STATES,
    JobState,
    OrderStatus,
    Step,
)
from console.units import format_mib

if TYPE_CHECKING:
    from console.flow.services import Services

log = logging.getLogger(__name__)


# What to do instead of retrying a job that has not failed.
RETRY_HINTS = {
    JobState.DONE: "nothing to retry: the VM is up and handed over "
    "(vps-console jobs show shows it)",
    JobState.CANCELLED: "a cancelled job stays cancelled: provision the order again "
    "(vps-console provision ORDER, or p in the console)",
}


class Runner:
    """Launches, runs, resumes, retries and cancels provisioning jobs."""

    def __init__(
        self,
        services: Services,
        *,
        on_event: Callable[[ProgressEvent], None] | None = None,
        timing: Timing | None = None,
    ):
        self.services = services
        self.store = services.store
        self.on_event = on_event
        self.timing = timing or Timing.from_env()
        self.actor = services.actor

    # --------------------------------------------------------------- launching
    def launch(
        self,
        order_id: str,
        plan: Plan,
        licenses: dict[str, str],
        admin_password: str | None = None,
        confirm_warnings: bool = False,
    ) -> Job:
        """Claim the order, keep the secrets, and persist a `planned` job. Does not run it.
        An order pre-cloned on payment goes on with its parked job instead (console.flow.parking)."""
        if admin_password is not None:
            validated_admin_password(admin_password)
        licenses, checks, reads = self._check_launch(plan, licenses, confirm_warnings)
        self._claim(order_id)
        existing = repo.open_job_for_order(self.store, order_id)
        if existing is not None and existing.state == JobState.READY_FOR_ENGINEER:
            job = parking.take_on(self, existing, plan, licenses, admin_password, checks)
            self._record(job, "info", job.state, f"pre-cloned VM taken on by {self.actor}")
            with self.store.session() as session:
                order = session.get(Order, order_id)
                given = amend.engineer_provided(order, plan, self.services.config.catalog)
            self._audit_launch(job, Plan.from_dict(job.plan), given)
            return job
        if existing is not None:
            raise parking.busy_preclone(existing) or self._busy_with(existing)
        plan = replace(plan, license_masks={kind: mask(licenses[kind]) for kind in plan.key_kinds})
        # The job row decides between two launches of one order (the same engineer in two
        # terminals passes the claim twice), yet must never exist without its secrets: they
        # are staged under the job's own id first (see console.flow.job_secrets).
        # License vault: the launch's keys against the vault (a pasted key sends the reserved
        # one back; one held by another order or retired is refused before any job exists).
        vault.on_launch(self.store, self.services.secrets, order_id, licenses, actor=self.actor)
        job_id = repo.new_job_id()
        password, adoption = job_secrets.admin_password_for(
            self.services.engine(plan.engine),
            self.services.secrets,
            plan,
            admin_password,
            looked_up=reads.name_looked_up,
            found=reads.vm,
        )
        job_secrets.stage(
            self.services.secrets,
            job_id,
            {kind: licenses[kind] for kind in plan.key_kinds},
            password,
        )
        try:
            job = repo.create_job(
                self.store,
                order_id=order_id,
                plan=plan.to_dict(),
                engine=plan.engine,
                created_by=self.actor,
                leased=True,
                job_id=job_id,
                data={
                    "preflight": [c.__dict__ for c in checks],
                    "warnings_confirmed": bool(warnings(checks)),
                    VM_AT_LAUNCH: reads.vm is not None,
                    clone_slots.DOMAIN: reads.storage_domain,
                    ENGINE_NAMES: {
                        "clusters": reads.cluster_names,
                        "templates": reads.template_names,
                    },
                },
            )
        except repo.OpenJobExists as exists:
            job_secrets.discard(self.services.secrets, job_id, plan.key_kinds)
            existing = repo.open_job_for_order(self.store, order_id)
            raise (
                self._busy_with(existing)
                if existing is not None
                else JobBusy(exists.message, exists.hint)
            ) from None
        try:
            if adoption:
                flags: dict[str, Any] = {"warning": True} if adoption[1] else {}
                self._record(job, "info", "planned", adoption[0], **flags)
            job_secrets.promote(self.services.secrets, job.id, order_id, plan.key_kinds)
        finally:
            repo.release_lease(self.store, job.id, self.actor)
        with self.store.session() as session:
            order = session.get(Order, order_id)  # read before its status moves on
            given = amend.engineer_provided(order, plan, self.services.config.catalog)
        set_order_status(
            self.store, order_id, OrderStatus.PROVISIONING, template_name=plan.template_name
        )
        self._audit_launch(job, plan, given)
        self._emit(
            job,
            "finished",
            "planned",
            f"job {job.id} planned: {plan.vm_name} from "
            f"{plan.template_name} v{plan.template_version}",
            0.0,
        )
        return job

    def _check_launch(
        self, plan: Plan, licenses: dict[str, str], confirm_warnings: bool
    ) -> tuple[dict[str, str], list[Check], Reads]:
        """The keys normalised and checked, the secret store able to keep them, the
        preflight passed (warnings confirmed): what every launch needs first, and what the
        preflight read of the engine (the run reuses it instead of reading again)."""
        licenses = {
            kind: normalise_license(kind, value) for kind, value in licenses.items() if value
        }
        problems = [
            p for p in (check_license(kind, licenses.get(kind)) for kind in plan.key_kinds) if p
        ]
        if problems:
            raise BadInput("; ".join(f"{p.field}: {p.message}" for p in problems), problems[0].fix)
        require_kept(self.services.secrets)  # a job nobody could resume is not launched
        config = self.services.config
        reads = Reads()
        checks = preflight(
            self.services.engine(plan.engine),
            plan,
            licenses,
            config.catalog.stale_after_days,
            reads=reads,
        )
        failed = blocking(checks)
        if failed:
            raise PreflightBlocked(
                "preflight failed: " + "; ".join(f"{c.name}: {c.message}" for c in failed),
                failed[0].fix or None,
                checks,
            )
        warned = warnings(checks)
        if warned and not confirm_warnings:
            raise PreflightBlocked(
                "preflight has warnings to confirm: "
                + "; ".join(f"{c.name}: {c.message}" for c in warned),
                "confirm them (--yes in the CLI) to launch anyway",
                checks,
            )
        return licenses, checks, reads

    def _claim(self, order_id: str) -> None:
        claim = claim_order(self.store, order_id, self.actor)
        if not claim.won:
            if claim.holder and claim.holder != self.actor and "claimed by" in claim.reason:
                hint = "pick another order, or ask the holder to release it"
            else:  # done, cancelled in billing, needs mapping, gone: nobody to ask
                hint = (
                    f"see why with vps-console orders show {order_id} (and jobs list "
                    "--all); a done order is not provisioned twice"
                )
            raise JobBusy(claim.reason or f"order {order_id} is claimed by {claim.holder}", hint)

    def _audit(self, action: str, job: Job, message: str, **data: Any) -> None:
        """A line in the audit trail; callers pass masked values only."""
        with self.store.session() as session:
            audit.record(
                session,
                action,
                actor=self.actor,
                order_id=job.order_id,
                job_id=job.id,
                message=message,
                **data,
            )

    def _audit_launch(self, job: Job, plan: Plan, given: dict[str, str]) -> None:
        """The launch, what it changed from the order, what the engineer gave for what the
        order lacked, and the keys given: one commit."""
        with self.store.session() as session:

            def record(action: str, message: str, **data: Any) -> None:
                audit.record(
                    session,
                    action,
                    actor=self.actor,
                    order_id=job.order_id,
                    job_id=job.id,
                    message=message,
                    **data,
                )

            record(
                "launch",
                f"{plan.vm_name} from {plan.template_name} "
                f"v{plan.template_version} on {plan.engine}/{plan.cluster}: {plan.cpus} "
                f"vCPU, {format_mib(plan.memory_mib)}, {plan.disk_gib} GiB",
                template=plan.template_name,
                version=plan.template_version,
            )
            order = session.get(Order, job.order_id)
            changes = resource_changes(order, plan) if order is not None else []
            if changes:
                record("resources_changed", "; ".join(changes))
            if given:
                record(
                    "engineer_provided",
                    "the order lacked these; the engineer gave "
                    + ", ".join(f"{name} {value}" for name, value in given.items()),
                    fields=list(given),
                )
            for kind in plan.key_kinds:
                record(
                    "license_given", f"{kind} key {plan.license_masks.get(kind, '')}", license=kind
                )

    @staticmethod
    def _busy_with(existing: Job) -> JobBusy:
        holder = f", run by {existing.owner} (pid {existing.owner_pid})" if existing.owner else ""
        return JobBusy(
            f"order {existing.order_id} already has job {existing.id} ({existing.state}{holder})",
            f"resume it (vps-console jobs resume) or "
            f"cancel it (vps-console jobs cancel {existing.id})",
        )

    # --------------------------------------------------------------- running
    def run(self, job_id: str) -> Job:
        """Run the job until it is done, failed or cancelled (blocking)."""
        job = self._job(job_id)
        if State(job.state, job.failed_step).terminal:
            return job
        lease = repo.acquire_lease(
            self.store, job_id, self.actor, lease_seconds=self.timing.lease_seconds
        )
        if not lease.won:
            raise JobBusy(
                f"job {job_id} for order {job.order_id} is being run by {lease.describe()}",
                "wait for it to finish, or if that runner is gone, resume once its lease lapses",
            )
        heart = Heartbeat(self.store, job_id, self.actor, self.timing.lease_seconds / 3)
        heart.start()
        try:
            job = repo.update_job(self.store, job_id, attempts=job.attempts + 1)
            if lease.took_over_from:
                self._record(
                    job,
                    "info",
                    job.state,
                    f"took the job over from {lease.took_over_from}, whose runner is gone",
                )
            ctx = RunContext(self, job_id, heart, job=job)
            try:
                return self._go(ctx)
            finally:
                try:
                    ctx.flush_journal()
                except StoreUnavailable:  # the pass already stops on it; lines only
                    log.warning("journal of job %s not written", job_id, exc_info=True)
        finally:
            heart.stop()
            repo.release_lease(self.store, job_id, self.actor)

    def unfinished_jobs(self) -> list[Job]:
        """Jobs left unfinished (crash, closed console) and failed ones with a cancel
        pending, oldest first: what `resume` runs."""
        candidates = repo.list_jobs(self.store, states=UNFINISHED_JOB_STATES)
        candidates += [
            j
            for j in repo.list_jobs(self.store, states=(JobState.FAILED,))
            if j.cancel_requested_by
        ]
        return sorted(candidates, key=lambda j: j.created_at)

    def resume_unfinished(self) -> list[str]:
        """Run every job left unfinished, one after another; returns the ids run."""
        ran = []
        for job in self.unfinished_jobs():
            try:
                self.run(job.id)
                ran.append(job.id)
            except JobBusy as busy:
                self._record(job, "info", job.state, f"not resumed: {busy.message}", persist=False)
        return ran

    def retry(self, job_id: str, *, run: bool = True, plan: Plan | None = None) -> Job:
        """Put a failed job back at the step that failed, and (by default) run it; with
        `plan`, its values for the steps not yet done replace the job's (console.flow.amend
        says which may change)."""
        job = self._job(job_id)
        if job.state != JobState.FAILED:
            raise BadInput(
                f"job {job_id} is {job.state}; only failed jobs can be retried",
                RETRY_HINTS.get(
                    job.state, "an unfinished job goes on with vps-console jobs resume"
                ),
            )
        state = transition(State(JobState.FAILED, job.failed_step), Event.RETRY)
        edits: dict[str, Any] = {}
        if plan is not None:
            amended, changes = amend.amend_plan(Plan.from_dict(job.plan), plan, job.failed_step)
            if changes:
                edits["plan"] = amended.to_dict()
                self._audit("plan_amended", job, "; ".join(changes))
        repo.update_job(
            self.store,
            job_id,
            **edits,
            state=state.name,
            failed_step=None,
            error_code=None,
            error_message=None,
            error_hint=None,
            data={since_key(state.name): None},
        )
        set_order_status(self.store, job.order_id, OrderStatus.PROVISIONING)
        self._record(job, "info", state.name, f"retry from {state.name} by {self.actor}")
        self._audit(
            "retry", job, f"retry from {state.name} (failed: {(job.error_message or '')[:120]})"
        )
        return self.run(job_id) if run else self._job(job_id)

    def cancel(self, job_id: str) -> Job:
        """Roll back: remove the VM only if this job created it; the order goes back to the
        queue. When another runner holds the job, it rolls back at its next check."""
        job = self._job(job_id)
        if State(job.state, job.failed_step).terminal:
            raise BadInput(f"job {job_id} is {job.state}; there is nothing to cancel")
        repo.update_job(self.store, job_id, data={CANCEL_REQUESTED: self.actor})
        self._record(job, "info", job.state, f"cancel requested by {self.actor}")
        self._audit(
            "cancel",
            job,
            f"cancel at {job.state}" + (f" ({job.failed_step})" if job.failed_step else ""),
        )
        lease = repo.acquire_lease(
            self.store, job_id, self.actor, lease_seconds=self.timing.lease_seconds
        )
        if not lease.won:
            return self._job(job_id)
        try:
            job = self._job(job_id)
            if State(job.state, job.failed_step).terminal:
                return job  # the runner that held it rolled back (or finished) in between
            return rollback(RunContext(self, job_id, None))
        finally:
            repo.release_lease(self.store, job_id, self.actor)

    # --------------------------------------------------------------- the loop
    def _go(self, ctx: RunContext) -> Job:
        """Step after step until the job is done, failed or cancelled."""
        first = True
        # The job as its last read or write in this pass left it, when nothing came
        # between: the pass's start, a step's end (whose save read the row). A cancel
        # asked meanwhile is seen at the next step's first check, before it calls.
        fresh = True
        announced: Step | None = None  # the step whose started event the last save wrote
        while True:
            job = ctx.job if fresh else ctx.refresh()
            fresh = False
            if job.cancel_requested_by:
                return rollback(ctx)
            state = State(job.state, job.failed_step)
            if state.terminal or state.name in (JobState.FAILED, *PARKED_JOB_STATES):
                return job
            step = Step(state.name)
            # Only the pass's first step can have been begun before (a crash, a retry): the
            # others were entered by this pass. A step that began waiting carries its
            # start (RunContext.since); one that did not is told by its events.
            resumed = bool(job.step_began_at(step)) or (
                first
                and step != Step.PLANNED
                and any(
                    e.step == step and e.kind == "step_started"
                    for e in repo.job_events(ctx.store, ctx.job_id, limit=6)
                )
            )
            first = False
            title = ("resuming: " if resumed else "") + STEP_TITLES[step]
            if announced == step:  # written with the previous step's end
                ctx.emit("started", step, title)
            else:
                ctx.record("started", step, title)
            began = time.monotonic()
            try:
                message, values = STEP_ACTIONS[step](ctx)
            except Cancelled:
                return rollback(ctx)
            except LeaseLost:
                raise JobBusy(
                    f"job {ctx.job_id} was taken over by another runner while this one was stalled",
                    "check `vps-console jobs show` for who runs it",
                ) from None
            except StoreUnavailable:
                # Not the step's failure: the job stays where it was, for `jobs resume` once
                # the store can write again (a failed state could be recorded in the little
                # room left, and would need a retry nobody owes).
                raise
            except ConsoleError as error:
                return self._fail(ctx, state, error)
            new = parking.next_state(job, state, step)
            extra = dict(values)
            data = dict(extra.pop("data", {}) or {})
            data[since_key(step)] = None
            if new.name == JobState.DONE:
                extra["finished_at"] = utcnow()
            events = [ctx.event("finished", step, message)]
            # The next step's start goes with this one's end: one commit, not two. (A cancel
            # seen before it begins leaves the event said; a crash before it, a next pass
            # that calls the step resumed: both only words.)
            announced = next((s for s in STEP_ACTIONS if str(s) == str(new.name)), None)
            if announced is not None:
                events.append(ctx.event("started", announced, STEP_TITLES[announced]))
            ctx.save(state=new.name, failed_step=None, data=data, events=events, **extra)
            ctx.emit("finished", step, message)
            eta.record(ctx, step, time.monotonic() - began, resumed=resumed)
            if new.name == JobState.READY_FOR_ENGINEER:
                parking.on_parked(ctx)
                return ctx.job
            if step == Step.INITIALIZING:
                for kind in ctx.plan.key_kinds:
                    self._audit(
                        "license_applied",
                        ctx.job,
                        f"{kind} key {ctx.plan.license_masks.get(kind, '')} on {ctx.plan.vm_name}",
                        license=kind,
                    )
            if new.name == JobState.DONE:
                set_order_status(ctx.store, ctx.job.order_id, OrderStatus.DONE)
                late = ctx.refresh().cancel_requested_by
                if late:
                    ctx.save(data={CANCEL_REQUESTED: None})
                    ctx.record(
                        "info",
                        None,
                        f"the cancel asked by {late} came after the "
                        "handover had begun: the order is handed over and the VM stays "
                        "(remove it, and cancel the order in WHMCS, by hand if needed)",
                    )
                ctx.record(
                    "finished", None, f"{ctx.plan.vm_name} is ready: {', '.join(ctx.job.ips)}"
                )
                return ctx.job
            fresh = True

    def _fail(self, ctx: RunContext, state: State, error: ConsoleError) -> Job:
        failed = transition(state, Event.FAIL)
        code = getattr(error, "code", None) or type(error).__name__
        ctx.save(
            state=failed.name,
            failed_step=failed.failed_step,
            error_code=str(code),
            error_message=error.message,
            error_hint=error.hint,
        )
        set_order_status(ctx.store, ctx.job.order_id, OrderStatus.FAILED)
        ctx.record("failed", state.name, error.message, hint=error.hint, code=str(code))
        return ctx.job

    # --------------------------------------------------------------- helpers
    def _job(self, job_id: str) -> Job:
        job = repo.find_job(self.store, job_id)
        if job is None:
            raise BadInput(f"no job {job_id}", "list jobs with vps-console jobs list")
        return job

    def _emit(
        self,
        job: Job,
        kind: str,
        step: str | None,
        message: str,
        elapsed: float,
        state: str | None = None,
    ) -> None:
        if self.on_event is None:
            return
        event = ProgressEvent(
            job_id=job.id,
            order_id=job.order_id,
            state=state or job.state,
            step=step,
            kind=kind,
            message=message,
            at=utcnow(),
            elapsed_seconds=elapsed,
        )
        try:
            self.on_event(event)
        except Exception:  # a broken display must not break provisioning
            log.warning("progress listener failed", exc_info=True)

    def _record(
        self,
        job: Job,
        kind: str,
        step: str | None,
        message: str,
        *,
        elapsed: float = 0.0,
        state: str | None = None,
        persist: bool = True,
        before: list[JobEvent] | None = None,
        **data: Any,
    ) -> None:
        """Write the event (after `before`, in the same commit) and tell the listener."""
        if persist:
            repo.add_events(
                self.store, [*(before or []), self._event(job, kind, step, message, **data)]
            )
        self._emit(job, kind, step, message, elapsed, state)

    def _event(self, job: Job, kind: str, step: str | None, message: str, **data: Any) -> JobEvent:
        stored_kind = {
            "started": "step_started",
            "finished": "step_finished",
            "failed": "step_failed",
        }.get(kind, kind)
        return repo.new_event(
            job_id=job.id,
            order_id=job.order_id,
            kind=stored_kind,
            step=step,
            actor=self.actor,
            message=message,
            **data,
        )


__all__ = ["JobBusy", "PreflightBlocked", "Runner", "StepFailed", "STEPS", "resource_changes"]
