"""Simulated time: one ``time_scale`` for every delay, and a scheduler of state changes.

Every lifecycle step (clone finished, VM powering up, guest agent reporting
IPs...) is a callback due at ``now + seconds * time_scale``. Due callbacks run
under the world lock, from a ticker thread and also at the start of every
request, so a client never sees a state that should already have changed.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Heap of due callbacks; ``run_due`` must be called with the world lock held."""

    def __init__(self, time_scale: float) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0")
        self.time_scale = time_scale
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._offset = 0.0  # added by advance(), for tests that jump ahead

    def now(self) -> float:
        return time.monotonic() + self._offset

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

    def after(self, seconds: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` after ``seconds`` of simulated time (scaled)."""
        heapq.heappush(self._heap, (self.now() + self.scaled(seconds), next(self._seq), callback))

    def run_due(self) -> int:
        ran = 0
        while self._heap and self._heap[0][0] <= self.now():
            _, _, callback = heapq.heappop(self._heap)
            callback()
            ran += 1
        return ran

    def advance(self, seconds: float | None = None) -> None:
        """Jump simulated time forward (real seconds); None = to the last pending step."""
        if seconds is None:
            if not self._heap:
                return
            seconds = max(0.0, max(due for due, _, _ in self._heap) - self.now())
        self._offset += seconds

    def pending(self) -> int:
        return len(self._heap)


class Ticker(threading.Thread):
    """Background thread that runs due callbacks, so lifecycles progress without requests."""

    def __init__(self, lock: threading.RLock, scheduler: Scheduler, interval: float = 0.02) -> None:
        super().__init__(name="engine-sim-ticker", daemon=True)
        self._lock = lock
        self._scheduler = scheduler
        self._interval = interval
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self._interval):
            with self._lock:
                self._scheduler.run_due()

    def stop(self) -> None:
        self._halt.set()


# Simulated durations in seconds at time_scale 1.0.
CLONE_SECONDS_PER_GIB = 0.7  # full copy: a 40 GiB disk takes ~28 s
THIN_CREATE_SECONDS = 3.0
LAUNCH_SECONDS = 2.0
POWERING_UP_SECONDS = 12.0
IP_REPORT_SECONDS = 4.0
SHUTDOWN_SECONDS = 5.0
STOP_SECONDS = 1.0
REBOOT_SECONDS = 8.0
SUSPEND_SECONDS = 4.0
RESTORE_SECONDS = 4.0
EXTEND_SECONDS = 3.0
DISK_CREATE_SECONDS = 2.0
SNAPSHOT_SECONDS = 2.0
TEMPLATE_SECONDS_PER_GIB = 0.1
FIRSTBOOT_SCRIPT_SECONDS = 90.0  # a first-boot script that updates the guest, then powers it off
THIN_OVERLAY_BYTES = 1 * 1024**3
