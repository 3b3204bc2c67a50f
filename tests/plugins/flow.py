"""Provisioning fixtures: a config pointing at the engine simulator, secrets, services; and
the same with WHMCS for orders that are synced, provisioned and handed over."""

from __future__ import annotations

import pytest

from console.billing.sync import sync_orders
from console.config import (
    BillingConfig,
    CatalogConfig,
    Config,
    EngineConfig,
    ProductMapping,
    StoreConfig,
)
from console.flow.plan import Overrides, draft_plan
from console.flow.services import Services
from console.flow.timing import Timing
from console.secrets import BILLING_SECRET, MemorySecretStore
from console.store.models import Order
from console.store.orders import get_order

WINDOWS_KEY = "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"  # Microsoft's published KMS client key
PLESK_CODE = "A00Q00-28H603-ABCDEF-GH1234-JKLMN0"

PRODUCTS = (
    ProductMapping(
        billing_product="VPS Linux cPanel",
        template="alma9-cpanel",
        cpus=2,
        memory_mib=4096,
        disk_gib=80,
        license_kinds=("cpanel",),
    ),
    ProductMapping(
        billing_product="VPS Windows Plesk",
        template="win2022-plesk",
        cpus=2,
        memory_mib=4096,
        disk_gib=80,
    ),
    ProductMapping(
        billing_product="VPS Linux", template="alma9", cpus=2, memory_mib=2048, disk_gib=30
    ),
)

FAST = Timing(
    poll_seconds=0.02,
    lease_seconds=5.0,
    retry_budget_seconds=1.0,
    backoff_first_seconds=0.02,
    backoff_max_seconds=0.1,
    clone_base_seconds=20,
    clone_seconds_per_gib=0.1,
    disk_extend_seconds=20,
    boot_seconds=20,
    ip_seconds=20,
    hostname_grace_seconds=1.0,
    clone_expect_seconds_per_gib=0.002,
    disk_expect_seconds=0.03,
    boot_expect_seconds=0.15,
    poll_floor_seconds=0.01,
)


def sim_config(engine_sim, store_url: str) -> Config:
    return Config(
        engines=(
            EngineConfig(
                name="sim", url=engine_sim.url, username=engine_sim.username, cluster="prod-a"
            ),
        ),
        catalog=CatalogConfig(products=PRODUCTS),
        store=StoreConfig(url=store_url),
    )


@pytest.fixture
def flow_config(engine_sim, tmp_path) -> Config:
    return sim_config(engine_sim, f"sqlite:///{tmp_path / 'console.db'}")


@pytest.fixture
def flow_services(flow_config, store, engine_sim, memory_secrets, monkeypatch):
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", engine_sim.password)
    services = Services(flow_config, store, memory_secrets)
    yield services
    services.close()


@pytest.fixture
def add_order(store):
    """Insert a paid order straight into the store (as billing intake would)."""

    def add(order_id: str, product: str = "VPS Linux cPanel", **values) -> Order:
        order = Order(
            id=str(order_id),
            source=values.pop("source", "manual"),
            product_name=product,
            client_name="Test Client",
            client_email="client@example.net",
            **values,
        )
        with store.session() as session:
            session.add(order)
        return order

    return add


# ---------------------------------------------------------------- with WHMCS
BILLING_TIMEOUT = 2.0
BILLING_PRODUCTS = (
    ProductMapping(
        billing_product="VPS Linux cPanel", template="alma9-cpanel", license_kinds=("cpanel",)
    ),
)


@pytest.fixture
def billing_services(engine_sim, whmcs_sim, store, tmp_path, monkeypatch):
    monkeypatch.setenv("VPS_CONSOLE_ENGINE_PASSWORD", engine_sim.password)
    config = Config(
        engines=(
            EngineConfig(
                name="sim", url=engine_sim.url, username=engine_sim.username, cluster="prod-a"
            ),
        ),
        billing=BillingConfig(
            kind="whmcs",
            url=whmcs_sim.url,
            identifier=whmcs_sim.identifier,
            timeout_seconds=BILLING_TIMEOUT,
        ),
        catalog=CatalogConfig(products=BILLING_PRODUCTS),
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'console.db'}"),
    )
    services = Services(
        config, store, MemorySecretStore(initial={BILLING_SECRET: whmcs_sim.secret})
    )
    yield services
    services.close()


def synced_order(services, whmcs_sim, hostname):
    whmcs_order = whmcs_sim.add_order(
        pid=1,
        hostname=hostname,
        configoptions={
            "cpu|CPU Cores": "2|2 vCPU",
            "ram|RAM": "4096|4 GB",
            "disk|Disk Space": "80|80 GB",
        },
    )
    sync_orders(services.store, services.billing(), services.config.catalog)
    row = get_order(services.store, str(whmcs_order.id))
    assert row is not None and row.source == "whmcs" and row.status == "new", row
    return whmcs_order, row


def launch_synced(services, runner, row):
    product = services.config.catalog.product_for(row.product_name)
    draft = draft_plan(
        row, product, services.engine().list_templates(), services.config, Overrides()
    )
    assert draft.problems == [], draft.problems
    return runner.launch(row.id, draft.plan, {}, confirm_warnings=True)


def marked_vms(engine_sim, order_id):
    with engine_sim.world.lock:
        vms = list(engine_sim.world.vms.values())
    return [vm for vm in vms if f"order={order_id} " in (vm.comment or "")]
