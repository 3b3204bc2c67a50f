"""Handover against the simulator: what WHMCS receives, once, and where the password is not."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from console.billing.errors import BillingApiError
from console.billing.handover import HandoverRefused, handover, record_handover
from console.billing.sync import sync_orders
from console.store import audit
from console.store.orders import get_order
from tests.plugins.whmcs import client_for

PASSWORD = "Hand-0ver-Pw-93517"


@pytest.fixture
def synced(store, catalog, whmcs_sim):
    order = whmcs_sim.add_order(pid=1, hostname="h1.example.net")
    client = client_for(whmcs_sim)
    sync_orders(store, client, catalog)
    yield client, get_order(store, str(order.id)), order
    client.close()


def db_bytes(store) -> bytes:
    path = Path(store.engine.url.database)
    data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert b"h1.example.net" in data  # the scan does see the stored orders
    return data


def test_handover_is_recorded_by_billing_and_the_password_stays_out_of_logs_and_db(
    store, whmcs_sim, synced, caplog
):
    caplog.set_level(logging.DEBUG)
    client, row, order = synced
    result = handover(client, row, ["192.0.2.10", "192.0.2.11"], "root", PASSWORD)
    record_handover(store, result)
    assert result.accepted_now and not result.already_accepted
    update = whmcs_sim.calls_for("UpdateClientProduct")[-1].params
    assert update["serviceid"] == row.service_id and update["dedicatedip"] == "192.0.2.10"
    assert update["assignedips"] == "192.0.2.11"
    assert (update["serviceusername"], update["servicepassword"]) == ("root", PASSWORD)
    assert whmcs_sim.order_status(order.id) == "Active"
    assert whmcs_sim.service(order.service_ids[0]).status == "Active"
    assert whmcs_sim.world.activity and PASSWORD not in whmcs_sim.world.activity[-1]["description"]
    assert PASSWORD not in caplog.text
    assert PASSWORD.encode() not in db_bytes(store)
    assert get_order(store, row.id).handed_over_at is not None
    with store.session() as session:
        (entry,) = [e for e in audit.entries(session, order_id=row.id) if e.step == "handover"]
    assert entry.data["accepted_now"] is True and entry.actor
    assert PASSWORD not in entry.message + str(entry.data)


def test_second_handover_accepts_nothing_twice(whmcs_sim, synced):
    client, row, _ = synced
    handover(client, row, ["192.0.2.10"], "root", PASSWORD)
    again = handover(client, row, ["192.0.2.10"], "root", PASSWORD)
    assert again.already_accepted and not again.accepted_now
    accepts = whmcs_sim.calls_for("AcceptOrder")
    assert len(accepts) == 1 and accepts[0].result == "success"


def test_failed_accept_is_retried_without_repeating_anything_else(whmcs_sim, synced):
    client, row, order = synced
    whmcs_sim.faults.inject("error", action="AcceptOrder", count=1, message="Module failure")
    with pytest.raises(BillingApiError, match="Module failure"):
        handover(client, row, ["192.0.2.10"], "root", PASSWORD)
    assert whmcs_sim.order_status(order.id) == "Pending"
    retried = handover(client, row, ["192.0.2.10"], "root", PASSWORD)
    assert retried.accepted_now and whmcs_sim.order_status(order.id) == "Active"
    assert [c.result for c in whmcs_sim.calls_for("AcceptOrder")] == ["error", "success"]


def test_accepted_by_staff_meanwhile_is_detected(whmcs_sim, synced):
    client, row, order = synced
    # staff accepts between our status check and our AcceptOrder: WHMCS says "not Pending"
    whmcs_sim.faults.inject(
        "error", action="AcceptOrder", count=1, message="Order ID not found or Status not Pending"
    )
    whmcs_sim.world.orders[order.id].status = "Active"
    result = handover(client, row, ["192.0.2.10"], "root", PASSWORD)
    assert result.already_accepted and not result.accepted_now


def test_cancelled_order_gets_no_credentials(whmcs_sim, synced):
    client, row, order = synced
    whmcs_sim.cancel_order(order.id)
    with pytest.raises(HandoverRefused, match="cancelled"):
        handover(client, row, ["192.0.2.10"], "root", PASSWORD)
    assert whmcs_sim.calls_for("UpdateClientProduct") == []


def test_file_orders_have_nothing_to_hand_over(store, catalog):
    from console.billing.fileintake import add_manual_order

    row = add_manual_order(store, catalog, product="1", client_name="Walk In")
    result = handover(None, row, ["192.0.2.1"], "root", PASSWORD)
    assert result.billing is False and not result.accepted_now
