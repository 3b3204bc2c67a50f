"""The template refresh state machine, as a pure transition function.

    planned → cloning → clone_wait → booting → script_wait → sealing → seal_wait
            → cleanup → recording → done
    any step --fail--> failed(step) --retry--> step
    any state but done/cancelled --cancel--> cancelled

The refresh runner asks `transition` for every move and persists the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RefreshState(StrEnum):
    PLANNED = "planned"  # the latest version and the new version's name are chosen
    CLONING = "cloning"  # the build VM is created as a full clone of it
    CLONE_WAIT = "clone_wait"  # the engine copies its disks
    BOOTING = "booting"  # started with the update script as first-boot payload
    SCRIPT_WAIT = "script_wait"  # the script runs and powers the guest off
    SEALING = "sealing"  # a new sub-version is made from the build VM (sealed on Linux)
    SEAL_WAIT = "seal_wait"  # the new version is locked until its disks are copied
    CLEANUP = "cleanup"  # the build VM is removed
    RECORDING = "recording"  # the catalog cache learns the new version
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


STEPS: tuple[RefreshState, ...] = (
    RefreshState.PLANNED,
    RefreshState.CLONING,
    RefreshState.CLONE_WAIT,
    RefreshState.BOOTING,
    RefreshState.SCRIPT_WAIT,
    RefreshState.SEALING,
    RefreshState.SEAL_WAIT,
    RefreshState.CLEANUP,
    RefreshState.RECORDING,
)
TERMINAL = (RefreshState.DONE, RefreshState.CANCELLED)
UNFINISHED = tuple(s.value for s in STEPS)

STEP_TITLES = {
    RefreshState.PLANNED: "choosing the latest version and the new version's name",
    RefreshState.CLONING: "cloning the build VM from the latest version",
    RefreshState.CLONE_WAIT: "waiting for the engine to copy the build VM's disks",
    RefreshState.BOOTING: "booting the build VM with the update script",
    RefreshState.SCRIPT_WAIT: "waiting for the update script to power the guest off",
    RefreshState.SEALING: "creating the new sub-version from the build VM",
    RefreshState.SEAL_WAIT: "waiting for the new version to be ok",
    RefreshState.CLEANUP: "removing the build VM",
    RefreshState.RECORDING: "recording the new version in the catalog",
}


class IllegalRefreshTransition(ValueError):
    """A move the refresh machine does not allow from this state."""


@dataclass(frozen=True)
class Position:
    state: RefreshState
    failed_step: RefreshState | None = None

    def __post_init__(self) -> None:
        if (self.state is RefreshState.FAILED) != (self.failed_step is not None):
            raise IllegalRefreshTransition("failed_step is set exactly when the state is failed")
        if self.failed_step is not None and self.failed_step not in STEPS:
            raise IllegalRefreshTransition(f"unknown step {self.failed_step!r}")

    @classmethod
    def of(cls, state: str, failed_step: str | None) -> Position:
        return cls(RefreshState(state), RefreshState(failed_step) if failed_step else None)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def step(self) -> RefreshState | None:
        if self.state is RefreshState.FAILED:
            return self.failed_step
        return self.state if self.state in STEPS else None

    def __str__(self) -> str:
        return f"failed({self.failed_step})" if self.failed_step else str(self.state)


def transition(position: Position, event: str) -> Position:
    """The position after `event` ("advance", "fail", "retry", "cancel")."""
    if position.terminal:
        raise IllegalRefreshTransition(f"the refresh is {position}; nothing more can happen to it")
    if event == "cancel":
        return Position(RefreshState.CANCELLED)
    if position.state is RefreshState.FAILED:
        if event == "retry":
            assert position.failed_step is not None  # __post_init__ sets it exactly when failed
            return Position(position.failed_step)
        raise IllegalRefreshTransition(f"the refresh is {position}; retry or cancel it first")
    if event == "advance":
        index = STEPS.index(position.state)
        return Position(STEPS[index + 1] if index + 1 < len(STEPS) else RefreshState.DONE)
    if event == "fail":
        return Position(RefreshState.FAILED, position.state)
    if event == "retry":
        raise IllegalRefreshTransition(
            f"only a failed refresh can be retried; this one is {position}"
        )
    raise IllegalRefreshTransition(f"unknown event {event!r}")


def progress(position: Position) -> tuple[int, int]:
    """(steps finished, steps in all) for a progress bar."""
    if position.state is RefreshState.DONE:
        return len(STEPS), len(STEPS)
    step = position.step
    return (STEPS.index(step) if step else 0), len(STEPS)
