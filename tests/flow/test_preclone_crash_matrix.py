"""Crash matrix for pre-cloning, on a headless host (the crash matrix's environment and
helpers: tests/flow/test_crash_matrix.py): a real `vps-console jobs resume JOB` running a
pre-clone is SIGKILLed at every step boundary of its life (planned, cloning, clone_wait)
and in the middle of each engine call that changes something (create VM, create tag);
`jobs resume` then parks it ready_for_engineer with exactly one VM, down and never
started, and the engineer's `provision ORDER` finishes that same VM and hands it over.
"""

from __future__ import annotations

import time

import pytest

from console.config import load_config
from console.flow.intake import IntakeAction, run_intake
from console.flow.services import Services
from console.store import jobs as repo
from console.store.states import JobState
from tests.flow.test_crash_matrix import (
    HOLD_SECONDS,
    SLOW_CALL_SECONDS,
    assert_finished_once,
    child,
    crash_env,  # noqa: F401 - the fixture
    kill_runner_at,
    kill_runner_mid_call,
    place_order,
    resume_all,
    vms_of,
)

pytestmark = pytest.mark.slow

PRECLONE_BOUNDARIES = ("planned", "cloning", "clone_wait")
PRECLONE_CALLS = ("create VM", "create tag")


def preclone(services: Services, whmcs_sim) -> tuple[Services, str, str]:
    """The crash matrix's product turned preclone (in the file the children read), a paid
    order synced, and its pre-clone job created by the intake: (services, order, job)."""
    path = services.config.path
    assert path is not None
    with path.open("a", encoding="utf-8") as config:
        config.write('on_paid = "preclone"\n')  # into the last [[catalog.products]] table
    services = Services(load_config(path), services.store, services.secrets)
    order_id = place_order(services, whmcs_sim)
    report = run_intake(services.runner(), only=[order_id])
    assert [(line.order_id, line.action) for line in report.lines] == [
        (order_id, IntakeAction.PRECLONED)
    ]
    return services, order_id, report.job_ids[0]


def kill_at(engine_sim, services, job_id: str, boundary: str) -> None:
    engine_sim.faults.add(delay=SLOW_CALL_SECONDS)
    kill_runner_at(services, job_id, boundary)


def kill_mid_call(engine_sim, services, job_id: str, label: str) -> None:
    kill_runner_mid_call(engine_sim, job_id, label)
    time.sleep(HOLD_SECONDS)  # the held call lands after its caller died


CASES = [pytest.param(kill_at, b, id=f"boundary-{b}") for b in PRECLONE_BOUNDARIES] + [
    pytest.param(kill_mid_call, c, id=f"mid-{c.replace(' ', '-')}") for c in PRECLONE_CALLS
]


@pytest.mark.parametrize("crash, point", CASES)
def test_sigkill_during_a_pre_clone_then_resume_parks_one_vm_the_launch_finishes(
    crash_env,  # noqa: F811
    engine_sim,
    whmcs_sim,
    crash,
    point,
):
    services, order_id, job_id = preclone(crash_env, whmcs_sim)
    crash(engine_sim, services, job_id, point)
    assert len(vms_of(engine_sim, order_id)) <= 1
    engine_sim.faults.clear()
    resume_all()
    parked = repo.get_job(services.store, job_id)
    assert parked.state == JobState.READY_FOR_ENGINEER, (point, parked.error_message)
    assert vms_of(engine_sim, order_id) == [parked.vm_id], point
    assert engine_sim.vm(f"vps-{order_id}")["status"] == "down", point
    assert not [e for e in engine_sim.world.events if e.code == 153 and e.vm_id == parked.vm_id]

    launch = child("provision", order_id, "--yes")
    output, _ = launch.communicate(timeout=120)
    assert launch.returncode == 0, output.decode()
    assert_finished_once(services, engine_sim, whmcs_sim, point, order_id, job_id)
