"""How long a step will take, from how long comparable steps took: the ETA.

Every step a runner finishes is kept (console.store.step_history) with what drives its
duration: the template, the size copied, the storage domain, and whether the VM came from
the warm pool or a clone. A running step's estimate is the median of earlier runs of the
same step on the same storage domain from the same source; for the clone steps it is
scaled by size (the median seconds per GiB times this clone's GiB), as a copy takes time
in proportion to what it copies. Without comparable runs the estimate says so and gives
no number.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from console.config import Config
from console.flow import clone_slots
from console.flow.context import RunContext
from console.flow.plan import Plan
from console.flow.pool import took_from_pool
from console.store import catalog as catalog_cache
from console.store import pool as pool_repo
from console.store import step_history as history
from console.store.db import Store
from console.store.models import Job, Order, ensure_aware, since_key, utcnow
from console.store.states import STEPS, JobState, OrderStatus, Step
from console.store.step_history import StepRun

log = logging.getLogger(__name__)
CLONE_STEPS = (Step.CLONING, Step.CLONE_WAIT)
STORAGE_DOMAIN = clone_slots.DOMAIN  # Job.data: where the VM's disks are, once known
STEP_WORDS: dict[Step, str] = {
    Step.PLANNED: "checks",
    Step.CLONING: "clone request",
    Step.CLONE_WAIT: "clone",
    Step.RESIZING: "resize",
    Step.INITIALIZING: "initialise",
    Step.STARTING: "boot",
    Step.IP_WAIT: "IP",
    Step.HANDOVER: "handover",
}
SOURCE_WORDS = {"clone": "clones", "pool": "pool takes"}


@dataclass(frozen=True)
class Driver:
    """What drives a job's step durations."""

    template: str
    disk_gib: int  # copied by a clone: the template's disk
    storage_domain: str  # "" while unknown
    source: str  # clone | pool


@dataclass(frozen=True)
class StepEstimate:
    step: Step
    seconds: float | None  # None: no comparable history
    samples: int
    text: str


def format_duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def estimate(runs: Sequence[StepRun], step: Step, driver: Driver) -> StepEstimate:
    """The expected duration of `step` for `driver` from earlier `runs` (any steps, any
    sources: the comparable ones are picked here)."""
    comparable = [
        r
        for r in runs
        if r.step == step
        and r.source == driver.source
        and (not driver.storage_domain or r.storage_domain == driver.storage_domain)
    ]
    word = STEP_WORDS[step]
    where = f" on {driver.storage_domain}" if driver.storage_domain else ""
    scaled = step in CLONE_STEPS and driver.source == "clone" and driver.disk_gib > 0
    size = f" for {driver.disk_gib} GiB" if scaled else ""
    if scaled:
        comparable = [r for r in comparable if r.disk_gib > 0]
    if not comparable:
        return StepEstimate(step, None, 0, f"{word}: no history yet{where}")
    if scaled:
        rate = statistics.median(r.seconds / r.disk_gib for r in comparable)
        seconds = rate * driver.disk_gib
    else:
        seconds = statistics.median(r.seconds for r in comparable)
    earlier = (
        f"{len(comparable)} earlier {SOURCE_WORDS[driver.source]}"
        if step in CLONE_STEPS
        else f"{len(comparable)} earlier run{'s' if len(comparable) != 1 else ''}"
    )
    return StepEstimate(
        step,
        seconds,
        len(comparable),
        f"{word} ~ {format_duration(seconds)}{where}{size}, from {earlier}",
    )


# ---------------------------------------------------------------- drivers
def template_disk_gib(store: Store, plan: Plan) -> int:
    """What a clone copies: the template version's disk, from the catalog cache; the plan's
    disk when the cache does not have it."""
    for record in catalog_cache.cached_catalog(store, plan.engine):
        if record.engine_id == plan.template_id and record.disk_gib:
            return record.disk_gib
    return plan.disk_gib


def driver_of(store: Store, job: Job) -> Driver:
    plan = Plan.from_dict(job.plan)
    data = job.data or {}
    if took_from_pool(data):
        source = "pool"
    elif job.state in (JobState.PLANNED, JobState.CLONING) and _pool_has(store, plan):
        source = "pool"  # not taken yet, but a ready one is there for it
    else:
        source = "clone"
    return Driver(
        template=plan.template_name,
        disk_gib=template_disk_gib(store, plan),
        storage_domain=str(data.get(STORAGE_DOMAIN) or ""),
        source=source,
    )


def _pool_has(store: Store, plan: Plan) -> bool:
    return any(
        r.template_id == plan.template_id
        and r.cluster == plan.cluster
        and r.state == pool_repo.PoolVmState.READY
        for r in pool_repo.rows(store)
    )


# ---------------------------------------------------------------- recording
def record(ctx: RunContext, step: Step, seconds: float, *, resumed: bool) -> None:
    """Keep a finished step's duration. A resumed step's time is only part of it: skipped.
    The history is advice: failing to keep it never fails the step."""
    if resumed:
        return
    try:
        _record(ctx, step, seconds)
    except Exception:
        log.warning("could not keep the duration of step %s", step, exc_info=True)


