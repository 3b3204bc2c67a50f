"""Two `vps-console worker --once` processes on one store (SQLite, and PostgreSQL when
VPS_CONSOLE_TEST_PG_URL is set) doing intake on the same paid orders at the same time:
each order gets one job and one VM, every job is run by one of them."""

from __future__ import annotations

import os
import subprocess

import pytest

from console.store import jobs as repo
from console.store.db import open_store
from console.store.models import Order
from console.store.states import JobState
from tests.plugins.cli import CLI, point_cli_at, write_cli_config
from tests.plugins.flow import marked_vms

PRODUCTS = """
[[catalog.products]]
billing_product = "VPS Linux"
template = "alma9"
disk = "30GiB"
on_paid = "preclone"

[[catalog.products]]
billing_product = "VPS Linux Bare"
template = "alma9"
memory = "2GiB"
disk = "30GiB"
on_paid = "provision"
"""
ORDERS = {"901": "VPS Linux", "902": "VPS Linux", "903": "VPS Linux Bare", "904": "VPS Linux"}


def race_two_workers(engine_sim, tmp_path, monkeypatch, store_url: str) -> None:
    config = write_cli_config(tmp_path / "config.toml", engine_sim, store_url, PRODUCTS)
    point_cli_at(monkeypatch, config, engine_sim)
    store = open_store(store_url)
    try:
        with store.session() as session:
            for order_id, product in ORDERS.items():
                session.add(
                    Order(
                        id=order_id,
                        source="manual",
                        product_name=product,
                        client_name="Test Client",
                        hostname=f"h{order_id}.example.net",
                    )
                )
        workers = [
            subprocess.Popen(
                [CLI, "worker", "--once"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=dict(os.environ, VPS_CONSOLE_ACTOR=f"worker{n}@host"),
            )
            for n in (1, 2)
        ]
        outputs = [worker.communicate(timeout=240)[0] for worker in workers]
        assert [worker.returncode for worker in workers] == [0, 0], outputs
        for order_id, product in ORDERS.items():
            jobs = repo.list_jobs(store, order_id=order_id)
            assert len(jobs) == 1, (order_id, jobs, outputs)
            wanted = JobState.DONE if product == "VPS Linux Bare" else JobState.READY_FOR_ENGINEER
            assert jobs[0].state == wanted, (order_id, jobs[0].error_message, outputs)
            assert [vm.id for vm in marked_vms(engine_sim, order_id)] == [jobs[0].vm_id]
        # The intake was decided once per order, whichever worker won it.
        taken = [line for out in outputs for line in out.splitlines() if " job " in line]
        for order_id in ORDERS:
            assert sum(f"order {order_id} " in line for line in taken) == 1, outputs
    finally:
        store.close()


def test_two_workers_on_one_sqlite_store_take_each_order_once(
    engine_sim, tmp_path, keyring_passphrase, monkeypatch
):
    race_two_workers(engine_sim, tmp_path, monkeypatch, f"sqlite:///{tmp_path / 'console.db'}")


@pytest.mark.postgres
def test_two_workers_on_one_postgresql_store_take_each_order_once(
    engine_sim, tmp_path, keyring_passphrase, monkeypatch, pg_url
):
    race_two_workers(engine_sim, tmp_path, monkeypatch, pg_url)
