"""Crash matrix, as on a headless host: no desktop keyring (the fail backend is forced), no
passphrase, no terminal (stdin is not a tty), so secrets live in the encrypted file with its
owner-only key file, the default that needs nobody.

1. At every step boundary and in the middle of each engine or billing call that changes
   something, a real `vps-console jobs resume JOB` subprocess is SIGKILLed; `jobs resume`
   then finishes the job. One test per crash point, so pytest-xdist spreads them.
2. Random kills over a job's whole life, launch included (`provision --no-wait` is killed
   too): at least 20 SIGKILLs of live processes; then `jobs resume` (three at once) ends
   every job `done`.

Each order ends with exactly one VM, a `done` job and one accepted order in WHMCS.
The simulators run in this process (time_scale 0.01); the runners are separate processes
that only know the config file, the engine password and billing secret (env) and the user
data dir (where the key file is). Every call is slowed a little during the boundary cases,
so that each state lasts long enough to be seen: a case whose runner had already finished
when it was to be killed fails instead of passing untested.
"""

from __future__ import annotations

import os
import random
import re
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

BOUNDARIES = (
    "planned",
    "cloning",
    "clone_wait",
    "resizing",
    "initializing",
    "starting",
    "ip_wait",
    "handover",
)
# (label, method, path regex, nth matching call): the engine calls that change something.
# The create carries sizes and initialization: no PUT on the VM itself (a VM that still
# needs them is reconciled by resizing and initializing, see tests/flow/test_call_budget.py).
MID_CALLS = (
    ("create VM", "POST", r"^/vms$", 1),
    ("create tag", "POST", r"^/tags$", 1),
    ("tag VM", "POST", r"^/vms/[^/]+/tags$", 1),
    ("extend disk", "PUT", r"/diskattachments/", 1),
    ("start VM", "POST", r"^/vms/[^/]+/start$", 1),
)
# (label, WHMCS action): the billing calls of the handover that change something.
MID_BILLING_CALLS = (("update service", "UpdateClientProduct"), ("accept order", "AcceptOrder"))
HOLD_SECONDS = 1.5
SLOW_CALL_SECONDS = 0.03  # during the boundary cases, so no state passes unseen
# step -> the step after it, for steps that may pass without an engine call
BRIEF_STEPS = {"initializing": "starting", "ip_wait": "handover"}
RANDOM_KILLS = 20
RANDOM_ORDERS = 4
RANDOM_SEED = 20261202


PRODUCTS = """
[[catalog.products]]
billing_product = "VPS Linux Bare"
template = "alma9"
"""


@pytest.fixture
def crash_env(engine_sim, whmcs_sim, tmp_path, monkeypatch):
    assert "VPS_CONSOLE_KEYRING_PASSPHRASE" not in os.environ
    assert os.environ["PYTHON_KEYRING_BACKEND"] == "keyring.backends.fail.Keyring"
    config, store = cli_setup(tmp_path, engine_sim, monkeypatch, PRODUCTS, whmcs_sim=whmcs_sim)
    from console.config import load_config

    secrets = open_secret_store()
    assert (secrets.describe().name, secrets.describe().protection) == (
        "encrypted file",
        "key file",
    )
    services = Services(load_config(config), store, secrets)
    yield services
    services.close()
    store.close()


def place_order(services: Services, whmcs_sim) -> str:
    """A paid WHMCS order, synced into the queue: its id."""
    placed = whmcs_sim.add_order(
        pid="VPS Linux Bare",
        configoptions={
            "cpu|CPU Cores": "2|2 vCPU",
            "ram|RAM": "2048|2 GB",
            "disk|Disk Space": "30|30 GB",
        },
    )
    sync_orders(services.store, services.billing(), services.config.catalog)
    order_id = str(placed.id)
    with services.store.session() as session:
        order = session.get(Order, order_id)
    assert order is not None and order.status == "new", order
    return order_id


def launch(services: Services, whmcs_sim) -> tuple[str, str]:
    """A paid WHMCS order, synced and launched in this process: (order id, job id)."""
    order_id = place_order(services, whmcs_sim)
    with services.store.session() as session:
        order = session.get(Order, order_id)
    draft = draft_plan(
        order,
        services.config.catalog.product_for(order.product_name),
        services.engine().list_templates(),
        services.config,
        Overrides(),
    )
    assert draft.problems == [], draft.problems
    return order_id, services.runner().launch(order_id, draft.plan, {}, confirm_warnings=True).id