def _record(ctx: RunContext, step: Step, seconds: float) -> None:
    clone_slots.storage_domain(ctx, advisory=True)  # kept on the job once known
    driver = driver_of(ctx.store, ctx.job)
    history.add(
        ctx.store,
        StepRun(
            job_id=ctx.job_id,
            step=str(step),
            template_name=driver.template,
            disk_gib=driver.disk_gib if step in CLONE_STEPS else ctx.plan.disk_gib,
            storage_domain=driver.storage_domain,
            source=driver.source,
            seconds=seconds,
        ),
    )


# ---------------------------------------------------------------- a job's ETA
@dataclass(frozen=True)
class JobEta:
    current: StepEstimate | None  # the running step
    elapsed: float  # in the running step so far
    later_seconds: float | None  # the steps after it (None: some have no history)
    missing: tuple[Step, ...]  # the steps without history

    @property
    def remaining_seconds(self) -> float | None:
        if self.current is None or self.current.seconds is None:
            return None
        return max(0.0, self.current.seconds - self.elapsed)

    @property
    def to_live_seconds(self) -> float | None:
        if self.missing:
            return None
        return (self.remaining_seconds or 0.0) + (self.later_seconds or 0.0)

    def at(self, elapsed: float) -> JobEta:
        """The same estimate later in the step (a display ticking without re-reading)."""
        return replace(self, elapsed=elapsed)

    def lines(self) -> list[str]:
        out = []
        remaining = self.remaining_seconds
        if self.current is not None:
            line = self.current.text
            if remaining is not None:
                line += (
                    f"; ~ {format_duration(remaining)} left"
                    if remaining > 0
                    else "; taking longer than usual"
                )
            out.append(line)
        out.append(self.to_live_text())
        return out

    def to_live_text(self) -> str:
        seconds = self.to_live_seconds
        if seconds is not None:
            return f"live in ~ {format_duration(seconds)}"
        words = ", ".join(dict.fromkeys(STEP_WORDS[s] for s in self.missing))
        return f"time to live: no history yet ({words})"


def _runs(store: Store) -> list[StepRun]:
    return history.runs(store, [str(s) for s in STEPS])


def job_eta(
    store: Store, job: Job, *, now: datetime | None = None, runs: list[StepRun] | None = None
) -> JobEta:
    """The running step's estimate and what is left of it, and the time until handed
    over; steps done count nothing, steps to come count their whole estimate."""
    moment = now or utcnow()
    runs = _runs(store) if runs is None else runs
    if job.state not in [str(s) for s in STEPS]:
        return JobEta(None, 0.0, 0.0 if job.state == JobState.DONE else None, ())
    driver = driver_of(store, job)
    current_step = Step(job.state)
    current = estimate(runs, current_step, driver)
    began = (job.data or {}).get(since_key(current_step))
    started = ensure_aware(datetime.fromisoformat(began)) if began else ensure_aware(job.updated_at)
    elapsed = max(0.0, (moment - started).total_seconds()) if started else 0.0
    later: float | None = 0.0
    missing = [] if current.seconds is not None else [current_step]
    for step in STEPS[STEPS.index(current_step) + 1 :]:
        guess = estimate(runs, step, driver)
        if guess.seconds is None:
            missing.append(step)
            later = None
        elif later is not None:
            later += guess.seconds
    return JobEta(current, elapsed, later, tuple(missing))


def order_to_live(
    store: Store, driver: Driver, *, runs: list[StepRun] | None = None
) -> tuple[float | None, tuple[Step, ...]]:
    """Expected seconds from launch to handed over for an order not yet launched."""
    runs = _runs(store) if runs is None else runs
    total = 0.0
    missing = []
    for step in STEPS:
        guess = estimate(runs, step, driver)
        if guess.seconds is None:
            missing.append(step)
        else:
            total += guess.seconds
    return (None if missing else total), tuple(missing)


def order_eta_text(store: Store, config: Config, order: Order, job: Job | None) -> str:
    """The queue's expected time to live for one order: its job's, or for an order not
    launched yet, a whole run from the pool (when one is ready for its template) or a clone."""
    if job is not None and job.state in [str(s) for s in STEPS]:
        return job_eta(store, job).to_live_text() if job.plan else ""
    if order.status == OrderStatus.DONE:
        return ""
    mapping = config.catalog.product_for(order.product_name)
    template = (mapping.template if mapping else None) or order.template_name
    if not template:
        return ""
    engine = config.engine().name
    records = [r for r in catalog_cache.cached_catalog(store, engine) if r.name == template]
    latest = max(records, key=lambda r: r.version_number) if records else None
    pooled = latest is not None and any(
        r.template_id == latest.engine_id and r.state == pool_repo.PoolVmState.READY
        for r in pool_repo.rows(store)
    )
    driver = Driver(
        template=template,
        disk_gib=(latest.disk_gib if latest else 0) or (order.disk_gib or 0),
        storage_domain="",
        source="pool" if pooled else "clone",
    )
    seconds, missing = order_to_live(store, driver)
    how = "from the pool" if pooled else "as a clone"
    if seconds is None:
        words = ", ".join(dict.fromkeys(STEP_WORDS[s] for s in missing))
        return f"time to live {how}: no history yet" + (
            f" ({words})" if len(missing) < len(STEPS) else ""
        )
    return f"live ~ {format_duration(seconds)} after launch, {how}"
