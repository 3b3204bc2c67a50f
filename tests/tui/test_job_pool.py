"""Jobs run on the app's own bounded pool: however many are launched, the screens' polls
(on the executor thread workers use) still happen."""

from __future__ import annotations

import asyncio
import threading

from console.tui import data
from console.tui.app import ConsoleApp
from tests.tui.helpers import settle


async def until(pilot, condition, seconds: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "not reached"
        await pilot.pause(0.02)


async def test_jobs_never_starve_the_screens(frozen_context, monkeypatch):
    ui = frozen_context.config.ui.model_copy(update={"job_workers": 2})
    frozen_context.config = frozen_context.config.model_copy(update={"ui": ui})
    polls = []
    real_all_jobs = data.all_jobs
    monkeypatch.setattr(data, "all_jobs", lambda *a, **k: polls.append(1) or real_all_jobs(*a, **k))
    release = threading.Event()
    lock = threading.Lock()
    running: list[int] = []
    peak = [0]
    finished: list[int] = []

    def slow_job(n: int) -> int:  # a job's steps, waiting on a slow engine
        with lock:
            running.append(n)
            peak[0] = max(peak[0], len(running))
        release.wait(60)
        with lock:
            running.remove(n)
            finished.append(n)
        return n

    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        jobs_screen = app.screen
        # More jobs than the default executor has threads (min(32, cores + 4)).
        for n in range(12):
            app.run_worker(app.run_job(slow_job, n), group="provision-run", exit_on_error=False)
        await until(pilot, lambda: len(running) == 2)
        assert app.jobs_running_here() == 12
        before = len(polls)
        for _ in range(3):  # the Jobs pane refreshes while every job slot is taken
            jobs_screen.loop.request()
            await until(pilot, lambda: not jobs_screen.loop.running)
        assert len(polls) == before + 3
        assert len(running) == 2 and not finished
        release.set()
        await until(pilot, lambda: len(finished) == 12)
        assert peak[0] == 2  # never more at once than [ui] job_workers
