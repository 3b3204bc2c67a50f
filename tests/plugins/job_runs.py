"""Which thread ran each job the intake worker started, and how many ran at once then."""

from __future__ import annotations

import threading

import pytest


@pytest.fixture
def job_runs(monkeypatch):
    """Every job run the intake worker starts: (job id, thread name, runs going on then)."""
    from console.flow import worker

    seen: list[tuple[str, str, int]] = []
    going = [0]
    lock = threading.Lock()
    real = worker.run_one

    def run_one(runner, job_id):
        with lock:
            going[0] += 1
            seen.append((job_id, threading.current_thread().name, going[0]))
        try:
            return real(runner, job_id)
        finally:
            with lock:
                going[0] -= 1

    monkeypatch.setattr(worker, "run_one", run_one)
    return seen
