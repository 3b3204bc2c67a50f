"""Crash matrix: a real `vps-console jobs resume JOB` subprocess is SIGKILLed at every step
boundary and in the middle of each engine or billing call that changes something; `jobs
resume` then finishes every job, and each order ends with exactly one VM, a `done` job and
one accepted order in WHMCS.

The simulators run in this process (time_scale 0.01); the runners are separate processes
that only know the config file, the engine password and billing secret (env) and the
secret-store passphrase. Every call is slowed a little during the boundary cases, so that
each state lasts long enough to be seen: a case whose runner had already finished when it
was to be killed fails instead of passing untested.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from console.billing.sync import sync_orders
from console.flow.plan import Overrides, draft_plan
from console.flow.services import Services
from console.secrets import open_secret_store
from console.store import jobs as repo
from console.store.models import Order
from tests.plugins.cli import CLI, cli_setup

pytestmark = pytest.mark.slow

BOUNDARIES = ("planned", "cloning", "clone_wait", "resizing", "initializing", "starting",
              "ip_wait", "handover")
# (label, method, path regex, nth matching call): the engine calls that change something.
MID_CALLS = (
    ("create VM", "POST", r"^/vms$", 1),
    ("create tag", "POST", r"^/tags$", 1),
    ("resize VM", "PUT", r"^/vms/[^/]+$", 1),
    ("extend disk", "PUT", r"/diskattachments/", 1),
    ("store initialization", "PUT", r"^/vms/[^/]+$", 2),
    ("start VM", "POST", r"^/vms/[^/]+/start$", 1),
)
# (label, WHMCS action): the billing calls of the handover that change something.
MID_BILLING_CALLS = (("update service", "UpdateClientProduct"), ("accept order", "AcceptOrder"))
HOLD_SECONDS = 1.5
SLOW_CALL_SECONDS = 0.03  # during the boundary cases, so no state passes unseen


PRODUCTS = """
[[catalog.products]]
billing_product = "VPS Linux Bare"
template = "alma9"
"""


@pytest.fixture
def crash_env(engine_sim, whmcs_sim, tmp_path, keyring_passphrase, monkeypatch):
    config, store = cli_setup(tmp_path, engine_sim, monkeypatch, PRODUCTS, whmcs_sim=whmcs_sim)
    from console.config import load_config

    services = Services(load_config(config), store, open_secret_store())
    yield services
    services.close()
    store.close()


def launch(services: Services, whmcs_sim) -> tuple[str, str]:
    """A paid WHMCS order, synced into the queue and launched: (order id, job id)."""
    placed = whmcs_sim.add_order(pid="VPS Linux Bare", configoptions={
        "cpu|CPU Cores": "2|2 vCPU", "ram|RAM": "2048|2 GB", "disk|Disk Space": "30|30 GB"})
    sync_orders(services.store, services.billing(), services.config.catalog)
    order_id = str(placed.id)
    with services.store.session() as session:
        order = session.get(Order, order_id)
    assert order is not None and order.status == "new", order
    engine = services.engine()
    draft = draft_plan(order, services.config.catalog.product_for(order.product_name),
                       engine.list_templates(), services.config, Overrides())
    assert draft.problems == [], draft.problems
    return order_id, services.runner().launch(order_id, draft.plan, {},
                                              confirm_warnings=True).id




def runner_process(*job_ids: str) -> subprocess.Popen:
    return subprocess.Popen([CLI, "jobs", "resume", *job_ids],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ))


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.003)


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def vms_of(engine_sim, order_id: str) -> list[str]:
    """Every VM on the engine marked for this order, whatever its name."""
    with engine_sim.world.lock:
        vms = list(engine_sim.world.vms.values())
    return [vm.id for vm in vms if f"order={order_id} " in (vm.comment or "")]


def test_sigkill_anywhere_then_resume_finishes_with_exactly_one_vm(crash_env, engine_sim,
                                                                  whmcs_sim):
    services = crash_env
    cases: list[tuple[str, str, str]] = []  # (case, order id, job id)

    engine_sim.faults.add(delay=SLOW_CALL_SECONDS)
    slow_billing = whmcs_sim.faults.inject("delay", seconds=SLOW_CALL_SECONDS)
    for boundary in BOUNDARIES:
        order_id, job_id = launch(services, whmcs_sim)
        process = runner_process(job_id)
        if boundary == "planned":
            wait_for(lambda: repo.get_job(services.store, job_id).owner is not None, 20,
                     "the runner to take the job")
        else:
            wait_for(lambda: repo.get_job(services.store, job_id).state == boundary
                     or process.poll() is not None, 30, f"state {boundary}")
        # Killed where it was meant to be: a runner that already finished tests nothing.
        assert process.poll() is None, (boundary, process.stdout.read().decode())
        kill(process)
        assert len(vms_of(engine_sim, order_id)) <= 1
        cases.append((f"at boundary {boundary}", order_id, job_id))
    engine_sim.faults.clear()
    whmcs_sim.faults.clear()
    assert slow_billing.fired > 0

    for label, method, path, nth in MID_CALLS:
        order_id, job_id = launch(services, whmcs_sim)
        engine_sim.faults.clear()
        seen_before = len(engine_sim.calls)
        engine_sim.faults.add(method, path, nth=nth, delay=HOLD_SECONDS)
        process = runner_process(job_id)

        def call_in_flight():
            import re
            hits = [c for c in engine_sim.calls[seen_before:]
                    if c[0] == method and re.search(path, c[1])]
            return len(hits) >= nth or process.poll() is not None

        wait_for(call_in_flight, 30, f"the {label} call")
        assert process.poll() is None, process.stdout.read().decode()
        kill(process)
        cases.append((f"in the middle of {label}", order_id, job_id))
        engine_sim.faults.clear()

    for label, action in MID_BILLING_CALLS:
        order_id, job_id = launch(services, whmcs_sim)
        seen_before = len(whmcs_sim.calls_for(action))
        held = whmcs_sim.faults.inject("delay", action=action, seconds=HOLD_SECONDS, count=1)
        process = runner_process(job_id)
        # The held call is recorded when it is answered: wait until the sim began holding it.
        wait_for(lambda: held.fired >= 1 or process.poll() is not None, 60, f"the {label} call")
        assert process.poll() is None, process.stdout.read().decode()
        kill(process)
        cases.append((f"in the middle of {label}", order_id, job_id))
        assert len(whmcs_sim.calls_for(action)) >= seen_before
        whmcs_sim.faults.clear()

    time.sleep(HOLD_SECONDS)  # let the held calls land on the engine after their callers died
    # Three plain `jobs resume` at once: they share the work through the job leases (a job
    # one of them runs is skipped by the others), which is also what two engineers get.
    resumers = [subprocess.Popen([CLI, "jobs", "resume"], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
                for _ in range(3)]
    for resumer in resumers:
        output, _ = resumer.communicate(timeout=120)
        assert resumer.returncode == 0, output

    for case, order_id, job_id in cases:
        job = repo.get_job(services.store, job_id)
        assert job.state == "done", (case, job.state, job.failed_step, job.error_message)
        vms = vms_of(engine_sim, order_id)
        assert len(vms) == 1, (case, vms)
        assert job.vm_id == vms[0], case
        assert engine_sim.vm(f"vps-{order_id}")["status"] == "up", case
        assert job.ips, case
        accepted = [call for call in whmcs_sim.calls_for("AcceptOrder")
                    if call.params.get("orderid") == order_id and call.result == "success"]
        assert len(accepted) == 1, (case, accepted)
        assert whmcs_sim.order_status(int(order_id)) == "Active", case
