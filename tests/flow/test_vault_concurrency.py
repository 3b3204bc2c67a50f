"""100 processes race for 20 keys: 20 win one key each, 80 hear "no stock", no key goes to
two orders; and racing reservations for one order end with one key. SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

import pytest

from console.flow import vault
from console.flow.vault_import import import_keys
from console.secrets import MemorySecretStore
from console.store.db import open_store
from tests.plugins.races import race
from tests.plugins.vault import product_key

RACERS = 100
KEYS = 20


def _race(url: str, order_id: str, barrier, results) -> None:
    store = open_store(url, migrate_schema=False)
    try:
        barrier.wait(timeout=60)
        try:
            key = vault.reserve(store, order_id, "windows", actor=f"racer-{order_id}")
            results.put((order_id, key.id))
        except vault.NoStock:
            results.put((order_id, "no stock"))
    except Exception as exc:  # noqa: BLE001 - reported, so a crash cannot pass as "no stock"
        results.put((order_id, f"error: {exc!r}"))
    finally:
        store.close()


def stocked(url: str, count: int) -> None:
    store = open_store(url)
    report = import_keys(
        store,
        MemorySecretStore(),
        "\n".join(product_key(i) for i in range(count)),
        actor="stock@desk",
        kind="windows",
    )
    assert len(report.imported) == count
    store.close()  # no pooled connection may cross the fork


@pytest.mark.slow
def test_hundred_reservations_on_twenty_keys(store_url):
    stocked(store_url, KEYS)
    outcomes = race(_race, [(store_url, f"o{i}") for i in range(RACERS)])
    assert not [o for o in outcomes if o[1].startswith("error")], outcomes
    winners = {order: key for order, key in outcomes if key.startswith("lk-")}
    assert len(outcomes) == RACERS and len(winners) == KEYS
    assert Counter(key for _, key in outcomes)["no stock"] == RACERS - KEYS
    assert len(set(winners.values())) == KEYS  # no key twice
    store = open_store(store_url, migrate_schema=False)
    try:
        held = {key.order_id: key.id for key in vault.list_keys(store, state="reserved")}
        assert held == winners
        assert vault.low_stock(store, 1) == [vault.LowStock("windows", 0, 1)]
        reserved_lines = [
            e
            for key in winners.values()
            for e in vault.history(store, key)
            if e.step == "vault_reserved"
        ]
        assert len(reserved_lines) == KEYS
    finally:
        store.close()


@pytest.mark.slow
def test_racing_reservations_for_one_order_share_one_key(store_url):
    stocked(store_url, 5)
    outcomes = race(_race, [(store_url, "4242")] * 12)
    assert not [o for o in outcomes if not o[1].startswith("lk-")], outcomes
    assert len({key for _, key in outcomes}) == 1
    store = open_store(store_url, migrate_schema=False)
    try:
        assert [line.available for line in vault.stock(store)] == [4]
    finally:
        store.close()
