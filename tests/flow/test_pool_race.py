"""Two consoles (two runner processes) on one store race for the last warm-pool VM: one
takes it, the other clones; each order ends with one VM. On SQLite and on PostgreSQL
(marker `postgres`, VPS_CONSOLE_TEST_PG_URL)."""

from __future__ import annotations

import time

import pytest

from console.config import PoolEntry
from console.flow import pool
from console.flow.plan import Overrides
from console.flow.runner import Runner
from console.flow.services import Services
from console.secrets import MemorySecretStore
from console.store import pool as pool_repo
from console.store.db import open_store
from console.store.models import Order
from console.store.pool import PoolVmState
from tests.flow.test_happy_paths import plan_for
from tests.plugins.flow import FAST, marked_vms, sim_config
from tests.plugins.races import race


def _run(config, secrets, job_id: str, barrier, results) -> None:
    store = open_store(config.store.url, migrate_schema=False)
    services = Services(config, store, secrets)
    try:
        runner = Runner(services, timing=FAST)
        services.engine().info()  # logged in before the start line
        barrier.wait(timeout=60)
        job = runner.run(job_id)
        results.put((job_id, str(job.state), job.vm_id, (job.data or {}).get(pool.POOL_VM)))
    except Exception as exc:  # noqa: BLE001 - reported, so a crash cannot pass as a clone
        results.put((job_id, f"error: {exc!r}", None, None))
    finally:
        services.close()
        store.close()


@pytest.mark.slow
def test_two_consoles_race_for_the_last_pool_vm_one_takes_it_the_other_clones(
    store_url, engine_sim, monkeypatch
):
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", engine_sim.password)
    config = sim_config(engine_sim, store_url).model_copy(
        update={"pool": (PoolEntry(template="alma9-cpanel", cluster="prod-a", size=1),)}
    )
    store = open_store(store_url)
    secrets = MemorySecretStore()
    services = Services(config, store, secrets)
    keeper = pool.PoolKeeper(services)
    deadline = time.monotonic() + 20
    while not any(r.state == PoolVmState.READY for r in pool_repo.rows(store)):
        keeper.refill()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (row,) = pool_repo.rows(store)
    jobs = []
    for order_id in ("5001", "5002"):
        with store.session() as session:
            session.add(Order(id=order_id, source="manual", product_name="VPS Linux cPanel"))
        plan = plan_for(services, order_id, Overrides())
        jobs.append(Runner(services, timing=FAST).launch(order_id, plan, {}, confirm_warnings=True))
    services.close()
    store.close()  # no pooled connection may cross the fork

    outcomes = race(_run, [(config, secrets, job.id) for job in jobs])
    assert [o[1] for o in outcomes] == ["done", "done"], outcomes
    takers = [o for o in outcomes if o[3] == row.name]
    assert len(takers) == 1, outcomes  # one winner
    assert takers[0][2] == row.vm_id
    (loser,) = [o for o in outcomes if o is not takers[0]]
    assert loser[3] is None and loser[2] != row.vm_id  # the other cloned
    for order_id in ("5001", "5002"):
        assert len(marked_vms(engine_sim, order_id)) == 1
    store = open_store(store_url, migrate_schema=False)
    try:
        taken = [r for r in pool_repo.rows(store) if r.name == row.name]
        assert [(r.state, r.job_id) for r in taken] == [(PoolVmState.TAKEN, takers[0][0])]
    finally:
        store.close()
