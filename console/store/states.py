"""The closed sets of states, written once: a job's steps and states, an order's status.

They live at the bottom layer because the tables are typed with them; the flow (the state
machine, the runner), billing, the CLI and the screens read them from here. Each is a
StrEnum, so a value compares equal to the string stored in the database and in JSON.
"""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    """The steps of a provisioning job, in the order they run."""

    PLANNED = "planned"
    CLONING = "cloning"
    CLONE_WAIT = "clone_wait"
    RESIZING = "resizing"
    INITIALIZING = "initializing"
    STARTING = "starting"
    IP_WAIT = "ip_wait"
    HANDOVER = "handover"


class JobState(StrEnum):
    """Where a job is: at one of its steps, or ended (done, failed at a step, cancelled).

    The steps are spelled out again (an enum cannot extend another) so that a type checker
    sees every member; tests/store/test_states.py holds the two in step."""

    PLANNED = "planned"
    CLONING = "cloning"
    CLONE_WAIT = "clone_wait"
    RESIZING = "resizing"
    INITIALIZING = "initializing"
    STARTING = "starting"
    IP_WAIT = "ip_wait"
    HANDOVER = "handover"
    # Pre-cloned on payment (intake policy preclone/provision): the VM is copied, down,
    # order-marked and never started; the engineer's launch goes on from resizing.
    READY_FOR_ENGINEER = "ready_for_engineer"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OrderStatus(StrEnum):
    NEW = "new"
    NEEDS_MAPPING = "needs_mapping"
    # Its VM was pre-cloned on payment and waits, down, for the engineer's launch.
    READY_FOR_ENGINEER = "ready_for_engineer"
    PROVISIONING = "provisioning"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


STEPS: tuple[Step, ...] = tuple(Step)
# Nothing more happens to a job in these; a failed job can still be retried or cancelled.
TERMINAL_JOB_STATES: frozenset[JobState] = frozenset({JobState.DONE, JobState.CANCELLED})
# A job at one of its steps: a runner is on it, or `jobs resume` will be.
UNFINISHED_JOB_STATES: tuple[JobState, ...] = tuple(JobState(step) for step in Step)
# A job parked for the engineer: not terminal, yet nothing runs it until a launch.
PARKED_JOB_STATES: tuple[JobState, ...] = (JobState.READY_FOR_ENGINEER,)
# Steps that hold a clone slot of a storage domain (console.store.clone_slots).
CLONE_STEPS: tuple[JobState, ...] = (JobState.CLONING, JobState.CLONE_WAIT)
# Orders the queue shows as waiting or in flight.
IN_QUEUE_STATUSES: tuple[OrderStatus, ...] = (
    OrderStatus.NEW,
    OrderStatus.NEEDS_MAPPING,
    OrderStatus.READY_FOR_ENGINEER,
    OrderStatus.PROVISIONING,
    OrderStatus.FAILED,
)
# Orders an engineer may claim (a needs_mapping one to type what billing left out).
CLAIMABLE_STATUSES: tuple[OrderStatus, ...] = (
    OrderStatus.NEW,
    OrderStatus.READY_FOR_ENGINEER,
    OrderStatus.NEEDS_MAPPING,
    OrderStatus.FAILED,
    OrderStatus.PROVISIONING,
)


def step_of(state: JobState | str) -> Step | None:
    """The step a job state names, or None for done/failed/cancelled."""
    return Step(state) if state in Step._value2member_map_ else None


def job_state_text(state: JobState | str, failed_step: str | None) -> str:
    """How a job's state reads in lists and logs: `failed(starting)` for a failure."""
    return f"failed({failed_step})" if state == JobState.FAILED else str(state)


__all__ = [
    "CLAIMABLE_STATUSES",
    "CLONE_STEPS",
    "IN_QUEUE_STATUSES",
    "PARKED_JOB_STATES",
    "STEPS",
    "TERMINAL_JOB_STATES",
    "UNFINISHED_JOB_STATES",
    "JobState",
    "OrderStatus",
    "Step",
    "job_state_text",
    "step_of",
]
