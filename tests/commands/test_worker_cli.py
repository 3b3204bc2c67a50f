"""`vps-console worker --once` as cron or a script would run it, against both simulators:
it syncs the paid order, pre-clones it (VM down, never started), and on the next tick
after billing refunded the order removes the VM the pre-clone made."""

from __future__ import annotations

import os
import subprocess

import pytest

from console.store import jobs as repo
from console.store.models import Order
from console.store.states import JobState, OrderStatus
from tests.plugins.cli import CLI, cli_setup
from tests.plugins.flow import marked_vms

PRODUCTS = """
[[catalog.products]]
billing_product = "VPS Linux Bare"
template = "alma9"
on_paid = "{policy}"
"""


def worker_once() -> str:
    done = subprocess.run(
        [CLI, "worker", "--once"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def paid_order(whmcs_sim) -> str:
    placed = whmcs_sim.add_order(
        pid="VPS Linux Bare",
        configoptions={
            "cpu|CPU Cores": "2|2 vCPU",
            "ram|RAM": "2048|2 GB",
            "disk|Disk Space": "30|30 GB",
        },
    )
    return str(placed.id)


@pytest.fixture
def worker_env(engine_sim, whmcs_sim, tmp_path, keyring_passphrase, monkeypatch, request):
    policy = getattr(request, "param", "preclone")
    _, store = cli_setup(
        tmp_path, engine_sim, monkeypatch, PRODUCTS.format(policy=policy), whmcs_sim=whmcs_sim
    )
    yield store
    store.close()


def test_worker_once_pre_clones_a_paid_order_and_a_refund_removes_its_vm(
    worker_env, engine_sim, whmcs_sim
):
    store = worker_env
    order_id = paid_order(whmcs_sim)
    output = worker_once()
    assert f"order {order_id} precloned job" in output, output
    job = repo.open_job_for_order(store, order_id)
    assert job is not None and job.state == JobState.READY_FOR_ENGINEER, output
    assert engine_sim.vm(f"vps-{order_id}")["status"] == "down"
    with store.session() as session:
        assert session.get(Order, order_id).status == OrderStatus.READY_FOR_ENGINEER
    listed = subprocess.run(
        [CLI, "jobs", "list"], capture_output=True, text=True, env=dict(os.environ), timeout=60
    )
    assert "ready_for_engineer" in listed.stdout and "waiting for the engineer" in listed.stdout

    whmcs_sim.cancel_order(int(order_id), refund=True)
    output = worker_once()
    assert f"order {order_id} released job {job.id}: refunded in WHMCS" in output, output
    assert repo.get_job(store, job.id).state == JobState.CANCELLED
    assert marked_vms(engine_sim, order_id) == []
    with store.session() as session:
        assert session.get(Order, order_id).status == OrderStatus.CANCELLED
    assert "released" not in worker_once()  # nothing more to do


@pytest.mark.parametrize("worker_env", ["provision"], indirect=True)
def test_worker_once_provisions_a_complete_order_with_no_engineer(
    worker_env, engine_sim, whmcs_sim
):
    order_id = paid_order(whmcs_sim)
    output = worker_once()
    assert f"order {order_id} provisioned job" in output, output
    jobs = repo.list_jobs(worker_env, order_id=order_id)
    assert [job.state for job in jobs] == [JobState.DONE], output
    assert engine_sim.vm(f"vps-{order_id}")["status"] == "up"
    assert whmcs_sim.order_status(int(order_id)) == "Active"
