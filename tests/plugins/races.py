"""Racing processes: each forked racer waits at one barrier, then runs, and reports."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable


def race(target: Callable, racers: list[tuple]) -> list:
    """Start one process per argument tuple, release them at once, and return what each
    put on the queue: `target(*args, barrier, results)` must put exactly one item."""
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(len(racers)), ctx.Queue()
    processes = [ctx.Process(target=target, args=(*args, barrier, results)) for args in racers]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=180) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return outcomes