def child(*args: str) -> subprocess.Popen:
    """A `vps-console` child as cron would start it: no terminal on stdin."""
    return subprocess.Popen(
        [CLI, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
    )


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


def resume_all(resumers: int = 1) -> None:
    """Plain `jobs resume`, several at once: they share the work through the job leases."""
    processes = [
        subprocess.Popen(
            [CLI, "jobs", "resume"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=dict(os.environ),
        )
        for _ in range(resumers)
    ]
    for process in processes:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output


def assert_finished_once(
    services, engine_sim, whmcs_sim, case: str, order_id: str, job_id: str
) -> None:
    job = repo.get_job(services.store, job_id)
    assert job.state == "done", (case, job.state, job.failed_step, job.error_message)
    vms = vms_of(engine_sim, order_id)
    assert len(vms) == 1, (case, vms)
    assert job.vm_id == vms[0], case
    assert engine_sim.vm(f"vps-{order_id}")["status"] == "up", case
    assert job.ips, case
    accepted = [
        call
        for call in whmcs_sim.calls_for("AcceptOrder")
        if call.params.get("orderid") == order_id and call.result == "success"
    ]
    assert len(accepted) == 1, (case, accepted)
    assert whmcs_sim.order_status(int(order_id)) == "Active", case


def kill_at_boundary(services, engine_sim, whmcs_sim, boundary: str) -> tuple[str, str]:
    engine_sim.faults.add(delay=SLOW_CALL_SECONDS)
    slow_billing = whmcs_sim.faults.inject("delay", seconds=SLOW_CALL_SECONDS)
    order_id, job_id = launch(services, whmcs_sim)
    kill_runner_at(services, job_id, boundary)
    assert len(vms_of(engine_sim, order_id)) <= 1
    if boundary == "handover":
        assert slow_billing.fired > 0
    return order_id, job_id


def kill_runner_at(services, job_id: str, boundary: str) -> None:
    """A `jobs resume JOB` child, SIGKILLed once the job is at `boundary` (or, for
    planned, once it holds the job)."""
    process = child("jobs", "resume", job_id)
    if boundary == "planned":
        wait_for(
            lambda: repo.get_job(services.store, job_id).owner is not None,
            20,
            "the runner to take the job",
        )
    else:
        # Two steps may make no engine call and last a store write or two: initializing when
        # the create already stored the hostname, ip_wait when the boot's last look already
        # saw the address. A poll can miss so short a state on a loaded machine: such a
        # runner is killed in it or in the step right after.
        states = {boundary, BRIEF_STEPS[boundary]} if boundary in BRIEF_STEPS else {boundary}
        wait_for(
            lambda: (
                repo.get_job(services.store, job_id).state in states or process.poll() is not None
            ),
            30,
            f"state {boundary}",
        )
    # Killed where it was meant to be: a runner that already finished tests nothing.
    assert process.poll() is None, (boundary, process.stdout.read().decode())
    kill(process)


def kill_mid_engine_call(services, engine_sim, whmcs_sim, label: str) -> tuple[str, str]:
    _, method, path, nth = next(call for call in MID_CALLS if call[0] == label)
    return kill_holding(services, engine_sim, whmcs_sim, label, method, path, nth)


def kill_holding(
    services, engine_sim, whmcs_sim, label: str, method: str, path: str, nth: int
) -> tuple[str, str]:
    """Launch an order, then kill its runner while the engine holds its nth call of
    `method` `path` (the call lands after the runner died)."""
    order_id, job_id = launch(services, whmcs_sim)
    hold_and_kill(engine_sim, job_id, label, method, path, nth)
    return order_id, job_id


def kill_runner_mid_call(engine_sim, job_id: str, label: str) -> None:
    """A `jobs resume JOB` child, SIGKILLed while the engine holds its `label` call."""
    _, method, path, nth = next(call for call in MID_CALLS if call[0] == label)
    hold_and_kill(engine_sim, job_id, label, method, path, nth)


def hold_and_kill(engine_sim, job_id: str, label: str, method: str, path: str, nth: int) -> None:
    engine_sim.faults.clear()
    seen_before = len(engine_sim.calls)
    engine_sim.faults.add(method, path, nth=nth, delay=HOLD_SECONDS)
    process = child("jobs", "resume", job_id)

    def call_in_flight():
        hits = [
            c for c in engine_sim.calls[seen_before:] if c[0] == method and re.search(path, c[1])
        ]
        return len(hits) >= nth or process.poll() is not None

    wait_for(call_in_flight, 30, f"the {label} call")
    assert process.poll() is None, process.stdout.read().decode()
    kill(process)


def kill_mid_billing_call(services, engine_sim, whmcs_sim, label: str) -> tuple[str, str]:
    action = dict(MID_BILLING_CALLS)[label]
    order_id, job_id = launch(services, whmcs_sim)
    seen_before = len(whmcs_sim.calls_for(action))
    held = whmcs_sim.faults.inject("delay", action=action, seconds=HOLD_SECONDS, count=1)
    process = child("jobs", "resume", job_id)
    # The held call is recorded when it is answered: wait until the sim began holding it.
    wait_for(lambda: held.fired >= 1 or process.poll() is not None, 60, f"the {label} call")
    assert process.poll() is None, process.stdout.read().decode()
    kill(process)
    assert len(whmcs_sim.calls_for(action)) >= seen_before
    return order_id, job_id


def kill_mid_launch(services, engine_sim, whmcs_sim, label: str) -> tuple[str, str]:
    """`provision --no-wait` killed while its launch waits on the engine's answer to the
    preflight's name lookup (the only one: the job's password reuses it): no job row yet. A
    new launch (after the claim it left) then provisions the order once."""
    order_id = place_order(services, whmcs_sim)
    held = engine_sim.faults.add("GET", r"^/vms$", nth=1, delay=HOLD_SECONDS)
    process = child("provision", order_id, "--yes", "--no-wait")
    wait_for(lambda: held.fired >= 1 or process.poll() is not None, 60, "the launch's lookup")
    assert process.poll() is None, process.stdout.read().decode()
    kill(process)
    assert repo.open_job_for_order(services.store, order_id) is None
    engine_sim.faults.clear()
    relaunch = child("provision", order_id, "--yes", "--no-wait")
    output, _ = relaunch.communicate(timeout=120)
    assert relaunch.returncode == 0, output
    return order_id, repo.open_job_for_order(services.store, order_id).id


CRASH_POINTS = (
    [pytest.param(kill_mid_launch, "launch", id="mid-launch")]
    + [pytest.param(kill_at_boundary, b, id=f"boundary-{b}") for b in BOUNDARIES]
    + [
        pytest.param(kill_mid_engine_call, c[0], id=f"mid-{c[0].replace(' ', '-')}")
        for c in MID_CALLS
    ]
    + [
        pytest.param(kill_mid_billing_call, c[0], id=f"mid-{c[0].replace(' ', '-')}")
        for c in MID_BILLING_CALLS
    ]
)


@pytest.mark.parametrize("crash, point", CRASH_POINTS)
def test_sigkill_at_a_crash_point_then_resume_finishes_with_exactly_one_vm(
    crash_env, engine_sim, whmcs_sim, crash, point
):
    services = crash_env
    order_id, job_id = crash(services, engine_sim, whmcs_sim, point)
    engine_sim.faults.clear()
    whmcs_sim.faults.clear()
    if crash in (kill_mid_engine_call, kill_mid_billing_call):
        time.sleep(HOLD_SECONDS)  # let the held calls land after their callers died
    resume_all()
    assert_finished_once(services, engine_sim, whmcs_sim, point, order_id, job_id)


def test_random_sigkills_over_whole_lives_launch_included_then_resume_finishes_all(
    crash_env, engine_sim, whmcs_sim
):
    services = crash_env
    chance = random.Random(RANDOM_SEED)
    orders = [place_order(services, whmcs_sim) for _ in range(RANDOM_ORDERS)]
    # How long a whole launch takes on this machine now: it bounds the launch kills' delays.
    started = time.monotonic()
    timed = child("provision", orders[0], "--yes", "--no-wait")
    output, _ = timed.communicate(timeout=120)
    assert timed.returncode == 0, output
    launch_seconds = time.monotonic() - started
    kills: list[tuple[str, str, str]] = []  # (order, what was killed, the job's state then)
    rounds = 0

    def done(order_id: str) -> bool:
        return any(
            j.state == "done" for j in repo.list_jobs(services.store) if j.order_id == order_id
        )

    while len(kills) < RANDOM_KILLS:
        rounds += 1
        assert rounds < RANDOM_KILLS * 4, f"too few kills landed: {kills}"
        pending = [order_id for order_id in orders if not done(order_id)]
        if not pending:  # every runner so far outran its kill: a new order to kill
            orders.append(place_order(services, whmcs_sim))
            continue
        order_id = pending[rounds % len(pending)]
        job = repo.open_job_for_order(services.store, order_id)
        args = (
            ("jobs", "resume", job.id)
            if job is not None
            else ("provision", order_id, "--yes", "--no-wait")
        )
        process = child(*args)
        # A launch is killed anywhere in its life (start-up included), a runner anywhere in
        # the job's: a launch may finish (1 in 6), and so may a runner near the end.
        delay = chance.uniform(0.1, launch_seconds * 1.2 if job is None else 3.0)
        if job is not None:
            # From when the runner holds the job, not from its start-up (imports, config).
            wait_for(
                lambda job=job, process=process: (
                    repo.get_job(services.store, job.id).owner_pid == process.pid
                    or process.poll() is not None
                ),
                30,
                "the runner to take the job",
            )
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            kill(process)
            job = repo.open_job_for_order(services.store, order_id)
            state = job.state if job else ("done" if done(order_id) else "no job yet")
            kills.append((order_id, " ".join(args[:2]), state))
        else:
            output = process.stdout.read().decode()
            assert process.returncode == 0, (args, output)
        assert len(vms_of(engine_sim, order_id)) <= 1, kills

    # An order whose launch died before its job row was committed is launched again.
    for order_id in orders:
        if not any(j.order_id == order_id for j in repo.list_jobs(services.store)):
            relaunch = child("provision", order_id, "--yes", "--no-wait")
            output, _ = relaunch.communicate(timeout=120)
            assert relaunch.returncode == 0, output
    print("random kills (order, process, job state):", kills)
    resume_all(resumers=3)
    for order_id in orders:
        jobs = [j for j in repo.list_jobs(services.store) if j.order_id == order_id]
        finished = [j for j in jobs if j.state == "done"]
        assert len(finished) == 1, (order_id, [(j.state, j.error_message) for j in jobs], kills)
        assert_finished_once(
            services, engine_sim, whmcs_sim, f"random kills {kills}", order_id, finished[0].id
        )
