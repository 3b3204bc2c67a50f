"""Intake: what a paid order sets off, by its product's `on_paid` policy.

- queue: nothing; the order waits for an engineer (the default).
- preclone: a job clones the VM from the mapped template at the template's own size and
  parks at ready_for_engineer (console.flow.parking); the engineer's launch goes on.
- provision: the whole job, with no human, when the plan needs none: no key to paste
  (or the vault has it), within the product's limits, a preflight without warnings.
  Otherwise as preclone, with the reason kept on the job and the order.

Every open console (after each billing sync) and `vps-console worker` run the same pass.
It acts on an order only while the order has no job at all, so it acts once: two passes
racing for one order are told apart by the store's one-open-job-per-order index (the
loser's insert fails and it moves on), and a pre-clone an engineer cancelled is not
cloned again. Billing's cancel or refund of a pre-cloned order cancels the parked job,
which removes the VM it created.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from console.billing.mapping import mapping_for_order
from console.config import IntakePolicy, ProductMapping
from console.errors import ConsoleError
from console.flow import parking, vault
from console.flow.errors import JobBusy, PreflightBlocked
from console.flow.licenses import KIND_LABELS
from console.flow.plan import Draft, Overrides, Plan, draft_plan
from console.flow.preflight import blocking, preflight, warnings
from console.store import audit
from console.store import jobs as repo
from console.store.models import Order, merge_data, utcnow
from console.store.orders import list_orders
from console.store.states import (
    PARKED_JOB_STATES,
    UNFINISHED_JOB_STATES,
    JobState,
    OrderStatus,
)

if TYPE_CHECKING:
    from console.flow.runner import Runner

INTAKE = "intake"  # Order.data: {"policy", "job", "reason", "at"} of the intake's decision


class IntakeAction(StrEnum):
    PRECLONED = "precloned"  # a parked pre-clone job was created
    PROVISIONED = "provisioned"  # a full job was launched, no human needed
    FELL_BACK = "fell_back"  # provision policy, but a human is needed: pre-clone
    NOT_PLANNED = "not_planned"  # not even a clone can be planned (reason kept)
    RELEASED = "released"  # cancelled in billing: its pre-clone was cancelled


@dataclass(frozen=True)
class IntakeLine:
    order_id: str
    action: IntakeAction
    job_id: str | None = None
    reason: str | None = None

    def text(self) -> str:
        job = f" job {self.job_id}" if self.job_id else ""
        why = f": {self.reason}" if self.reason else ""
        return f"order {self.order_id} {self.action}{job}{why}"


@dataclass
class IntakeReport:
    lines: list[IntakeLine] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def job_ids(self) -> list[str]:
        """Jobs to run now (created or launched by this pass)."""
        return [
            line.job_id
            for line in self.lines
            if line.job_id and line.action != IntakeAction.RELEASED
        ]


def policy_of(product: ProductMapping | None) -> IntakePolicy:
    return product.on_paid if product is not None else IntakePolicy.QUEUE


def run_intake(runner: Runner, *, only: Iterable[str] | None = None) -> IntakeReport:
    """One intake pass over the store: release what billing ended, then take the new paid
    orders of preclone/provision products (`only`: just these order ids). Does not run
    the jobs (the caller does)."""
    wanted = set(only) if only is not None else None
    services = runner.services
    report = IntakeReport()
    release_ended(runner, report)
    candidates: list[tuple[Order, ProductMapping]] = []
    for order in list_orders(services.store, statuses=(OrderStatus.NEW,)):
        if wanted is not None and order.id not in wanted:
            continue
        product = mapping_for_order(services.config.catalog, order)
        if policy_of(product) == IntakePolicy.QUEUE or product is None:
            continue
        if repo.list_jobs(services.store, order_id=order.id, limit=1):
            continue  # taken in before, launched by hand, or cancelled: never again
        candidates.append((order, product))
    products = dict((order.id, product) for order, product in candidates)
    for order, draft in drafts(runner, [order for order, _ in candidates]):
        product = products[order.id]
        try:
            line = _take(runner, order, product, draft)
        except ConsoleError as error:
            report.problems.append(f"order {order.id}: {error.message}")
            continue
        if line is not None:
            report.lines.append(line)
    return report


def _take(runner: Runner, order: Order, product: ProductMapping, draft: Draft) -> IntakeLine | None:
    policy = policy_of(product)
    if draft.plan is None:
        why = "; ".join(f"{p.field}: {p.message}" for p in draft.problems) or "no plan"
        if _note(runner, order, policy, None, why):
            return IntakeLine(order.id, IntakeAction.NOT_PLANNED, reason=why)
        return None  # said before
    plan = draft.plan
    reason: str | None = None
    if policy == IntakePolicy.PROVISION:
        keys, reason = _human_needed(runner, order, draft)
        if reason is None:
            try:
                job = runner.launch(order.id, plan, keys)
            except PreflightBlocked as blocked:
                reason = blocked.message
            except JobBusy:
                return None  # another console or worker got there first
            else:
                _note(runner, order, policy, job.id, None)
                return IntakeLine(order.id, IntakeAction.PROVISIONED, job.id)
    job_id = _preclone(runner, order, plan, policy, reason)
    if job_id is None:
        return None
    action = IntakeAction.FELL_BACK if reason else IntakeAction.PRECLONED
    return IntakeLine(order.id, action, job_id, reason)


def _human_needed(
    runner: Runner, order: Order, draft: Draft, *, check: bool = True
) -> tuple[dict[str, str], str | None]:
    """The keys of a plan that needs nobody, or why it needs an engineer; `check` also
    runs the preflight (warnings count as needing one)."""
    plan = draft.plan
    if plan is None or draft.problems:
        return {}, "; ".join(f"{p.field}: {p.message}" for p in draft.problems) or "no plan"
    services = runner.services
    keys = vault.keys_for_plan(
        services.store, services.secrets, order.id, plan.key_kinds, actor=runner.actor
    )
    missing = [kind for kind in plan.key_kinds if kind not in keys]
    if missing:
        names = ", ".join(KIND_LABELS[kind] for kind in missing)
        return keys, f"needs a key the license vault has none of in stock: {names}"
    if not check:
        return keys, None
    checks = preflight(
        services.engine(plan.engine), plan, keys, services.config.catalog.stale_after_days
    )
    flagged = blocking(checks) or warnings(checks)
    if flagged:
        return keys, "preflight: " + "; ".join(f"{c.name}: {c.message}" for c in flagged)
    return keys, None


def _preclone(
    runner: Runner, order: Order, plan: Plan, policy: IntakePolicy, reason: str | None
) -> str | None:
    """A parked job for the order (None when another pass created one first)."""
    try:
        job = repo.create_job(
            runner.store,
            order_id=order.id,
            plan=plan.to_dict(),
            engine=plan.engine,
            created_by=runner.actor,
            data={
                parking.PARK: True,
                parking.INTAKE_POLICY: str(policy),
                **({parking.READY_REASON: reason} if reason else {}),
            },
        )
    except repo.OpenJobExists:
        return None
    _note(runner, order, policy, job.id, reason)
    return job.id


def _note(
    runner: Runner, order: Order, policy: IntakePolicy, job_id: str | None, reason: str | None
) -> bool:
    """The intake's decision on the order and in the audit trail; False when the same
    decision was noted already (a plan that keeps failing is said once)."""
    decision = {"policy": str(policy), "job": job_id, "reason": reason}
    with runner.store.session() as session:
        row = session.get(Order, order.id)
        if row is None:
            return False
        before = (row.data or {}).get(INTAKE) or {}
        if job_id is None and {k: before.get(k) for k in decision} == decision:
            return False
        row.data = merge_data(row.data, {INTAKE: {**decision, "at": utcnow().isoformat()}})
        session.add(row)
        audit.record(
            session,
            "intake",
            actor=runner.actor,
            order_id=order.id,
            job_id=job_id,
            message=f"on_paid = {policy}: "
            + (f"left to an engineer ({reason})" if reason else f"job {job_id}"),
            policy=str(policy),
        )
    return True


@dataclass(frozen=True)
class Ready:
    """An order whose plan is complete with no engineer's input: what to launch."""

    order: Order
    plan: Plan
    keys: dict[str, str]


