"""Many orders at once: a bulk launch never runs more full clones on one storage domain
than the engine's limit (asserted from the engine simulator's own record of its image
locks), jobs waiting for a slot say so, and all of them end done."""

from __future__ import annotations

from console.flow import batch
from console.flow.runner import Runner
from console.flow.services import Services
from console.store import clone_slots
from console.store import jobs as repo
from console.store.states import JobState
from tests.flow.test_happy_paths import plan_for
from tests.plugins.flow import FAST, marked_vms

ORDERS = 10
LIMIT = 2


def test_a_bulk_launch_of_ten_keeps_two_clones_per_domain_and_ends_all_done(
    flow_config, store, memory_secrets, engine_sim, add_order, monkeypatch
):
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", engine_sim.password)
    engines = tuple(
        e.model_copy(update={"max_clones_per_storage_domain": LIMIT}) for e in flow_config.engines
    )
    services = Services(flow_config.model_copy(update={"engines": engines}), store, memory_secrets)
    runner = Runner(services, timing=FAST)
    ids = [str(700 + n) for n in range(ORDERS)]
    jobs = []
    for order_id in ids:
        add_order(order_id, "VPS Linux", cpus=1, memory_mib=2048, disk_gib=30)
        jobs.append(runner.launch(order_id, plan_for(services, order_id), {}).id)

    result = batch.run_jobs(runner, jobs, concurrency=ORDERS)
    services.close()

    assert result.skipped == []
    assert [job.state for job in result.finished] == [JobState.DONE] * ORDERS, [
        (job.id, job.state, job.error_message) for job in result.finished
    ]
    started, most_at_once = engine_sim.copies()["data-ssd"]
    assert started == ORDERS
    assert most_at_once <= LIMIT
    for order_id in ids:
        assert len(marked_vms(engine_sim, order_id)) == 1
    waits = [
        event.message
        for job_id in jobs
        for event in repo.job_events(store, job_id)
        if event.message.startswith("waiting for a clone slot")
    ]
    assert waits and all("on data-ssd (2 of 2 busy)" in message for message in waits), waits
    # Every slot is free again once no job clones.
    assert clone_slots.take(store, "sim", "data-ssd", "probe", LIMIT).won


def test_a_slot_is_held_once_and_freed_when_its_job_leaves_the_copy(store, add_order):
    for order_id in ("801", "802", "803"):
        add_order(order_id, "VPS Linux")
    jobs = [
        repo.create_job(
            store, order_id=o, plan={"vm_name": f"vps-{o}"}, engine="sim", created_by="t"
        )
        for o in ("801", "802", "803")
    ]
    for job in jobs:
        repo.update_job(store, job.id, state=JobState.CLONING)
    first, second, third = (job.id for job in jobs)
    assert clone_slots.take(store, "sim", "data-ssd", first, 2).won
    assert clone_slots.take(store, "sim", "data-ssd", first, 2).won  # a resume keeps it
    assert clone_slots.take(store, "sim", "data-ssd", second, 2).won
    refused = clone_slots.take(store, "sim", "data-ssd", third, 2)
    assert not refused.won and sorted(refused.busy) == sorted([first, second])
    assert clone_slots.take(store, "sim", "data-hdd", third, 2).won  # another domain
    repo.update_job(store, first, state=JobState.RESIZING)  # its copy is done
    assert clone_slots.take(store, "sim", "data-ssd", third, 2).won
