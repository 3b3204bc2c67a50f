"""How long to wait before looking again: polls paced by what each wait usually takes.

A fixed poll every few seconds either looks too often (calls that find nothing changed)
or too late (seconds lost after the engine finished). Each wait starts from what it is
expected to take: a clone in proportion to the disk it copies, an extend a few seconds, a
boot until the guest reports its address. The first look comes when the wait should be
over; if it is not, the next ones come at a short cadence (a twentieth of the expectation
once measured, between `poll_floor_seconds` and `poll_seconds`). What a wait really took
is remembered per engine and template, so the next job's first look lands just after it
(learned in this process; a new process starts from the Timing defaults).

A wait's clock starts when the engine call that began it returned (the create, the
extend, the start), not when the step that waits began: what the runner does in between
(tagging, the journal) is not part of what the engine takes. What is learned counts from
when each look was due, not when its answer came: how late a sleep or a reply was on a
loaded machine says nothing about the engine.

Two first looks per wait: "sure", when the last wait of its kind was seen over (one look,
most likely), and "probe", a little sooner, to learn whether the engine got faster (a
look that may find it not over and cost one more). Each job probes one kind of wait, in
turn, so a job's extra looks stay at one while the others land where they are sure.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from console.flow.timing import Timing

# After a second look measured a wait (it ended between the last two looks), the next
# first looks come at the middle of them plus MARGIN; a probe comes LEARN_DOWN sooner
# than the last first look that found it over.
MARGIN = 1.03
LEARN_DOWN = 0.98
# The cadence after a first look that came too early: this share of the expectation once
# it was measured; a tenth while it is still a default or an "at most" (which may be far
# too short, and would cost many looks at a finer cadence).
CADENCE_SHARE = 0.05
GUESS_CADENCE_SHARE = 0.1
# A wait found done at its first look says only "at most this long". Until a wait has
# needed a second look (which measures it, to within the cadence), each such "at most"
# halves the expectation: a default far too long costs a few waits, not dozens.
UNMEASURED_DOWN = 0.5


class WaitKind(StrEnum):
    CLONE = "clone"  # the template's disks copied (image_locked → down)
    DISK = "disk"  # a disk extend finished (locked → ok, new size)
    BOOT = "boot"  # from the start call until the guest reports its address


@dataclass(frozen=True)
class Learned:
    probe: float  # where a probing first look goes
    sure: float  # by when the wait was over, the last time a first look found it so
    measured: bool  # a wait needed a second look: `probe` is measured, not a guess


class Pace:
    """Expected durations of waits, learned per (engine, kind, key). Thread-safe; one per
    process (Services holds it), shared by every job on every runner."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._learned: dict[tuple[str, str, str], Learned] = {}
        self._turns = itertools.cycle(list(WaitKind))

    def expected(self, key: tuple[str, str, str], default: float) -> float:
        """Where a probing first look goes: the learned duration, else `default`."""
        return self.learned(key, default).probe

    def learned(self, key: tuple[str, str, str], default: float) -> Learned:
        with self._lock:
            return self._learned.get(key, Learned(default, default, False))

    def turn(self) -> WaitKind:
        """The kind of wait the next job probes (each kind in turn)."""
        with self._lock:
            return next(self._turns)

    def observe(
        self,
        key: tuple[str, str, str],
        looked: float,
        before: float | None,
        probed: bool,
        answered: float | None = None,
    ) -> None:
        """A wait of this key was seen over by the look due `looked` seconds after it
        began (whose answer came `answered` seconds after it began); `before`: when the
        look before it was due (None: the first look found it over); `probed`: that first
        look was a probe."""
        answered = looked if answered is None else max(looked, answered)
        with self._lock:
            last = self._learned.get(key)
            if before is not None:
                # It ended between the last two looks (the last one may have come late:
                # a step's bookkeeping ran in between): both looks go to the middle.
                middle = min(looked, (before + looked) / 2 * MARGIN)
                self._learned[key] = Learned(middle, middle, True)
            elif last is None or not last.measured:
                # At most when the answer came (a look that came late on a busy machine
                # says nothing about the time it was due), still a guess: halve it.
                self._learned[key] = Learned(answered * UNMEASURED_DOWN, answered, False)
            elif probed:
                # Over by the probe: the next probe a little sooner.
                self._learned[key] = Learned(looked * LEARN_DOWN, looked, True)
            else:
                self._learned[key] = Learned(min(last.probe, looked), looked, True)


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
        *,
        watched: bool | None = None,
        probe: bool = True,
    ) -> None:
        """`already`: seconds this wait has lasted so far (a resumed one, from its persisted
        start); `clock`: seconds now, on the clock `already` was measured with; `watched`:
        this pass made the call that began the wait (None: unknown, judged by `already`);
        `probe`: this wait may look sooner than where it is sure (see the module)."""
        self.pace, self.key, self.clock = pace, key, clock
        self.began = clock() - already
        learned = pace.learned(key, default)
        self.probing = probe or not learned.measured
        self.expected = learned.probe if self.probing else learned.sure
        share = CADENCE_SHARE if learned.measured else GUESS_CADENCE_SHARE
        self.cadence = min(
            timing.poll_seconds, max(timing.poll_floor_seconds, self.expected * share)
        )
        # A wait begun in an earlier pass (a resume) looks at once and learns nothing: its
        # duration includes the time nobody was watching.
        self.learns = watched if watched is not None else already < self.cadence
        self.first = max(self.cadence, self.expected - already)
        self.looks = 0
        # When the last two looks were due, in seconds since the wait began.
        self.due: tuple[float | None, float | None] = (None, None)

    def next_delay(self) -> float:
        """Seconds to sleep before the next look."""
        self.looks += 1
        delay = self.first if self.looks == 1 else self.cadence
        self.due = (self.due[1], self.clock() - self.began + delay)
        return delay

    def done(self) -> None:
        """The wait is over (seen at the last look): remember how long it took."""
        before, looked = self.due
        if self.learns and looked is not None:
            answered = self.clock() - self.began
            self.pace.observe(self.key, looked, before, self.probing, answered)
        self.learns = False
