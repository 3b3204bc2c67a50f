"""A poll loop that never overlaps itself.

The next poll is scheduled only when the last one has finished (however long a slow
engine took), and a manual refresh while one is in flight is remembered and run right
after it instead of starting a second call.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.timer import Timer
from textual.worker import Worker, WorkerState

FINISHED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)


class PollLoop:
    def __init__(self, owner, start: Callable[[], Worker], interval: float, *, live: bool = True):
        self.owner = owner
        self.start = start
        self.interval = interval
        self.live = live
        self.worker: Worker | None = None
        self.pending = False
        self.paused = False
        self._timer: Timer | None = None
        self._started_at = 0.0
        self.last_duration = 0.0

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.state not in FINISHED

    def request(self) -> None:
        """Poll now, or as soon as the poll in flight has finished."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.running:
            self.pending = True
            return
        self._start()

    def _start(self) -> None:
        self._started_at = time.monotonic()
        self.worker = self.start()

    def owns(self, worker: Worker) -> bool:
        return worker is self.worker

    def finished(self) -> None:
        """Call from on_worker_state_changed when this loop's worker reached a final state."""
        self.last_duration = time.monotonic() - self._started_at
        if self.pending:
            self.pending = False
            self._start()
        elif self.live and not self.paused:
            # A call that took long (a slow engine, a huge list) is not repeated at once:
            # parsing its answer competes with the screen for the interpreter.
            self._timer = self.owner.set_timer(
                max(self.interval, 2 * self.last_duration), self.request
            )

    def pause(self, paused: bool) -> None:
        """Stop polling (the next poll is not scheduled), or resume with a poll now."""
        was_paused, self.paused = self.paused, paused
        if paused and self._timer is not None:
            self._timer.stop()
            self._timer = None
        elif was_paused and not paused and not self.running:
            self.request()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.live = False
