"""SIGKILL a real `vps-console templates refresh --resume` at every step of a refresh and in
the middle of each engine call that changes something; a second `--resume` then finishes it:
exactly one new version, sealed and ok, and no build VM left behind.

One case per test, so xdist spreads them. Every engine call is slowed a little so that each
state lasts long enough to be seen: a case whose runner had already gone past its step fails
instead of passing untested.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from console.config import load_config
from console.flow.services import Services
from console.flow.upkeep.machine import STEPS
from console.flow.upkeep.refresh import RefreshRunner
from console.secrets import open_secret_store
from console.store import refresh_jobs
from tests.plugins.cli import CLI, cli_setup
from tests.plugins.flow import FAST
from tests.plugins.upkeep import build_vms

pytestmark = pytest.mark.slow

TEMPLATE = "alma9-cpanel"
SLOW_CALL_SECONDS = 0.03
HOLD_SECONDS = 1.5
# (label, method, path regex): the engine calls of a refresh that change something.
MID_CALLS = (
    ("clone build VM", "POST", r"^/vms$"),
    ("start build VM", "POST", r"^/vms/[^/]+/start$"),
    ("create version", "POST", r"^/templates$"),
    ("remove build VM", "DELETE", r"^/vms/[^/]+$"),
)


@pytest.fixture
def crash_env(engine_sim, tmp_path, keyring_passphrase, monkeypatch):
    config, store = cli_setup(tmp_path, engine_sim, monkeypatch)
    services = Services(load_config(config), store, open_secret_store())
    yield services
    services.close()
    store.close()


def _resume() -> subprocess.Popen:
    return subprocess.Popen(
        [CLI, "templates", "refresh", "--resume"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
    )


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.003)


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def _finish_and_check(services, engine_sim, refresh_id: str, versions_before: int) -> None:
    finisher = _resume()
    out, _ = finisher.communicate(timeout=120)
    row = refresh_jobs.get(services.store, refresh_id)
    assert row.state == "done", (row.state, row.failed_step, row.error_message, out.decode())
    assert finisher.returncode == 0, out.decode()
    versions = engine_sim.template_versions(TEMPLATE)
    assert len(versions) == versions_before + 1, versions
    new = versions[-1]
    assert (new["id"], new["status"], new["sealed"]) == (row.new_template_id, "ok", True)
    _wait(lambda: build_vms(engine_sim) == [], 10, "the build VM to be gone")


def _kill_at(services, engine_sim, step: str):
    """A refresh planned, a real runner started on it and SIGKILLed in `step`: the row."""
    row = RefreshRunner(services, timing=FAST).plan(TEMPLATE)
    engine_sim.faults.add(delay=SLOW_CALL_SECONDS)
    victim = _resume()
    try:
        _wait(
            lambda: (
                (r := refresh_jobs.get(services.store, row.id)).state == step
                and r.owner is not None
            ),
            60,
            f"the runner to reach {step}",
        )
    finally:
        _kill(victim)
    assert refresh_jobs.get(services.store, row.id).state == step  # killed in that step
    engine_sim.faults.clear()
    return row


@pytest.mark.parametrize("step", [s.value for s in STEPS])
def test_sigkill_at_a_step_then_resume_makes_exactly_one_version(step, crash_env, engine_sim):
    services = crash_env
    before = len(engine_sim.template_versions(TEMPLATE))
    row = _kill_at(services, engine_sim, step)
    _finish_and_check(services, engine_sim, row.id, before)


@pytest.mark.parametrize(("label", "method", "path"), MID_CALLS, ids=[c[0] for c in MID_CALLS])
def test_sigkill_in_the_middle_of_an_engine_call_then_resume(
    label, method, path, crash_env, engine_sim
):
    services = crash_env
    before = len(engine_sim.template_versions(TEMPLATE))
    row = RefreshRunner(services, timing=FAST).plan(TEMPLATE)
    held = engine_sim.faults.add(method, path, nth=1, delay=HOLD_SECONDS)
    victim = _resume()
    try:
        _wait(lambda: held.fired >= 1, 60, f"the runner to call: {label}")
        time.sleep(0.1)
    finally:
        _kill(victim)
    time.sleep(HOLD_SECONDS)  # the held request lands after its client died
    _finish_and_check(services, engine_sim, row.id, before)


def test_a_refresh_killed_half_way_is_finished_by_the_next_worker(crash_env, engine_sim):
    """Unattended: nobody runs `templates refresh --resume`; `vps-console worker` does."""
    from tests.commands.test_worker_cli import worker_once

    services = crash_env
    before = len(engine_sim.template_versions(TEMPLATE))
    row = _kill_at(services, engine_sim, "clone_wait")
    output = worker_once()
    assert f"template refresh {row.id}: done" in output, output
    assert refresh_jobs.get(services.store, row.id).state == "done"
    assert len(engine_sim.template_versions(TEMPLATE)) == before + 1
    assert build_vms(engine_sim) == []