def complete_plan(runner: Runner, order: Order, draft: Draft) -> Ready | str:
    """The order's plan and keys when nothing is left to a human, else why not."""
    keys, reason = _human_needed(runner, order, draft, check=False)
    if reason is not None or draft.plan is None:
        return reason or "no plan"
    return Ready(order, draft.plan, keys)


def drafts(runner: Runner, orders: list[Order]) -> list[tuple[Order, Draft]]:
    """Each order's plan as the intake makes it: the mapped product, the order's sizes."""
    if not orders:
        return []
    services = runner.services
    engine = services.engine()
    templates, clusters = engine.list_templates(), engine.clusters()
    catalog = services.config.catalog
    return [
        (
            order,
            draft_plan(
                order,
                mapping_for_order(catalog, order),
                templates,
                services.config,
                Overrides(),
                clusters=clusters,
            ),
        )
        for order in orders
    ]


def all_ready(runner: Runner) -> tuple[list[Ready], list[tuple[str, str]]]:
    """`provision --all-ready`: orders ready for the engineer, and new ones, whose plan is
    complete (the rest with why not)."""
    orders = list_orders(runner.store, statuses=(OrderStatus.READY_FOR_ENGINEER, OrderStatus.NEW))
    ready: list[Ready] = []
    left: list[tuple[str, str]] = []
    for order, draft in drafts(runner, orders):
        outcome = complete_plan(runner, order, draft)
        if isinstance(outcome, Ready):
            ready.append(outcome)
        else:
            left.append((order.id, outcome))
    return ready, left


def intake_reason(order: Order) -> str | None:
    """Why the intake left the order to an engineer, if it did."""
    return reason_in(order.data)


def reason_in(data: dict[str, Any] | None) -> str | None:
    """The intake's reason recorded in an order's `data` (read without the whole order)."""
    reason = ((data or {}).get(INTAKE) or {}).get("reason")
    return str(reason) if reason is not None else None


def release_ended(runner: Runner, report: IntakeReport) -> None:
    """Pre-clones of orders cancelled or refunded in billing: cancelled, so their VMs go."""
    states = (*UNFINISHED_JOB_STATES, *PARKED_JOB_STATES, JobState.FAILED)
    for job in repo.list_jobs(runner.store, states=states):
        if not parking.parks(job) or job.cancel_requested_by:
            continue
        with runner.store.session() as session:
            order = session.get(Order, job.order_id)
        if order is None or order.status != OrderStatus.CANCELLED:
            continue
        try:
            runner.cancel(job.id)
        except ConsoleError as error:
            report.problems.append(f"order {job.order_id}: {error.message}")
            continue
        report.lines.append(
            IntakeLine(
                job.order_id,
                IntakeAction.RELEASED,
                job.id,
                order.problem or f"{order.billing_status or 'cancelled'} in billing",
            )
        )


__all__ = [
    "INTAKE",
    "IntakeAction",
    "IntakeLine",
    "IntakeReport",
    "Ready",
    "all_ready",
    "complete_plan",
    "drafts",
    "intake_reason",
    "reason_in",
    "policy_of",
    "release_ended",
    "run_intake",
]
