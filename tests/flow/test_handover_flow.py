"""Handover to WHMCS through the runner, and faults at ip_wait and handover.

A WHMCS order is synced from the WHMCS simulator into the store, provisioned on the engine
simulator by the real runner (real SDK, real WHMCS client over HTTP), and handed over:
UpdateClientProduct with the IP, username and password, then AcceptOrder once. A WHMCS
fault at handover fails only the handover; `retry` finishes it without provisioning again
and without accepting twice. An engine fault while waiting for the IP is retried, or fails
ip_wait with the engine's reason, and `retry` finishes.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest

from console.flow.runner import Runner
from console.secrets import admin_password_secret
from console.store import audit
from console.store import jobs as repo
from console.store.orders import get_order
from tests.plugins.flow import BILLING_TIMEOUT, FAST, synced_order
from tests.plugins.flow import launch_synced as launch
from tests.plugins.flow import marked_vms as vms_of


def creates(engine_sim):
    return [c for c in engine_sim.calls if c[0] == "POST" and c[1] == "/vms"]


def test_a_whmcs_order_is_provisioned_and_handed_over_once(billing_services, engine_sim, whmcs_sim):
    whmcs_order, row = synced_order(billing_services, whmcs_sim, "shop.example.net")
    runner = Runner(billing_services, timing=FAST)
    job = launch(billing_services, runner, row)
    done = runner.run(job.id)
    assert done.state == "done", (done.failed_step, done.error_message)

    password = billing_services.secrets.get(admin_password_secret(row.id))
    updates = whmcs_sim.calls_for("UpdateClientProduct")
    assert len(updates) == 1 and updates[0].result == "success"
    sent = updates[0].params
    assert sent["serviceid"] == row.service_id
    assert sent["dedicatedip"] == done.ips[0]
    assert sent["dedicatedip"] in engine_sim.vm(done.vm_name)["ips"]
    assert sent["serviceusername"] == done.plan["admin_user"]
    assert sent["servicepassword"] == password and len(password) >= 12
    accepts = whmcs_sim.calls_for("AcceptOrder")
    assert len(accepts) == 1 and accepts[0].result == "success"
    # The update came before the accept: the customer is never Active without credentials.
    assert whmcs_sim.calls.index(updates[0]) < whmcs_sim.calls.index(accepts[0])
    assert whmcs_sim.order_status(whmcs_order.id) == "Active"
    assert whmcs_sim.service(whmcs_order.service_ids[0]).status == "Active"
    stored = get_order(billing_services.store, row.id)
    assert stored.status == "done" and stored.handed_over_at is not None
    assert stored.billing_status == "Active"
    with billing_services.store.session() as session:
        (line,) = [e for e in audit.entries(session, order_id=row.id) if e.step == "handover"]
    assert line.data["accepted_now"] is True and "accepted" in line.message
    assert done.data["handover"]["accepted_now"] is True
    assert password not in str(done.data) and all(
        password not in e.message for e in repo.job_events(billing_services.store, job.id)
    )


@pytest.mark.parametrize("action", ["AcceptOrder", "UpdateClientProduct", "GetOrders"])
def test_a_whmcs_fault_at_handover_fails_handover_and_retry_does_not_provision_again(
    action, billing_services, engine_sim, whmcs_sim
):
    whmcs_order, row = synced_order(billing_services, whmcs_sim, f"{action.lower()}.example.net")
    runner = Runner(billing_services, timing=FAST)
    job = launch(billing_services, runner, row)
    # The sync already read GetOrders: count from the handover on.
    whmcs_sim.faults.inject("http503", action=action, count=1)
    failed = runner.run(job.id)
    assert (failed.state, failed.failed_step) == ("failed", "handover"), failed.error_message
    assert "WHMCS" in failed.error_message and "503" in failed.error_message, failed.error_message
    assert failed.error_hint and "retry" in failed.error_hint
    assert failed.ips and failed.vm_id  # the VM is there and kept
    assert engine_sim.vm(failed.vm_name)["status"] == "up"
    assert whmcs_sim.order_status(whmcs_order.id) == "Pending"
    assert get_order(billing_services.store, row.id).status == "failed"
    assert len(creates(engine_sim)) == 1
    engine_calls_before = len(engine_sim.calls)

    done = runner.retry(job.id)
    assert done.state == "done", (done.failed_step, done.error_message)
    assert len(creates(engine_sim)) == 1 and len(vms_of(engine_sim, row.id)) == 1
    new_calls = engine_sim.calls[engine_calls_before:]
    assert not any(m in ("POST", "PUT", "DELETE") for m, _, _ in new_calls), new_calls
    accepted = [c for c in whmcs_sim.calls_for("AcceptOrder") if c.result == "success"]
    assert len(accepted) == 1
    assert whmcs_sim.order_status(whmcs_order.id) == "Active"
    last_update = whmcs_sim.calls_for("UpdateClientProduct")[-1].params
    assert last_update["dedicatedip"] == done.ips[0]
    assert get_order(billing_services.store, row.id).status == "done"


def test_an_accept_that_went_through_but_whose_answer_was_lost_is_not_sent_twice(
    billing_services, engine_sim, whmcs_sim
):
    """WHMCS accepts the order but answers after our client gave up: the handover fails
    saying it may have been applied; retry reads the order, sees it Active, and does not
    accept again."""
    whmcs_order, row = synced_order(billing_services, whmcs_sim, "lost.example.net")
    runner = Runner(billing_services, timing=FAST)
    job = launch(billing_services, runner, row)
    whmcs_sim.faults.inject("delay", action="AcceptOrder", seconds=BILLING_TIMEOUT + 1.0, count=1)
    failed = runner.run(job.id)
    assert (failed.state, failed.failed_step) == ("failed", "handover"), failed.error_message
    assert "AcceptOrder" in failed.error_message, failed.error_message
    assert "may or may not" in failed.error_message and failed.error_hint

    def accepted():
        return [c for c in whmcs_sim.calls_for("AcceptOrder") if c.result == "success"]

    deadline = time.monotonic() + 10
    while not accepted() and time.monotonic() < deadline:  # the slow answer lands
        time.sleep(0.05)
    assert whmcs_sim.order_status(whmcs_order.id) == "Active"
    done = runner.retry(job.id)
    assert done.state == "done", (done.failed_step, done.error_message)
    assert len(whmcs_sim.calls_for("AcceptOrder")) == 1 and len(accepted()) == 1
    assert done.data["handover"]["already_accepted"] is True
    assert done.data["handover"]["accepted_now"] is False
    assert len(creates(engine_sim)) == 1


@pytest.mark.parametrize("persistent", [False, True])
def test_an_engine_fault_while_waiting_for_the_ip_is_retried_or_fails_ip_wait(
    persistent, billing_services, engine_sim, whmcs_sim
):
    whmcs_order, row = synced_order(billing_services, whmcs_sim, f"ip{int(persistent)}.example.net")
    # Looks at the boot from the start on: the VM is seen up before its guest reports the
    # address (40 ms later here), so the IP wait has to read the VM again.
    timing = replace(FAST, retry_budget_seconds=0.5, boot_expect_seconds=0.001)
    runner = Runner(billing_services, timing=timing)
    job = launch(billing_services, runner, row)
    rules = []

    def fault_at_ip_wait(event):
        if event.step == "ip_wait" and event.kind == "started" and not rules:
            rules.append(
                engine_sim.faults.add(
                    "GET",
                    r"^/vms/[^/]+$",
                    count=None if persistent else 2,
                    status=503,
                    reason="Service Unavailable",
                )
            )

    runner.on_event = fault_at_ip_wait
    result = runner.run(job.id)
    assert rules and rules[0].fired >= 1
    if not persistent:
        assert result.state == "done", (result.failed_step, result.error_message)
        retries = [
            e.message
            for e in repo.job_events(billing_services.store, job.id)
            if e.step == "ip_wait" and "retrying" in e.message
        ]
        assert len(retries) == 2, retries
    else:
        assert (result.state, result.failed_step) == ("failed", "ip_wait"), result.error_message
        assert re.search(r"503|unavailable", result.error_message, re.I), result.error_message
        assert result.error_hint
        assert whmcs_sim.calls_for("AcceptOrder") == []  # no handover without a checked IP
        engine_sim.faults.clear()
        runner.on_event = None
        result = runner.retry(job.id)
        assert result.state == "done", (result.failed_step, result.error_message)
    assert len(creates(engine_sim)) == 1 and len(vms_of(engine_sim, row.id)) == 1
    assert len([c for c in whmcs_sim.calls_for("AcceptOrder") if c.result == "success"]) == 1
    assert whmcs_sim.order_status(whmcs_order.id) == "Active"
