"""The provisioning state machine of design.md, as a pure transition function.

    planned → cloning → clone_wait → resizing → initializing → starting → ip_wait
            → handover → done
    clone_wait --park--> ready_for_engineer --continue--> resizing   (pre-cloned on payment)
    any running state --fail--> failed(step)  --retry--> step
    any state but done/cancelled --cancel--> cancelled

A state is (name, failed_step); failed_step is set only in "failed". The runner asks
`transition` for every move and persists the result, so a bad move is a bug caught here,
not a job left in a state nobody can leave.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from console.store.states import STEPS, TERMINAL_JOB_STATES, JobState, Step, step_of


class Event(StrEnum):
    ADVANCE = "advance"
    FAIL = "fail"
    RETRY = "retry"
    CANCEL = "cancel"
    PARK = "park"  # a pre-clone stops once its copy is done
    CONTINUE = "continue"  # the engineer's launch takes a parked job on


class IllegalTransition(ValueError):
    """A move the machine does not allow from this state."""


@dataclass(frozen=True, init=False)
class State:
    name: JobState
    failed_step: Step | None = None

    def __init__(self, name: JobState | str, failed_step: Step | str | None = None) -> None:
        # Rows and tests hand in plain strings: they are checked here, once.
        if name not in JobState._value2member_map_:
            raise IllegalTransition(f"unknown state {name!r}")
        if failed_step is not None and failed_step not in Step._value2member_map_:
            raise IllegalTransition(f"unknown step {failed_step!r}")
        object.__setattr__(self, "name", JobState(name))
        object.__setattr__(
            self, "failed_step", Step(failed_step) if failed_step is not None else None
        )
        if (self.name == JobState.FAILED) != (self.failed_step is not None):
            raise IllegalTransition("failed_step is set exactly when the state is failed")

    @property
    def terminal(self) -> bool:
        return self.name in TERMINAL_JOB_STATES

    @property
    def step(self) -> Step | None:
        """The step this state is at (or failed at); None when terminal."""
        return self.failed_step if self.name == JobState.FAILED else step_of(self.name)

    def __str__(self) -> str:
        return f"failed({self.failed_step})" if self.name == JobState.FAILED else str(self.name)


def next_step(step: Step) -> JobState:
    index = STEPS.index(step)
    return JobState(STEPS[index + 1]) if index + 1 < len(STEPS) else JobState.DONE


def transition(state: State, event: Event | str) -> State:
    """The state after `event` (advance, fail, retry, cancel) in `state`."""
    if event not in Event._value2member_map_:
        raise IllegalTransition(f"unknown event {event!r}")
    if state.terminal:
        raise IllegalTransition(f"the job is {state}; nothing more can happen to it")
    if event == Event.CANCEL:
        return State(JobState.CANCELLED)
    if state.name == JobState.READY_FOR_ENGINEER:
        if event == Event.CONTINUE:
            return State(JobState.RESIZING)
        raise IllegalTransition(f"the job is {state}; launch it or cancel it")
    if event == Event.PARK:
        if state.name == JobState.CLONE_WAIT:
            return State(JobState.READY_FOR_ENGINEER)
        raise IllegalTransition(f"only a finished copy can wait for the engineer, not {state}")
    if event == Event.CONTINUE:
        raise IllegalTransition(f"only a job ready for the engineer goes on; this one is {state}")
    if state.name == JobState.FAILED:
        if event == Event.RETRY:
            assert state.failed_step is not None  # State sets it exactly when failed
            return State(JobState(state.failed_step))
        raise IllegalTransition(f"the job is {state}; retry or cancel it first")
    step = Step(state.name)
    if event == Event.ADVANCE:
        return State(next_step(step))
    if event == Event.FAIL:
        return State(JobState.FAILED, step)
    raise IllegalTransition(f"only a failed job can be retried; this one is {state}")


def progress(state: State) -> tuple[int, int]:
    """(steps finished, steps in all) for a progress bar."""
    total = len(STEPS)
    if state.name == JobState.DONE:
        return total, total
    if state.name == JobState.READY_FOR_ENGINEER:
        return STEPS.index(Step.RESIZING), total
    step = state.step
    return (STEPS.index(step) if step else 0), total


__all__ = ["STEPS", "Event", "IllegalTransition", "State", "next_step", "progress", "transition"]
