"""The WHMCS simulator speaks the API like WHMCS: shapes, loose types, auth, faults."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from console.sim.whmcs import WhmcsSimulator


def post(sim, **params):
    data = {"identifier": sim.identifier, "secret": sim.secret, "responsetype": "json", **params}
    return httpx.post(sim.api_url, data=data, timeout=5)


def test_pending_orders_have_whmcs_shape_and_loose_types(whmcs_sim):
    body = post(whmcs_sim, action="GetOrders", status="Pending", limitnum=5).json()
    assert body["result"] == "success"
    assert isinstance(body["totalresults"], int) and body["numreturned"] == 5
    order = body["orders"]["order"][0]
    assert isinstance(order["id"], int) and order["id"] >= 2001
    time.strptime(order["date"], "%Y-%m-%d %H:%M:%S")
    line = order["lineitems"]["lineitem"][0]
    service = post(whmcs_sim, action="GetClientsProducts", serviceid=line["relid"]).json()
    assert service["totalresults"] == "1"  # a string here, an int in GetOrders: as in WHMCS
    product = service["products"]["product"][0]
    assert isinstance(product["id"], str) and product["orderid"] == str(order["id"])
    assert product["configoptions"]["configoption"], "VPS products carry configurable options"


def test_wrong_secret_is_refused_and_recorded_without_credentials(whmcs_sim):
    reply = httpx.post(
        whmcs_sim.api_url,
        data={
            "action": "GetOrders",
            "identifier": whmcs_sim.identifier,
            "secret": "wrong",
            "responsetype": "json",
        },
    )
    assert reply.json() == {"result": "error", "message": "Authentication Failed"}
    call = whmcs_sim.calls[-1]
    assert call.action == "GetOrders" and call.result == "error"
    assert "secret" not in call.params and "identifier" not in call.params


def test_accept_order_twice_fails_like_whmcs(whmcs_sim):
    order = whmcs_sim.add_order(pid=1, hostname="a.example.net")
    assert post(whmcs_sim, action="AcceptOrder", orderid=order.id).json()["result"] == "success"
    second = post(whmcs_sim, action="AcceptOrder", orderid=order.id).json()
    assert second == {"result": "error", "message": "Order ID not found or Status not Pending"}
    assert whmcs_sim.order_status(order.id) == "Active"


def test_update_client_product_decodes_php_serialized_custom_fields(whmcs_sim):
    order = whmcs_sim.add_order(pid=5, customfields={"Operating System": "AlmaLinux 9"})
    sid = order.service_ids[0]
    value = "Übuntu 22.04"  # multi-byte: the length must count UTF-8 bytes
    raw = f'a:1:{{i:501;s:{len(value.encode())}:"{value}";}}'
    reply = post(
        whmcs_sim,
        action="UpdateClientProduct",
        serviceid=sid,
        customfields=base64.b64encode(raw.encode()).decode(),
    ).json()
    assert reply == {"result": "success", "serviceid": sid}
    assert whmcs_sim.service(sid).customfields[0][2] == value
    bad = post(
        whmcs_sim, action="UpdateClientProduct", serviceid=sid, customfields="bm90IHBocA=="
    ).json()
    assert bad["result"] == "error" and "customfields" in bad["message"]


def test_fault_fires_on_nth_call_only(whmcs_sim):
    whmcs_sim.faults.inject("http500", action="GetOrders", nth=2)
    codes = [post(whmcs_sim, action="GetOrders").status_code for _ in range(3)]
    assert codes == [200, 500, 200]


def test_fault_kinds_answer_as_a_broken_whmcs_would(whmcs_sim):
    whmcs_sim.faults.inject("maintenance", count=1)
    page = post(whmcs_sim, action="GetOrders")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    whmcs_sim.faults.inject("ip", count=1, ip="198.51.100.9")
    denied = post(whmcs_sim, action="GetOrders")
    assert denied.status_code == 403 and denied.json()["message"] == "Invalid IP 198.51.100.9"
    whmcs_sim.faults.inject("drop", count=1)
    with pytest.raises(httpx.HTTPError):
        post(whmcs_sim, action="GetOrders")
    assert post(whmcs_sim, action="GetOrders").status_code == 200  # faults retire after count


def test_orders_keep_arriving_at_the_configured_rate():
    # 600 orders per simulated minute at 0.01 time scale: ~1 per real millisecond
    with WhmcsSimulator(orders=0, arrival_per_minute=600, time_scale=0.01) as sim:
        first = post(sim, action="GetOrders", status="Pending").json()["totalresults"]
        time.sleep(0.05)
        later = post(sim, action="GetOrders", status="Pending").json()["totalresults"]
        assert later > first


def test_same_seed_same_world():
    a, b = WhmcsSimulator(seed=7, orders=30), WhmcsSimulator(seed=7, orders=30)

    def pick(sim):
        return [
            (o.id, sim.world.services[o.service_ids[0]].pid, o.status)
            for o in sim.world.orders.values()
        ]

    assert pick(a) == pick(b)
    products = {sim_pid for _, sim_pid, _ in pick(WhmcsSimulator(seed=1, orders=300))}
    assert products == {1, 2, 3, 4, 5, 6, 7}


def test_get_invoice_tells_when_an_order_was_paid_and_refuses_an_unknown_one(whmcs_sim):
    order = whmcs_sim.add_order(pid=1, paymentstatus="Unpaid")
    invoice = post(whmcs_sim, action="GetInvoice", invoiceid=order.invoiceid).json()
    assert invoice["result"] == "success" and invoice["status"] == "Unpaid"
    assert invoice["datepaid"] == "0000-00-00 00:00:00" and invoice["balance"] == order.amount
    whmcs_sim.world.pay_order(order.id)
    paid = post(whmcs_sim, action="GetInvoice", invoiceid=order.invoiceid).json()
    assert paid["status"] == "Paid" and paid["balance"] == "0.00"
    time.strptime(paid["datepaid"], "%Y-%m-%d %H:%M:%S")
    assert paid["items"]["item"][0]["relid"] == order.service_ids[0]
    # getinvoice.php answers this one error with "status" where others say "result"
    missing = post(whmcs_sim, action="GetInvoice", invoiceid=999999).json()
    assert missing == {"status": "error", "message": "Invoice ID Not Found"}


# ------------------------------------------------ AddClient and AddOrder (a shop front)
def test_a_shop_front_adds_a_client_and_an_order_as_whmcs_takes_them(whmcs_sim):
    from console.billing.phpserialize import dumps_base64

    client = post(
        whmcs_sim,
        action="AddClient",
        firstname="Zoë",
        lastname="Ørsted",
        companyname="Fjord AS",
        email="zoe@example.net",
        address1="1 Main St",
        city="Oslo",
        state="Oslo",
        postcode="0150",
        country="NO",
        phonenumber="+47.22000000",
        password2="x",
    ).json()
    assert client["result"] == "success"
    # PHP arrays as http_build_query sends them; custom fields and options keyed by id
    order = post(
        whmcs_sim,
        action="AddOrder",
        clientid=client["clientid"],
        paymentmethod="stripe",
        **{
            "pid[0]": "2",
            "hostname[0]": "srv.fjord.example",
            "rootpw[0]": "Init-1234",
            "customfields[0]": dumps_base64({201: "6 cores pls"}),
            "configoptions[0]": dumps_base64({22: 2202}),
        },
    ).json()
    assert order["result"] == "success" and order["serviceids"] and order["invoiceid"]
    listed = post(whmcs_sim, action="GetOrders", id=order["orderid"]).json()["orders"]["order"][0]
    assert (listed["status"], listed["paymentstatus"], listed["name"]) == (
        "Pending",
        "Unpaid",
        "Zoë Ørsted",
    )
    service = post(whmcs_sim, action="GetClientsProducts", serviceid=order["serviceids"]).json()[
        "products"
    ]["product"][0]
    assert service["domain"] == "srv.fjord.example" and service["password"] == "Init-1234"
    fields = {f["name"]: f["value"] for f in service["customfields"]["customfield"]}
    options = {o["option"]: o["value"] for o in service["configoptions"]["configoption"]}
    assert fields["Anything else? (cores, RAM, storage wishes)"] == "6 cores pls"
    assert options["Memory"] == "8 GB" and options["vCPU"] == "2"  # chosen; default
    paid = post(
        whmcs_sim,
        action="AddInvoicePayment",
        invoiceid=order["invoiceid"],
        transid="tx-9",
        gateway="stripe",
    ).json()
    assert paid["result"] == "success"
    listed = post(whmcs_sim, action="GetOrders", id=order["orderid"]).json()["orders"]["order"][0]
    assert listed["paymentstatus"] == "Paid"


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"action": "AddClient", "lastname": "x", "email": "a@b.c"},
            "You did not enter your first name",
        ),
        (
            {
                "action": "AddClient",
                "firstname": "a",
                "lastname": "b",
                "email": "nope",
                "skipvalidation": "true",
            },
            "The email address you entered was not valid",
        ),
        (
            {"action": "AddOrder", "clientid": "999", "paymentmethod": "stripe", "pid[0]": "1"},
            "Client ID Not Found",
        ),
        (
            {"action": "AddOrder", "clientid": "1", "paymentmethod": "cash", "pid[0]": "1"},
            "Invalid Payment Method. Valid options include",
        ),
        (
            {"action": "AddOrder", "clientid": "1", "paymentmethod": "stripe"},
            "No items added to cart so order cannot proceed",
        ),
        (
            {
                "action": "AddOrder",
                "clientid": "1",
                "paymentmethod": "stripe",
                "pid[0]": "1",
                "customfields[0]": "not base64!",
            },
            "Invalid customfields",
        ),
    ],
)
def test_add_client_and_add_order_refuse_what_whmcs_refuses(whmcs_sim, params, message):
    body = post(whmcs_sim, **params).json()
    assert body["result"] == "error" and body["message"].startswith(message), body
