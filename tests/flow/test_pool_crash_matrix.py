"""Crash matrix for taking a warm-pool VM, as on a headless host (see test_crash_matrix):
a real `vps-console jobs resume JOB` is SIGKILLed at each step boundary of a job that
takes a pool VM and in the middle of each call of the take (the read of the claimed VM,
the rename and re-mark), and a runner that died right after its claim in the store is
played in-process. `jobs resume` then finishes the job. After each case: one VM for the
order, and it is the pool VM (taken by this order only, not cloned); the pool VM is not
lost, and no pool row is bound to another job.
"""

from __future__ import annotations

import time

import pytest

from console.config import load_config
from console.flow import pool
from console.flow.services import Services
from console.secrets import open_secret_store
from console.store import jobs as repo
from console.store import pool as pool_repo
from console.store.pool import PoolVmState
from tests.flow.test_crash_matrix import (
    HOLD_SECONDS,
    PRODUCTS,
    SLOW_CALL_SECONDS,
    assert_finished_once,
    child,
    kill,
    kill_holding,
    launch,
    resume_all,
    vms_of,
    wait_for,
)
from tests.plugins.cli import cli_setup

pytestmark = pytest.mark.slow

POOL = """
[[pool]]
template = "alma9"
cluster = "prod-a"
size = 1
"""
BOUNDARIES = ("cloning", "clone_wait", "resizing", "starting")
# (label, method, path regex, nth matching call) within the take.
MID_TAKE = (
    ("read pool VM", "GET", r"^/vms/[^/]+$", 1),
    ("rename and re-mark", "PUT", r"^/vms/[^/]+$", 1),
)


@pytest.fixture
def pool_env(engine_sim, whmcs_sim, tmp_path, monkeypatch):
    config, store = cli_setup(
        tmp_path, engine_sim, monkeypatch, PRODUCTS + POOL, whmcs_sim=whmcs_sim
    )
    services = Services(load_config(config), store, open_secret_store())
    keeper = pool.PoolKeeper(services)
    deadline = time.monotonic() + 20
    while not any(r.state == PoolVmState.READY for r in pool_repo.rows(store)):
        keeper.refill()
        assert time.monotonic() < deadline, "the pool never filled"
        time.sleep(0.05)
    yield services
    services.close()
    store.close()


def pool_vm(engine_sim) -> str:
    with engine_sim.world.lock:
        (found,) = [v.id for v in engine_sim.world.vms.values() if "pool=alma9" in v.comment]
    return found


def at_boundary(services, engine_sim, whmcs_sim, boundary: str) -> tuple[str, str]:
    engine_sim.faults.add(delay=SLOW_CALL_SECONDS)
    order_id, job_id = launch(services, whmcs_sim)
    process = child("jobs", "resume", job_id)
    wait_for(
        lambda: (
            repo.get_job(services.store, job_id).state == boundary or process.poll() is not None
        ),
        30,
        f"state {boundary}",
    )
    assert process.poll() is None, process.stdout.read().decode()
    kill(process)
    assert len(vms_of(engine_sim, order_id)) <= 1
    return order_id, job_id


def mid_take(services, engine_sim, whmcs_sim, label: str) -> tuple[str, str]:
    _, method, path, nth = next(call for call in MID_TAKE if call[0] == label)
    order_id, job_id = kill_holding(services, engine_sim, whmcs_sim, label, method, path, nth)
    # Killed inside the take: the claim is in the store and on the job.
    job = repo.get_job(services.store, job_id)
    assert job.data.get(pool.POOL_VM), job.data
    return order_id, job_id


def after_claim(services, engine_sim, whmcs_sim, label: str) -> tuple[str, str]:
    """A runner that died right after its claim's commit, before anything else: the row
    is taken by the job, nothing on the job or the engine says so yet."""
    order_id, job_id = launch(services, whmcs_sim)
    job = repo.get_job(services.store, job_id)
    (row,) = pool_repo.rows(services.store)
    claimed = pool_repo.claim(
        services.store,
        engine="sim",
        template_id=job.plan["template_id"],
        cluster="prod-a",
        job_id=job_id,
        order_id=order_id,
    )
    assert claimed is not None and claimed.name == row.name
    repo.update_job(services.store, job_id, state="cloning")
    return order_id, job_id


CASES = (
    [pytest.param(at_boundary, b, id=f"boundary-{b}") for b in BOUNDARIES]
    + [pytest.param(mid_take, c[0], id=f"mid-{c[0].replace(' ', '-')}") for c in MID_TAKE]
    + [pytest.param(after_claim, "claim", id="after-claim")]
)


@pytest.mark.parametrize("crash, point", CASES)
def test_sigkill_during_a_pool_take_then_resume_binds_the_pool_vm_to_this_order_only(
    pool_env, engine_sim, whmcs_sim, crash, point
):
    services = pool_env
    pooled = pool_vm(engine_sim)
    order_id, job_id = crash(services, engine_sim, whmcs_sim, point)
    engine_sim.faults.clear()
    if crash is mid_take:
        time.sleep(HOLD_SECONDS)  # let the held call land after its caller died
    resume_all()
    assert_finished_once(services, engine_sim, whmcs_sim, point, order_id, job_id)
    job = repo.get_job(services.store, job_id)
    assert job.vm_id == pooled, (point, "the order cloned instead of taking the pool VM")
    assert vms_of(engine_sim, order_id) == [pooled]
    with engine_sim.world.lock:
        assert pooled in engine_sim.world.vms  # not lost
        pool_marked = [v.id for v in engine_sim.world.vms.values() if "pool=" in v.comment]
    assert pooled not in pool_marked  # re-marked: it is the order's, not the pool's
    # The refill that follows neither gives it back to the pool nor binds it elsewhere.
    pool.PoolKeeper(services).refill()
    bound = [r for r in pool_repo.rows(services.store) if r.vm_id == pooled]
    assert all(r.job_id == job_id for r in bound), bound
    assert all(r.state != PoolVmState.READY for r in bound), bound
