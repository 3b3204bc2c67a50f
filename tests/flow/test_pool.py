"""The warm pool against the engine simulator: fill, take, refill, a new template version,
max age, and a claim returned when its job is cancelled before the take."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from console.config import PoolEntry
from console.flow import marks, pool
from console.flow.plan import Overrides
from console.flow.runner import Runner
from console.flow.services import Services
from console.store import pool as pool_repo
from console.store.models import utcnow
from console.store.pool import PoolVmState
from tests.flow.test_happy_paths import plan_for
from tests.plugins.flow import FAST

TEMPLATE = "alma9-cpanel"


def pool_config(config, size: int = 2, **entry):
    return config.model_copy(
        update={"pool": (PoolEntry(template=TEMPLATE, cluster="prod-a", size=size, **entry),)}
    )


@pytest.fixture
def pool_services(flow_config, store, memory_secrets, engine_sim, monkeypatch):
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", engine_sim.password)

    def make(size: int = 2, **entry) -> Services:
        made = Services(pool_config(flow_config, size, **entry), store, memory_secrets)
        opened.append(made)
        return made

    opened: list[Services] = []
    yield make
    for services in opened:
        services.close()


def engine_pool_vms(engine_sim):
    with engine_sim.world.lock:
        vms = list(engine_sim.world.vms.values())
    return [vm for vm in vms if "vps-console pool=" in (vm.comment or "")]


def fill(keeper: pool.PoolKeeper, size: int, timeout: float = 20.0) -> list[pool.RefillReport]:
    """Refill until `size` pool VMs are ready (clones take a moment to copy)."""
    reports = []
    deadline = time.monotonic() + timeout
    while True:
        reports += keeper.refill()
        ready = [r for r in pool_repo.rows(keeper.store) if r.state == PoolVmState.READY]
        if len(ready) >= size:
            return reports
        assert time.monotonic() < deadline, [r.line() for r in reports]
        time.sleep(0.05)


def test_refill_clones_the_pool_down_and_marked_then_does_nothing_more(pool_services, engine_sim):
    services = pool_services(size=2)
    keeper = pool.PoolKeeper(services)
    fill(keeper, 2)
    vms = engine_pool_vms(engine_sim)
    assert len(vms) == 2
    latest = max(v["version_number"] for v in engine_sim.template_versions(TEMPLATE))
    for vm in vms:
        assert vm.status == "down", vm.status
        assert vm.name.startswith("pool-alma9-cpanel-")
        assert f"pool={TEMPLATE} version={latest} cluster=prod-a" in vm.comment
        assert "order=" not in vm.comment
    again = keeper.refill()
    assert again[0].actions == [] and len(engine_pool_vms(engine_sim)) == 2
    (status,) = pool.status(services.config, services.store)
    assert (status.ready, status.cloning, status.versions) == (2, 0, (latest,))
    assert status.line().startswith(f"pool {TEMPLATE} on prod-a: 2/2 ready")


def test_an_order_takes_a_pool_vm_instead_of_cloning_and_the_pool_refills(
    pool_services, add_order, engine_sim
):
    services = pool_services(size=1)
    keeper = pool.PoolKeeper(services)
    fill(keeper, 1)
    (pooled,) = engine_pool_vms(engine_sim)
    pooled_id, pooled_name = pooled.id, pooled.name  # the simulator's live object is renamed
    add_order("3001", "VPS Linux cPanel", cpus=4, memory_mib=8192, disk_gib=100)
    runner = Runner(services, timing=FAST)
    job = runner.launch("3001", plan_for(services, "3001", Overrides()), {}, confirm_warnings=True)
    creates_before = [c for c in engine_sim.calls if c[0] == "POST" and c[1] == "/vms"]
    done = runner.run(job.id)
    assert done.state == "done", (done.error_message, done.error_hint)
    creates_after = [c for c in engine_sim.calls if c[0] == "POST" and c[1] == "/vms"]
    assert creates_after == creates_before  # no clone: the pool VM was taken
    assert done.vm_id == pooled_id and done.data[pool.POOL_VM] == pooled_name
    vm = services.engine().find_vm("vps-3001")
    assert vm is not None and vm.id == pooled_id and vm.status == "up"
    assert marks.order_of(vm) == "3001" and marks.job_of(vm) == job.id
    assert marks.pool_of(vm) is None
    assert (vm.cpus, vm.memory_mib, vm.disk_gib) == (4, 8192, 100)
    assert engine_pool_vms(engine_sim) == []
    fill(keeper, 1)
    (refilled,) = engine_pool_vms(engine_sim)
    assert refilled.id != pooled_id


def test_without_a_ready_pool_vm_the_order_clones(pool_services, add_order, engine_sim):
    services = pool_services(size=1)
    add_order("3002", "VPS Linux cPanel")
    runner = Runner(services, timing=FAST)
    job = runner.launch("3002", plan_for(services, "3002", Overrides()), {}, confirm_warnings=True)
    done = runner.run(job.id)
    assert done.state == "done", done.error_message
    assert pool.POOL_VM not in done.data
    assert engine_pool_vms(engine_sim) == []


def make_new_version(services, engine_sim, sdk_connection):
    from tests.plugins.engine import ready_vm, wait_for

    vm, _ = ready_vm(sdk_connection, "build-for-v-next", template=TEMPLATE)
    engine = services.engine()
    base = min(engine_sim.template_versions(TEMPLATE), key=lambda v: v["version_number"])
    engine.create_template_version(
        vm.id, name=TEMPLATE, base_template_id=base["id"], version_name="next"
    )
    wait_for(lambda: all(v["status"] == "ok" for v in engine_sim.template_versions(TEMPLATE)))
    return max(v["version_number"] for v in engine_sim.template_versions(TEMPLATE))


def test_a_new_template_version_replaces_the_older_pool_vms(
    pool_services, engine_sim, sdk_connection
):
    services = pool_services(size=2)
    keeper = pool.PoolKeeper(services)
    fill(keeper, 2)
    old = {vm.id for vm in engine_pool_vms(engine_sim)}
    newest = make_new_version(services, engine_sim, sdk_connection)
    report = keeper.refill()[0]
    assert sum("removed" in a for a in report.actions) == 2, report.actions
    fill(keeper, 2)
    now = engine_pool_vms(engine_sim)
    assert len(now) == 2 and not old & {vm.id for vm in now}
    assert all(f"version={newest} " in vm.comment for vm in now)


def test_pool_vms_past_max_age_are_replaced(pool_services, engine_sim):
    services = pool_services(size=1, max_age_hours=2)
    fill(pool.PoolKeeper(services), 1)
    (old,) = engine_pool_vms(engine_sim)
    later = pool.PoolKeeper(services, now=lambda: utcnow() + timedelta(hours=3))
    report = later.refill()[0]
    assert any("older than 2 h" in a for a in report.actions), report.actions
    assert old.id not in {vm.id for vm in engine_pool_vms(engine_sim)}
    fill(pool.PoolKeeper(services), 1)
    assert len(engine_pool_vms(engine_sim)) == 1


def test_a_taken_pool_vm_is_never_retired_and_a_cancelled_claim_returns_to_the_pool(
    pool_services, add_order, engine_sim
):
    services = pool_services(size=1)
    fill(pool.PoolKeeper(services), 1)
    (row,) = pool_repo.rows(services.store)
    claimed = pool_repo.claim(
        services.store,
        engine="sim",
        template_id=row.template_id,
        cluster="prod-a",
        job_id="job-x",
        order_id="9",
    )
    assert claimed is not None and claimed.name == row.name
    assert (
        pool_repo.claim(
            services.store,
            engine="sim",
            template_id=row.template_id,
            cluster="prod-a",
            job_id="job-y",
            order_id="10",
        )
        is None
    )
    assert not pool_repo.retire(services.store, row.name)
    # A claim whose job no longer exists (never created, or gone) goes back to the pool.
    pool.PoolKeeper(services).refill()
    assert pool_repo.get(services.store, row.name).state == PoolVmState.READY


def test_the_intake_worker_refills_the_pool_each_tick(pool_services, engine_sim):
    """`vps-console worker` keeps the pool with no console open: its tick refills."""
    from console.flow.worker import IntakeWorker

    services = pool_services(size=2)
    worker = IntakeWorker(Runner(services))
    report = worker.tick(sync=False)
    assert sum(line.count("cloning pool-") for line in report.lines()) == 2, report.lines()
    assert len(engine_pool_vms(engine_sim)) == 2
    worker.tick(sync=False)
    worker.wait()
    assert len(engine_pool_vms(engine_sim)) == 2  # full: nothing more cloned
