"""The intake worker runs its jobs on threads of its own (`vps-console worker`,
`--concurrency`) or, given a pool's submit, on that pool: the console's, which the jobs
launched by hand and in bulk share, so one bound holds for all of them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from console.config import IntakePolicy
from console.flow.runner import Runner
from console.flow.services import Services
from console.flow.worker import IntakeWorker
from console.store import jobs as repo
from console.store.states import JobState
from tests.flow.test_preclone import with_policy
from tests.plugins.flow import FAST

ORDERS = ("601", "602", "603")


@pytest.fixture
def services(flow_config, store, memory_secrets, engine_sim, monkeypatch):
    """Every paid order is pre-cloned on intake."""
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", engine_sim.password)
    made = Services(with_policy(flow_config, IntakePolicy.PRECLONE), store, memory_secrets)
    yield made
    made.close()


def test_given_a_pool_the_intake_queues_its_jobs_behind_the_ones_already_there(
    services, add_order, job_runs
):
    for order_id in ORDERS:
        add_order(order_id, "VPS Linux")
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="job-pool")
    try:
        hold = threading.Event()
        by_hand = pool.submit(hold.wait, 60)  # a job launched by hand holds the one slot
        worker = IntakeWorker(Runner(services, timing=FAST), submit=pool.submit)
        report = worker.tick(sync=False, refill=False)
        assert sorted(report.started) == sorted(report.intake.job_ids) and report.started
        assert worker.submit(report.started) == []  # handed over once
        assert job_runs == []  # queued behind the job by hand, none on a thread of its own
        hold.set()
        worker.wait()
        assert by_hand.result() is True
    finally:
        pool.shutdown(wait=True)
    assert len(job_runs) == len(report.started)
    assert {name for _, name, _ in job_runs} == {"job-pool_0"}  # the pool's one thread
    assert max(going for _, _, going in job_runs) == 1
    states = {repo.get_job(services.store, job_id).state for job_id in report.started}
    assert states == {JobState.READY_FOR_ENGINEER}
    assert worker.running == {}


def test_without_a_pool_the_worker_runs_jobs_on_its_own_bounded_threads(
    services, add_order, job_runs
):
    for order_id in ORDERS:
        add_order(order_id, "VPS Linux")
    worker = IntakeWorker(Runner(services, timing=FAST), concurrency=1)
    report = worker.tick(sync=False, refill=False)
    worker.wait()
    assert sorted(name for _, name, _ in job_runs) == sorted(f"job-{j}" for j in report.started)
    assert max(going for _, _, going in job_runs) == 1  # --concurrency 1
    states = {repo.get_job(services.store, job_id).state for job_id in report.started}
    assert states == {JobState.READY_FOR_ENGINEER}


def test_a_pool_that_shut_down_takes_nothing_and_nothing_stays_running(
    services, add_order, job_runs
):
    add_order("604", "VPS Linux")
    pool = ThreadPoolExecutor(max_workers=1)
    pool.shutdown()
    worker = IntakeWorker(Runner(services, timing=FAST), submit=pool.submit)
    report = worker.tick(sync=False, refill=False)
    assert report.intake.job_ids and report.started == []
    assert worker.running == {} and job_runs == []
    worker.wait()  # returns: nothing is running
