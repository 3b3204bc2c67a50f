"""`vps-console jobs list|show|retry|cancel` as a real subprocess against the engine simulator.

Jobs are set up by the real runner in-process on the same store and the same encrypted
secret store the CLI opens (VPS_CONSOLE_KEYRING_PASSPHRASE), then looked after through the
CLI: JSON for scripts without any secret in it, retry of a job that failed at start,
cancel removing the VM, and a retry of a done job refused with the state and what to do.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from console.config import load_config
from console.flow.plan import draft_plan
from console.flow.runner import Runner
from console.flow.services import Services
from console.secrets import admin_password_secret, license_secret, open_secret_store
from console.store import jobs as repo
from console.store.models import Order
from tests.plugins.cli import CLI, cli_setup
from tests.plugins.flow import FAST, PLESK_CODE

START = r"^/vms/[^/]+/start$"
LOW_SPACE = "[Cannot run VM. Low disk space on Storage Domain data-ssd.]"
JOB_KEYS = {
    "id",
    "order_id",
    "engine",
    "state",
    "failed_step",
    "vm_id",
    "vm_name",
    "vm_created_by_job",
    "ips",
    "attempts",
    "owner",
    "owner_pid",
    "heartbeat_at",
    "error",
    "correlation_id",
    "created_by",
    "created_at",
    "finished_at",
    "plan",
}


@pytest.fixture
def env(engine_sim, tmp_path, keyring_passphrase, monkeypatch):
    """(store, in-process services) sharing the CLI's config, store and secret store."""
    config_file, store = cli_setup(
        tmp_path,
        engine_sim,
        monkeypatch,
        """
[[catalog.products]]
billing_product = "VPS Linux Plesk"
template = "ubuntu2204-plesk"
cpus = 2
memory = "2GiB"
disk = "30GiB"
license_kinds = ["plesk"]

[[catalog.products]]
billing_product = "VPS Linux"
template = "alma9"
cpus = 2
memory = "2GiB"
disk = "30GiB"
""",
    )
    services = Services(load_config(str(config_file)), store, open_secret_store())
    yield store, services
    services.close()
    store.close()


def provision(
    services, engine_sim, order_id, product="VPS Linux", licenses=None, *, fail_at_start=False
):
    with services.store.session() as session:
        session.add(
            Order(id=order_id, source="manual", product_name=product, client_name="Test Client")
        )
    with services.store.session() as session:
        order = session.get(Order, order_id)
    draft = draft_plan(
        order,
        services.config.catalog.product_for(product),
        services.engine().list_templates(),
        services.config,
    )
    assert draft.problems == [], draft.problems
    runner = Runner(services, timing=FAST)
    job = runner.launch(order_id, draft.plan, licenses or {}, confirm_warnings=True)
    if fail_at_start:
        engine_sim.faults.add("POST", START, status=409, detail=LOW_SPACE)
    try:
        result = runner.run(job.id)
    finally:
        engine_sim.faults.clear()
    expected = ("failed", "starting") if fail_at_start else ("done", None)
    assert (result.state, result.failed_step) == expected, result.error_message
    return result


