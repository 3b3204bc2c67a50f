"""Provisioning fixtures: a config pointing at the engine simulator, secrets, services."""

from __future__ import annotations

import pytest

from console.config import (CatalogConfig, Config, EngineConfig, ProductMapping, StoreConfig)
from console.flow.services import Services
from console.flow.timing import Timing
from console.secrets import MemorySecretStore
from console.store.models import Order

WINDOWS_KEY = "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"  # Microsoft's published KMS client key
PLESK_CODE = "A00Q00-28H603-ABCDEF-GH1234-JKLMN0"

PRODUCTS = (
    ProductMapping(billing_product="VPS Linux cPanel", template="alma9-cpanel", cpus=2,
                   memory_mib=4096, disk_gib=80, license_kinds=("cpanel",)),
    ProductMapping(billing_product="VPS Windows Plesk", template="win2022-plesk", cpus=2,
                   memory_mib=4096, disk_gib=80),
    ProductMapping(billing_product="VPS Linux", template="alma9", cpus=2, memory_mib=2048,
                   disk_gib=30),
)

FAST = Timing(poll_seconds=0.02, lease_seconds=5.0, retry_budget_seconds=1.0,
              backoff_first_seconds=0.02, backoff_max_seconds=0.1, clone_base_seconds=20,
              clone_seconds_per_gib=0.1, disk_extend_seconds=20, boot_seconds=20,
              ip_seconds=20, hostname_grace_seconds=1.0)


def sim_config(engine_sim, store_url: str) -> Config:
    return Config(engines=(EngineConfig(name="sim", url=engine_sim.url,
                                        username=engine_sim.username, cluster="prod-a"),),
                  catalog=CatalogConfig(products=PRODUCTS),
                  store=StoreConfig(url=store_url))


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
        order = Order(id=str(order_id), source=values.pop("source", "manual"),
                      product_name=product, client_name="Test Client",
                      client_email="client@example.net", **values)
        with store.session() as session:
            session.add(order)
        return order

    return add
