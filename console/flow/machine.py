"""The provisioning state machine of design.md, as a pure transition function.

    planned → cloning → clone_wait → resizing → initializing → starting → ip_wait
            → handover → done
    any running state --fail--> failed(step)  --retry--> step
    any state but done/cancelled --cancel--> cancelled

A state is (name, failed_step); failed_step is set only in "failed". The runner asks
`transition` for every move and persists the result, so a bad move is a bug caught here,
not a job left in a state nobody can leave.
"""

from __future__ import annotations

from dataclasses import dataclass

STEPS = ("planned", "cloning", "clone_wait", "resizing", "initializing", "starting",
         "ip_wait", "handover")
DONE, FAILED, CANCELLED = "done", "failed", "cancelled"
STATES = STEPS + (DONE, FAILED, CANCELLED)
TERMINAL = (DONE, CANCELLED)
EVENTS = ("advance", "fail", "retry", "cancel")


class IllegalTransition(ValueError):
    """A move the machine does not allow from this state."""


@dataclass(frozen=True)
class State:
    name: str
    failed_step: str | None = None

    def __post_init__(self) -> None:
        if self.name not in STATES:
            raise IllegalTransition(f"unknown state {self.name!r}")
        if (self.name == FAILED) != (self.failed_step is not None):
            raise IllegalTransition("failed_step is set exactly when the state is failed")
        if self.failed_step is not None and self.failed_step not in STEPS:
            raise IllegalTransition(f"unknown step {self.failed_step!r}")

    @property
    def terminal(self) -> bool:
        return self.name in TERMINAL

    @property
    def step(self) -> str | None:
        """The step this state is at (or failed at); None when terminal."""
        return self.failed_step if self.name == FAILED else (
            self.name if self.name in STEPS else None)

    def __str__(self) -> str:
        return f"failed({self.failed_step})" if self.name == FAILED else self.name


def next_step(step: str) -> str:
    index = STEPS.index(step)
    return STEPS[index + 1] if index + 1 < len(STEPS) else DONE


def transition(state: State, event: str) -> State:
    """The state after `event` ("advance", "fail", "retry", "cancel") in `state`."""
    if event not in EVENTS:
        raise IllegalTransition(f"unknown event {event!r}")
    if state.terminal:
        raise IllegalTransition(f"the job is {state}; nothing more can happen to it")
    if event == "cancel":
        return State(CANCELLED)
    if state.name == FAILED:
        if event == "retry":
            return State(state.failed_step)
        raise IllegalTransition(f"the job is {state}; retry or cancel it first")
    if event == "advance":
        return State(next_step(state.name))
    if event == "fail":
        return State(FAILED, state.name)
    raise IllegalTransition(f"only a failed job can be retried; this one is {state}")


def progress(state: State) -> tuple[int, int]:
    """(steps finished, steps in all) for a progress bar."""
    total = len(STEPS)
    if state.name == DONE:
        return total, total
    step = state.step
    return (STEPS.index(step) if step else 0), total
