"""How long to wait before looking again: polls paced by what each wait usually takes.

A fixed poll every few seconds either looks too often (calls that find nothing changed)
or too late (seconds lost after the engine finished). Each wait starts from what it is
expected to take: a clone in proportion to the disk it copies, an extend a few seconds, a
boot until the guest reports its address. The first look comes when the wait should be
over; if it is not, the next ones come at a short cadence (a tenth of the expectation,
between `poll_floor_seconds` and `poll_seconds`). What a wait really took is remembered per
engine and template, so the next job's first look lands just after it (learned in this
process; a new process starts from the Timing defaults).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import StrEnum

from console.flow.timing import Timing

# Looks a little after the last measured duration, so that one look usually suffices; and
# creeps back by LEARN_DOWN each time one did, to follow an engine that got faster.
MARGIN = 1.08
LEARN_DOWN = 0.97
# A wait found done at its first look says only "at most this long". Until a wait has
# needed a second look (which measures it, to within the cadence), each such "at most"
# halves the expectation: a default far too long costs a few waits, not dozens.
UNMEASURED_DOWN = 0.5


class WaitKind(StrEnum):
    CLONE = "clone"  # the template's disks copied (image_locked → down)
    DISK = "disk"  # a disk extend finished (locked → ok, new size)
    BOOT = "boot"  # from the start call until the guest reports its address


class Pace:
    """Expected durations of waits, learned per (engine, kind, key). Thread-safe; one per
    process (Services holds it), shared by every job on every runner."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # key → (expected seconds, measured: from a wait that needed a second look)
        self._expected: dict[tuple[str, str, str], tuple[float, bool]] = {}

    def expected(self, key: tuple[str, str, str], default: float) -> float:
        """The learned duration, else `default`."""
        with self._lock:
            learned = self._expected.get(key)
        return learned[0] if learned is not None else default

    def observe(
        self, key: tuple[str, str, str], seconds: float, looks: int, cadence: float
    ) -> None:
        """A wait of this key ended after `seconds`, seen done at look number `looks`."""
        with self._lock:
            measured = self._expected.get(key, (0.0, False))[1]
            if looks <= 1:
                # Done at the first look: it took at most `seconds`.
                factor = LEARN_DOWN if measured else UNMEASURED_DOWN
                self._expected[key] = (seconds * factor, measured)
            else:
                # It ended within the last cadence before it was seen.
                self._expected[key] = (max(0.0, seconds - cadence / 2) * MARGIN, True)


class Poll:
    """One wait of one job in one pass: when to look next, and what to learn at the end."""

    def __init__(
        self,
        pace: Pace,
        key: tuple[str, str, str],
        default: float,
        timing: Timing,
        already: float,
        clock: Callable[[], float],
    ) -> None:
        """`already`: seconds this wait has lasted so far (a resumed one, from its persisted
        start); `clock`: seconds now, on the clock `already` was measured with."""
        self.pace, self.key, self.clock = pace, key, clock
        self.began = clock() - already
        self.expected = pace.expected(key, default)
        self.cadence = min(timing.poll_seconds, max(timing.poll_floor_seconds, self.expected / 10))
        # A wait begun in an earlier pass (a resume) looks at once and learns nothing: its
        # duration includes the time nobody was watching.
        self.learns = already < self.cadence
        self.first = max(self.cadence, self.expected - already)
        self.looks = 0

    def next_delay(self) -> float:
        """Seconds to sleep before the next look."""
        self.looks += 1
        return self.first if self.looks == 1 else self.cadence

    def done(self) -> None:
        """The wait is over (seen at the last look): remember how long it took."""
        if self.learns and self.looks:
            self.pace.observe(self.key, self.clock() - self.began, self.looks, self.cadence)
        self.learns = False
