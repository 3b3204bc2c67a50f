"""The console's intake runs its jobs on the app's job pool ([ui] job_workers), beside the
jobs launched by hand and in bulk: with one job worker, the pre-clones the intake takes in
after a billing sync run one at a time on the pool's thread, never on threads of their own."""

from __future__ import annotations

from console.config import IntakePolicy
from console.store import jobs as repo
from console.store.states import JobState
from console.tui.app import ConsoleApp
from tests.flow.test_preclone import with_policy
from tests.tui.test_flow_against_simulators import wait_for

PRODUCT = "VPS Linux cPanel"


async def test_the_consoles_intake_runs_its_jobs_on_the_job_pool(sim_context, job_runs):
    config = with_policy(
        sim_context.config, IntakePolicy.QUEUE, **{PRODUCT: {"on_paid": IntakePolicy.PRECLONE}}
    )
    config = config.model_copy(update={"ui": config.ui.model_copy(update={"job_workers": 1})})
    sim_context.config = sim_context.services.config = config
    app = ConsoleApp(sim_context)
    async with app.run_test(size=(80, 24)) as pilot:
        # The billing sync on start runs the intake; wait for its jobs to stop.
        await wait_for(
            pilot, lambda: app.intake is not None and job_runs and not app.intake.running
        )
    assert all(thread.startswith("vpsc-job") for _, thread, _ in job_runs), job_runs
    assert max(at_once for _, _, at_once in job_runs) == 1, job_runs  # [ui] job_workers = 1
    parked = [repo.get_job(sim_context.store, job_id) for job_id, _, _ in job_runs]
    assert {job.state for job in parked} == {JobState.READY_FOR_ENGINEER}, [
        (job.id, job.state, job.error_message) for job in parked
    ]
