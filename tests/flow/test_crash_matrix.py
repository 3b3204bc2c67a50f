"""Crash matrix: a real `vps-console jobs resume JOB` subprocess is SIGKILLed at every step
boundary and in the middle of each engine call that changes something; `jobs resume` then
finishes every job, and each order ends with exactly one VM and a `done` job.

The simulator runs in this process (time_scale 0.01); the runners are separate processes
that only know the config file, the engine password (env) and the secret-store passphrase.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.flow.plan import Overrides, draft_plan
from console.flow.services import Services
from console.flow.timing import ENV_TIME_SCALE
from console.secrets import open_secret_store
from console.store import jobs as repo
from console.store.db import open_store
from console.store.models import Order

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
HOLD_SECONDS = 1.5


def write_config(path: Path, engine_sim, store_url: str) -> Path:
    path.write_text(f"""
[[engines]]
name = "sim"
url = "{engine_sim.url}"
username = "{engine_sim.username}"
cluster = "prod-a"

[store]
url = "{store_url}"

[[catalog.products]]
billing_product = "VPS Linux"
template = "alma9"
cpus = 2
memory = "2GiB"
disk = "30GiB"
""", encoding="utf-8")
    return path


@pytest.fixture
def crash_env(engine_sim, tmp_path, keyring_passphrase, monkeypatch):
    store_url = f"sqlite:///{tmp_path / 'console.db'}"
    config = write_config(tmp_path / "config.toml", engine_sim, store_url)
    monkeypatch.setenv("VPS_CONSOLE_CONFIG", str(config))
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", engine_sim.password)
    monkeypatch.setenv(ENV_TIME_SCALE, "0.01")
    from console.config import load_config

    store = open_store(store_url)
    services = Services(load_config(config), store, open_secret_store())
    yield services
    services.close()
    store.close()


def launch(services: Services, order_id: str) -> str:
    with services.store.session() as session:
        session.add(Order(id=order_id, source="manual", product_name="VPS Linux"))
    with services.store.session() as session:
        order = session.get(Order, order_id)
    engine = services.engine()
    draft = draft_plan(order, services.config.catalog.product_for("VPS Linux"),
                       engine.list_templates(), services.config, Overrides())
    assert draft.problems == []
    return services.runner().launch(order_id, draft.plan, {}, confirm_warnings=True).id


CLI = str(Path(sys.executable).with_name("vps-console"))


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


def test_sigkill_anywhere_then_resume_finishes_with_exactly_one_vm(crash_env, engine_sim):
    services = crash_env
    cases: list[tuple[str, str, str]] = []  # (case, order id, job id)
    order_number = 2101

    for boundary in BOUNDARIES:
        order_id = str(order_number)
        order_number += 1
        job_id = launch(services, order_id)
        process = runner_process(job_id)
        if boundary == "planned":
            wait_for(lambda: repo.get_job(services.store, job_id).owner is not None, 20,
                     "the runner to take the job")
        else:
            wait_for(lambda: repo.get_job(services.store, job_id).state == boundary
                     or process.poll() is not None, 30, f"state {boundary}")
        kill(process)
        assert len(vms_of(engine_sim, order_id)) <= 1
        cases.append((f"at boundary {boundary}", order_id, job_id))

    for label, method, path, nth in MID_CALLS:
        order_id = str(order_number)
        order_number += 1
        job_id = launch(services, order_id)
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
