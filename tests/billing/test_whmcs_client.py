"""The WHMCS client against the simulator over HTTP: answers, errors, retries, secrets."""

from __future__ import annotations

import logging

import pytest

from console.billing.errors import (
    BillingAccessDenied,
    BillingApiError,
    BillingAuthError,
    BillingBadResponse,
    BillingUnreachable,
    OrderNotPending,
)
from console.billing.phpserialize import dumps
from console.billing.whmcs import WhmcsClient, as_list
from tests.plugins.whmcs import client_for


def test_pagination_reads_every_pending_order(whmcs_sim):
    with client_for(whmcs_sim) as client:
        orders = client.get_orders("Pending", page_size=7)
    expected = {o.id for o in whmcs_sim.world.orders.values() if o.status == "Pending"}
    assert {o.id for o in orders} == expected and len(orders) == len(expected)
    assert len(whmcs_sim.calls_for("GetOrders")) == -(-len(expected) // 7)


def test_service_is_normalised(whmcs_client, whmcs_sim):
    order = whmcs_sim.add_order(
        pid=1, hostname="n1.example.net", configoptions={"ram|RAM": "8192|8 GB"}, rootpw="root-pw-1"
    )
    service = whmcs_client.get_service(order.service_ids[0])
    assert service.order_id == order.id and service.pid == 1 and service.domain == "n1.example.net"
    assert ("ram|RAM", "8192|8 GB") in [(o.name, o.value) for o in service.configoptions]
    assert service.raw["password"] == "***"  # the customer's root password never reaches storage
    assert whmcs_client.get_service(999999) is None


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        ("auth", BillingAuthError, "API identifier"),
        ("ip", BillingAccessDenied, "API IP Access Restriction"),
        ("permission", BillingAccessDenied, "API Roles"),
        ("maintenance", BillingBadResponse, "maintenance"),
        ("http500", BillingBadResponse, "error log"),
        ("error", BillingApiError, "message from WHMCS"),
    ],
)
def test_failures_become_our_errors_with_hints(whmcs_client, whmcs_sim, kind, error, words):
    whmcs_sim.faults.inject(kind, count=1)
    with pytest.raises(error) as caught:
        whmcs_client.get_orders("Pending")
    assert words in caught.value.hint or words in caught.value.message
    assert whmcs_client.get_orders("Pending"), "the next call works again"


def test_ip_refusal_names_the_ip(whmcs_client, whmcs_sim):
    whmcs_sim.faults.inject("ip", count=1, ip="1.2.3.4")
    with pytest.raises(BillingAccessDenied, match="refused our IP 1.2.3.4"):
        whmcs_client.get_orders()


def test_dropped_connection_retries_reads_but_never_an_accept(whmcs_client, whmcs_sim):
    whmcs_sim.faults.inject("drop", action="GetOrders", count=1)
    assert whmcs_client.get_orders("Pending")
    order = whmcs_sim.add_order(pid=1)
    whmcs_sim.faults.inject("drop", action="AcceptOrder", count=1)
    with pytest.raises(BillingUnreachable, match="may or may not"):
        whmcs_client.accept_order(order.id)
    assert len(whmcs_sim.calls_for("AcceptOrder")) == 1


def test_timeout_is_a_clear_unreachable_error(whmcs_sim):
    whmcs_sim.faults.inject("delay", seconds=1.0)
    with client_for(whmcs_sim, timeout=0.2, retries=1) as client:
        with pytest.raises(BillingUnreachable, match="2 attempts"):
            client.get_orders()


def test_nobody_listening_is_unreachable():
    with WhmcsClient("http://127.0.0.1:9", "id", "s", retries=1, backoff=0.01) as client:
        with pytest.raises(BillingUnreachable) as caught:
            client.get_orders()
    assert "queue keeps working" in caught.value.hint


def test_accepting_twice_is_order_not_pending(whmcs_client, whmcs_sim):
    order = whmcs_sim.add_order(pid=2)
    whmcs_client.accept_order(order.id)
    with pytest.raises(OrderNotPending):
        whmcs_client.accept_order(order.id)


def test_secrets_never_logged(whmcs_sim, caplog):
    caplog.set_level(logging.DEBUG)
    order = whmcs_sim.add_order(pid=1)
    with client_for(whmcs_sim) as client:
        client.update_client_product(
            order.service_ids[0], dedicated_ip="192.0.2.5", password="Pw-UNIQUE-4711"
        )
        assert "Pw-UNIQUE-4711" not in repr(client)
    assert (
        whmcs_sim.calls_for("UpdateClientProduct")[0].params["servicepassword"] == "Pw-UNIQUE-4711"
    )
    assert "Pw-UNIQUE-4711" not in caplog.text and whmcs_sim.secret not in caplog.text
    assert "192.0.2.5" in caplog.text  # logging works; only secrets are masked


def test_php_serializer_counts_utf8_bytes_and_int_keys():
    assert dumps({"7": "ü", 8: 1}) == b'a:2:{i:7;s:2:"\xc3\xbc";i:8;i:1;}'


def test_loose_list_shapes():
    assert as_list({"order": []}, "order") == []
    assert as_list("", "order") == [] and as_list([], "order") == []
    assert as_list({"order": {"id": 1}}, "order") == [{"id": 1}]


def test_invoice_payment_time_and_an_unknown_invoice(whmcs_client, whmcs_sim):
    order = whmcs_sim.add_order(pid=1, paymentstatus="Unpaid")
    assert whmcs_client.get_invoice_paid_at(order.invoiceid) is None
    whmcs_sim.world.pay_order(order.id)
    assert (
        whmcs_client.get_invoice_paid_at(order.invoiceid)
        == whmcs_sim.world.orders[order.id].datepaid
    )
    with pytest.raises(BillingApiError) as caught:
        whmcs_client.get_invoice_paid_at(999999)
    assert "Invoice ID Not Found" in caught.value.message
