"""An engine call as a run makes it: retried with backoff while the engine is busy or
unavailable (within the retry budget), the run's cancel and lease checked before every
try, and a change journaled before and after, so a crash in between is seen on resume.

Shared by the provisioning run (console.flow.context.RunContext.call) and the template
refresh (console.flow.upkeep.steps.RefreshPass.call); each brings its own check and
journal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Protocol, TypeVar

from console.flow.timing import Timing
from console.ovirt import EngineError, EngineLocked

T = TypeVar("T")


class Phase(StrEnum):
    BEFORE = "before"
    AFTER = "after"


JOURNAL_WORDS = {Phase.BEFORE: "calling", Phase.AFTER: "done"}


class Run(Protocol):
    """A run holding its job's lease: a provisioning run's context, a refresh's pass."""

    timing: Timing
    rolling_back: bool  # a rollback is not stopped by a cancel

    def check(self) -> None:
        """Raise to stop the run (a cancel, a lost lease)."""


def call_with_backoff(
    run: Run,
    what: str,
    operation: Callable[[], T],
    *,
    journal: Callable[[str, Phase], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
    retry_locked: bool = True,
) -> T:
    """`operation()` for `run`, retried on a retryable EngineError until the budget is
    spent; the run is checked before every try unless it rolls back.
    `journal(message, phase)`: a change's lines ("calling: what", "done: what"), None for
    a read. `on_retry(message)`: says why it waits. `retry_locked=False`: a lock comes
    back at once, for the caller to reconcile first."""
    if journal is not None:
        journal(f"{JOURNAL_WORDS[Phase.BEFORE]}: {what}", Phase.BEFORE)
    timing = run.timing
    delay = timing.backoff_first_seconds
    deadline = time.monotonic() + timing.retry_budget_seconds
    while True:
        if not run.rolling_back:
            run.check()
        try:
            result = operation()
            break
        except EngineError as error:
            if (
                not error.retryable
                or time.monotonic() + delay > deadline
                or (not retry_locked and isinstance(error, EngineLocked))
            ):
                raise
            if on_retry is not None:
                on_retry(f"{error.message}; retrying in {delay:.1f}s")
            time.sleep(delay)
            delay = min(delay * 2, timing.backoff_max_seconds)
    if journal is not None:
        journal(f"{JOURNAL_WORDS[Phase.AFTER]}: {what}", Phase.AFTER)
    return result


__all__ = ["Phase", "Run", "call_with_backoff"]