def vps_console(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [CLI, *args], input="", capture_output=True, text=True, env=dict(os.environ), timeout=120
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def vms_named(engine_sim, name):
    with engine_sim.world.lock:
        return [vm for vm in engine_sim.world.vms.values() if vm.name == name]


def creates(engine_sim) -> int:
    return sum(1 for method, path, _ in engine_sim.calls if method == "POST" and path == "/vms")


def test_jobs_list_and_show_as_json_have_the_keys_and_no_secret(env, engine_sim):
    store, services = env
    done = provision(services, engine_sim, "5301")
    failed = provision(
        services, engine_sim, "5302", "VPS Linux Plesk", {"plesk": PLESK_CODE}, fail_at_start=True
    )
    password = services.secrets.get(admin_password_secret("5302"))
    assert password
    assert services.secrets.get(license_secret("5302", "plesk")) == PLESK_CODE
    secrets = (
        PLESK_CODE,
        PLESK_CODE.lower(),
        password,
        services.secrets.get(admin_password_secret("5301")),
    )

    listed = vps_console("jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    jobs = json.loads(listed.stdout)
    assert [j["id"] for j in jobs] == [failed.id]  # done jobs only with --all
    assert JOB_KEYS <= set(jobs[0]), set(jobs[0]) ^ JOB_KEYS
    assert (jobs[0]["state"], jobs[0]["failed_step"]) == ("failed", "starting")
    assert "Low disk space" in jobs[0]["error"]["message"] and jobs[0]["error"]["hint"]
    assert jobs[0]["vm_name"] == "vps-5302" and jobs[0]["vm_created_by_job"] is True

    everything = vps_console("jobs", "list", "--all", "--json")
    assert everything.returncode == 0, everything.stderr
    all_jobs = json.loads(everything.stdout)
    assert [j["id"] for j in all_jobs] == [failed.id, done.id]  # newest first
    finished = all_jobs[1]
    assert finished["state"] == "done" and finished["ips"] == done.ips
    assert finished["error"] is None and finished["finished_at"]

    shown = vps_console("jobs", "show", failed.id, "--json")
    assert shown.returncode == 0, shown.stderr
    job = json.loads(shown.stdout)
    assert JOB_KEYS | {"events"} <= set(job), set(job) ^ JOB_KEYS
    assert job["id"] == failed.id and job["order_id"] == "5302"
    assert job["plan"]["license_masks"] == {"plesk": "…-JKLMN0"}
    assert job["events"] and all(
        {"at", "kind", "step", "actor", "message"} <= set(e) for e in job["events"]
    )
    assert any(e["step"] == "starting" and e["kind"] == "step_failed" for e in job["events"])

    for output in (listed, everything, shown):
        for secret in secrets:
            assert secret not in output.stdout + output.stderr


def test_jobs_retry_finishes_a_job_that_failed_at_start_and_refuses_it_once_done(env, engine_sim):
    store, services = env
    failed = provision(services, engine_sim, "5303", fail_at_start=True)
    assert engine_sim.vm("vps-5303")["status"] == "down"

    retried = vps_console("jobs", "retry", failed.id)
    assert retried.returncode == 0, (retried.stdout, retried.stderr)
    assert f"job {failed.id}: done" in retried.stdout and "vps-5303" in retried.stdout
    job = repo.get_job(store, failed.id)
    assert job.state == "done" and job.ips and job.attempts == 2
    assert engine_sim.vm("vps-5303")["status"] == "up"
    assert creates(engine_sim) == 1 and len(vms_named(engine_sim, "vps-5303")) == 1
    with store.session() as session:
        assert session.get(Order, "5303").status == "done"

    # Once done, a retry is bad input: exit 2, the state named, a hint, nothing touched.
    before = len(engine_sim.calls)
    refused = vps_console("jobs", "retry", failed.id)
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert f"job {failed.id} is done" in refused.stderr, refused.stderr
    assert "only failed jobs can be retried" in refused.stderr
    assert "hint: nothing to retry: the VM is up and handed over" in refused.stderr
    assert repo.get_job(store, failed.id).state == "done"
    assert not any(m in ("POST", "PUT", "DELETE") for m, _, _ in engine_sim.calls[before:])


def test_jobs_cancel_removes_the_vm_the_job_created_and_requeues_the_order(env, engine_sim):
    store, services = env
    failed = provision(services, engine_sim, "5305", fail_at_start=True)
    assert len(vms_named(engine_sim, "vps-5305")) == 1

    cancelled = vps_console("jobs", "cancel", failed.id)
    assert cancelled.returncode == 0, (cancelled.stdout, cancelled.stderr)
    assert f"job {failed.id} cancelled" in cancelled.stdout
    assert "order 5305 is back in the queue" in cancelled.stdout
    assert vms_named(engine_sim, "vps-5305") == []
    assert any(m == "DELETE" and p == f"/vms/{failed.vm_id}" for m, p, _ in engine_sim.calls)
    assert repo.get_job(store, failed.id).state == "cancelled"
    with store.session() as session:
        order = session.get(Order, "5305")
        assert (order.status, order.claimed_by) == ("new", None)


def test_jobs_accept_hostname_ends_the_wait_of_a_job_run_elsewhere(env, engine_sim):
    from dataclasses import replace

    from console.flow.plan import Overrides
    from tests.flow.test_hostname_decision import run_in_background, wait_until_seen

    store, services = env
    with store.session() as session:
        session.add(Order(id="5306", source="manual", product_name="VPS Linux", client_name="C"))
    with store.session() as session:
        order = session.get(Order, "5306")
    plan = draft_plan(
        order,
        services.config.catalog.product_for("VPS Linux"),
        services.engine().list_templates(),
        services.config,
        Overrides(hostname="shop.example.net"),
    ).plan
    engine_sim.set_guest_behaviour("vps-5306", hostname="localhost.localdomain")
    runner = Runner(services, timing=replace(FAST, hostname_grace_seconds=120, ip_seconds=120))
    job = runner.launch("5306", plan, {}, confirm_warnings=True)
    thread, outcome = run_in_background(runner, job.id)
    wait_until_seen(store, job.id)

    accepted = vps_console("jobs", "accept-hostname", job.id)
    assert accepted.returncode == 0, (accepted.stdout, accepted.stderr)
    assert "accept asked" in accepted.stdout
    thread.join(30)
    assert outcome["job"].state == "done", outcome["job"].error_message
    refused = vps_console("jobs", "fail-hostname", job.id)
    assert refused.returncode != 0 and "not waiting on a guest's hostname" in refused.stderr
