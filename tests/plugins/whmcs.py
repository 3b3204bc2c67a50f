"""WHMCS fixtures: a simulator on a real socket, a client for it, the example catalog."""

from __future__ import annotations

import uuid

import httpx
import pytest

from console.billing.phpserialize import dumps_base64
from console.billing.whmcs import WhmcsClient
from console.config import CatalogConfig, ProductMapping
from console.sim.whmcs import WhmcsSimulator

# The example catalog: every seeded product mapped except 7 "Dedicated Game Server".
EXAMPLE_PRODUCTS = (
    ProductMapping(billing_product="1", template="alma9-cpanel", license_kinds=("cpanel",)),
    ProductMapping(
        billing_product="VPS Linux Plesk", template="ubuntu2204-plesk", license_kinds=("plesk",)
    ),
    ProductMapping(
        billing_product="VPS Windows Plesk",
        template="win2022-plesk",
        license_kinds=("windows", "plesk"),
        memory_mib=4096,
        disk_gib=100,
    ),
    ProductMapping(
        billing_product="4",
        template="win2022-mssql",
        license_kinds=("windows", "mssql"),
        max_memory_mib=32768,
    ),
    ProductMapping(billing_product="VPS Linux Bare / AlmaLinux 9", template="alma9"),
    ProductMapping(billing_product="VPS Linux Bare / Ubuntu 22.04", template="ubuntu2204"),
    ProductMapping(
        billing_product="VPS Legacy CentOS cPanel",
        template="centos7-cpanel",
        license_kinds=("cpanel",),
    ),
)


@pytest.fixture
def catalog() -> CatalogConfig:
    return CatalogConfig(products=EXAMPLE_PRODUCTS)


@pytest.fixture
def whmcs_sim():
    """A simulator with 40 seeded orders; tests needing more start their own."""
    with WhmcsSimulator(seed=1, orders=40) as sim:
        yield sim


def client_for(sim: WhmcsSimulator, **kwargs) -> WhmcsClient:
    kwargs.setdefault("timeout", 5.0)
    kwargs.setdefault("backoff", 0.01)
    return WhmcsClient(sim.url, sim.identifier, sim.secret, **kwargs)


@pytest.fixture
def whmcs_client(whmcs_sim):
    with client_for(whmcs_sim) as client:
        yield client


# ------------------------------------------------------------- a shop front
HOSTILE = {
    # what a customer can type into any field of a checkout form
    "csi": "\x1b[2J\x1b[31;1mCSI-HOSTILE",
    "osc52": "\x1b]52;c;SE9TVElMRQ==\x07",  # rewrites the engineer's clipboard
    "osc0": "\x1b]0;PWNED-TITLE\x07",  # retitles the window
    "dcs": "\x1bPq#HOSTILE-DCS\x1b\\",
    "c1": "\x9b31mC1-HOSTILE\x9d0;C1-TITLE\x9c",
    "bidi": "\u202eLIBOM\u202c\u2066ISOLATE\u2069",
    "markup_close": "[/]oops",
    "markup_style": "[bold red]MARKUP-HOSTILE[/bold red]",
}
# Byte strings that must never reach a terminal once the above went through the console.
FORBIDDEN_BYTES = (
    b"\x1b]52;c;SE9TVElMRQ",
    b"\x1b]0;PWNED",
    b"\x1bPq#HOSTILE",
    b"\x1b[31;1mCSI-HOSTILE",
    "\x9b".encode(),
    "\x9d".encode(),
    "\u202e".encode(),
    "\u2066".encode(),
)


def hostile_text(label: str) -> str:
    """One string carrying every class of sequence, tagged so a test can find it."""
    return label + "".join(HOSTILE.values())


def shop_call(sim, action: str, **params) -> dict:
    """One API call as a shop front's PHP would send it (http_build_query form)."""
    form = {
        "action": action,
        "identifier": sim.identifier,
        "secret": sim.secret,
        "responsetype": "json",
        **{k: str(v) for k, v in params.items()},
    }
    body = httpx.post(sim.api_url, data=form, timeout=10).json()
    assert body.get("result") == "success", body
    return body


def shop_order(
    sim,
    *,
    firstname="Anna",
    lastname="Novak",
    companyname="",
    pid=1,
    hostname="srv.example.net",
    customfields=None,
    configoptions=None,
    pay=True,
    email=None,
) -> int:
    """A customer signs up and orders at the shop front (AddClient, AddOrder), and pays
    (AddInvoicePayment, the gateway's callback). Custom fields and configurable options
    go as WHMCS takes them: base64(serialize(array)) keyed by field / option id."""
    client = shop_call(
        sim,
        "AddClient",
        firstname=firstname,
        lastname=lastname,
        companyname=companyname,
        email=email or f"c{uuid.uuid4().hex[:10]}@example.net",
        address1="1 Main St",
        city="Oslo",
        state="Oslo",
        postcode="0150",
        country="NO",
        phonenumber="+47.22000000",
        password2="x-Init-12345",
    )
    params = {
        "clientid": client["clientid"],
        "paymentmethod": "stripe",
        "pid[0]": pid,
        "hostname[0]": hostname,
        "billingcycle[0]": "monthly",
    }
    if customfields:
        params["customfields[0]"] = dumps_base64(customfields)
    if configoptions:
        params["configoptions[0]"] = dumps_base64(configoptions)
    order = shop_call(sim, "AddOrder", **params)
    if pay:
        shop_call(
            sim, "AddInvoicePayment", invoiceid=order["invoiceid"], transid="tx-1", gateway="stripe"
        )
    return int(order["orderid"])
