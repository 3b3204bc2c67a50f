"""A guest reporting another hostname: the job says so at once (data and log), and an
engineer's accept or fail, stored on the job from any console or the CLI, ends the wait at
the runner's next poll. Through the real SDK against the engine simulator."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from console.errors import BadInput
from console.flow.hostname_wait import (
    ACCEPTED,
    MISMATCH,
    HostnameDecision,
    mismatch_of,
    request_decision,
)
from console.flow.plan import Overrides
from console.flow.runner import Runner
from console.store import audit
from console.store import jobs as repo
from tests.flow.test_stuck_and_silent import launch
from tests.plugins.flow import FAST

# Cloud-init's grace is far longer than any test: only a decision can end the wait.
PATIENT = replace(FAST, hostname_grace_seconds=3600.0, ip_seconds=3600.0)


def run_in_background(runner, job_id):
    outcome: dict = {}
    thread = threading.Thread(
        target=lambda: outcome.setdefault("job", runner.run(job_id)), daemon=True
    )
    thread.start()
    return thread, outcome


def wait_until_seen(store, job_id, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = repo.find_job(store, job_id)
        if mismatch_of(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"no hostname mismatch recorded: {job.state} {job.data}")


@pytest.mark.parametrize("decision", [HostnameDecision.ACCEPT, HostnameDecision.FAIL])
def test_a_mismatch_is_recorded_at_once_and_decided_by_an_engineer(
    flow_services, engine_sim, decision
):
    order_id = "3201" if decision == HostnameDecision.ACCEPT else "3202"
    engine_sim.set_guest_behaviour(f"vps-{order_id}", hostname="localhost.localdomain")
    runner = Runner(flow_services, timing=PATIENT)
    job = launch(flow_services, runner, order_id, overrides=Overrides(hostname="shop.example.net"))
    thread, outcome = run_in_background(runner, job.id)
    seen = mismatch_of(wait_until_seen(flow_services.store, job.id))
    assert seen["reported"] == "localhost.localdomain" and seen["expected"] == "shop.example.net"
    said = [e.message for e in repo.job_events(flow_services.store, job.id) if e.kind == "info"]
    assert any(
        "guest reports 'localhost.localdomain', waiting up to 60 min for cloud-init to set "
        "'shop.example.net'" in message
        for message in said
    ), said

    request_decision(flow_services.store, job.id, decision, "ops@jump2")
    thread.join(30)
    assert not thread.is_alive()
    ended = outcome["job"]
    with flow_services.store.session() as session:
        trail = [e for e in audit.entries(session, order_id=order_id)]
    assert any(e.step == f"hostname_{decision}" and e.actor == "ops@jump2" for e in trail)
    assert MISMATCH not in ended.data
    if decision == HostnameDecision.ACCEPT:
        assert ended.state == "done", ended.error_message
        assert ended.ips and ended.data[ACCEPTED] == "localhost.localdomain"
    else:
        assert (ended.state, ended.failed_step, ended.error_code) == (
            "failed",
            "ip_wait",
            "hostname_mismatch",
        )
        assert "ops@jump2 failed the step" in ended.error_message
        assert not ended.ips  # an unverified guest's address is never handed over
        assert not any(e.step == "handover" for e in repo.job_events(flow_services.store, job.id))


def test_a_decision_is_refused_for_a_job_not_waiting_on_a_hostname(flow_services):
    runner = Runner(flow_services, timing=FAST)
    job = launch(flow_services, runner, "3203")
    with pytest.raises(BadInput, match="not waiting on a guest's hostname"):
        request_decision(flow_services.store, job.id, HostnameDecision.ACCEPT, "ops@jump2")
    with pytest.raises(BadInput, match="no job"):
        request_decision(flow_services.store, "nope", HostnameDecision.FAIL, "ops@jump2")
