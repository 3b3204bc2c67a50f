"""A job's lease is taken over at once from a holder that died on this host, also when it
died between taking the lease and recording its host (the jobs an intake creates carry no
host until their first runner records one)."""

from __future__ import annotations

import subprocess
import sys

from console.store import jobs as repo
from console.store.models import Order, utcnow


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_dead_holder_that_recorded_no_host_is_taken_over_here(store):
    with store.session() as session:
        session.add(Order(id="31", source="manual", product_name="VPS"))
    job = repo.create_job(store, order_id="31", plan={}, engine="sim", created_by="intake@a")
    repo.update_job(store, job.id, owner="worker@a", owner_pid=dead_pid(), heartbeat_at=utcnow())
    assert repo.get_job(store, job.id).runner_host is None
    lease = repo.acquire_lease(store, job.id, "worker@b", lease_seconds=600)
    try:
        assert lease.won and lease.took_over_from == "worker@a"
    finally:
        repo.release_lease(store, job.id, "worker@b")


def test_a_holder_on_another_host_is_not_taken_over_while_it_beats(store):
    with store.session() as session:
        session.add(Order(id="32", source="manual", product_name="VPS"))
    job = repo.create_job(store, order_id="32", plan={}, engine="sim", created_by="intake@a")
    repo.update_job(
        store,
        job.id,
        owner="worker@elsewhere",
        owner_pid=dead_pid(),
        heartbeat_at=utcnow(),
        data={"runner_host": "elsewhere.example.net"},
    )
    lease = repo.acquire_lease(store, job.id, "worker@b", lease_seconds=600)
    assert not lease.won and lease.holder == "worker@elsewhere"
