"""WHMCS fixtures: a simulator on a real socket, a client for it, the example catalog."""

from __future__ import annotations

import pytest

from console.billing.whmcs import WhmcsClient
from console.config import CatalogConfig, ProductMapping
from console.sim.whmcs import WhmcsSimulator

# The example catalog: every seeded product mapped except 7 "Dedicated Game Server".
EXAMPLE_PRODUCTS = (
    ProductMapping(billing_product="1", template="alma9-cpanel", license_kinds=("cpanel",)),
    ProductMapping(billing_product="VPS Linux Plesk", template="ubuntu2204-plesk",
                   license_kinds=("plesk",)),
    ProductMapping(billing_product="VPS Windows Plesk", template="win2022-plesk",
                   license_kinds=("windows", "plesk"), memory_mib=4096, disk_gib=100),
    ProductMapping(billing_product="4", template="win2022-mssql",
                   license_kinds=("windows", "mssql"), max_memory_mib=32768),
    ProductMapping(billing_product="VPS Linux Bare / AlmaLinux 9", template="alma9"),
    ProductMapping(billing_product="VPS Linux Bare / Ubuntu 22.04", template="ubuntu2204"),
    ProductMapping(billing_product="VPS Legacy CentOS cPanel", template="centos7-cpanel",
                   license_kinds=("cpanel",)),
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
