"""Paced waits (console.flow.pace): what a wait learns, from which look, and which wait of
a job may look sooner than where it is sure. A hand-driven clock: no sleeping."""

from __future__ import annotations

import pytest

from console.flow.pace import MARGIN, Pace, Poll, WaitKind
from console.flow.timing import Timing

KEY = ("lab", "boot", "tpl-1")
TIMING = Timing(poll_seconds=5.0, poll_floor_seconds=0.5)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait(
    pace: Pace,
    clock: Clock,
    duration: float,
    *,
    probe: bool,
    late: float = 0.0,
    late_look: float = 0.0,
) -> int:
    """One wait that is over `duration` seconds after it began; every look comes
    `late_look` seconds after it was due (a sleep that overran), its answer `late` seconds
    after that. Returns the looks it took."""
    poll = Poll(pace, KEY, 20.0, TIMING, 0.0, clock, watched=True, probe=probe)
    began = clock.now
    while True:
        clock.now += poll.next_delay() + late_look
        over = clock.now - began >= duration
        clock.now += late
        if over:
            poll.done()
            return poll.looks


def test_a_default_found_over_at_the_first_look_is_halved_until_a_look_measures_it():
    pace, clock = Pace(), Clock()
    assert wait(pace, clock, 18.0, probe=False) == 1  # the default, 20 s: over by then
    assert pace.learned(KEY, 20.0).probe == pytest.approx(10.0)
    assert wait(pace, clock, 18.0, probe=False) > 1  # looked at 10 s: too soon
    learned = pace.learned(KEY, 20.0)
    assert learned.measured
    assert 18.0 <= learned.sure <= 18.0 * MARGIN + TIMING.poll_floor_seconds


def test_once_measured_only_the_probing_wait_looks_sooner():
    pace, clock = Pace(), Clock()
    wait(pace, clock, 18.0, probe=True)
    wait(pace, clock, 18.0, probe=True)
    sure = pace.learned(KEY, 20.0).sure
    # Waits that do not probe look where the last one was seen over: one look each,
    # and nothing moves.
    for _ in range(5):
        assert wait(pace, clock, 18.0, probe=False) == 1
    assert pace.learned(KEY, 20.0).sure == pytest.approx(sure)
    # Probes come sooner each time until one is too soon (two looks), which measures it.
    looks = [wait(pace, clock, 18.0, probe=True) for _ in range(6)]
    assert 2 in looks
    assert pace.learned(KEY, 20.0).probe >= 18.0


def test_what_is_learned_counts_from_when_looks_were_due_not_when_answers_came():
    """A loaded machine answers 3 s late; the engine did not get 3 s slower."""
    pace, clock = Pace(), Clock()
    for _ in range(6):
        wait(pace, clock, 18.0, probe=True, late=3.0)
        learned = pace.learned(KEY, 20.0)
        assert not learned.measured or learned.sure < 18.0 + 3.0, learned
    assert learned.measured and learned.sure >= 18.0


def test_jobs_probe_each_kind_of_wait_in_turn():
    pace = Pace()
    turns = [pace.turn() for _ in range(6)]
    assert set(turns[:3]) == set(WaitKind) and turns[3:] == turns[:3]


def test_a_resumed_wait_looks_at_once_and_learns_nothing():
    pace, clock = Pace(), Clock()
    poll = Poll(pace, KEY, 20.0, TIMING, 60.0, clock)  # began 60 s ago, in another pass
    assert poll.next_delay() == pytest.approx(2.0)  # the cadence: a tenth of the guess
    poll.done()
    assert pace.learned(KEY, 20.0).measured is False
    assert pace.learned(KEY, 20.0).probe == 20.0


def test_a_guess_found_over_by_a_look_that_came_late_is_halved_from_when_it_came():
    """Due at 10 s, the look came at 19 s (a busy machine): the wait took at most 19 s,
    not at most 10 s."""
    pace, clock = Pace(), Clock()
    pace.observe(KEY, 20.0, None, True)  # a first guess halved: 10 s
    assert wait(pace, clock, 18.0, probe=True, late_look=9.0) == 1
    learned = pace.learned(KEY, 20.0)
    assert not learned.measured and learned.sure >= 18.0
