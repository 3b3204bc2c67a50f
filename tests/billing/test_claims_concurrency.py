"""100 processes race to claim one synced order: exactly one wins (SQLite file, PostgreSQL)."""

from __future__ import annotations

import pytest

from console.billing.sync import sync_orders
from console.store.claims import claim_order
from console.store.db import open_store
from console.store.orders import get_order
from tests.plugins.races import race
from tests.plugins.whmcs import client_for

RACERS = 100


def _race(url: str, order_id: str, owner: str, barrier, results) -> None:
    store = open_store(url, migrate_schema=False)
    try:
        barrier.wait(timeout=60)
        results.put((owner, claim_order(store, order_id, owner).won))
    except Exception as exc:  # noqa: BLE001 - reported, so a crash cannot pass as "lost the race"
        results.put((owner, f"error: {exc!r}"))
    finally:
        store.close()


def race_for_one_order(url: str, order_id: str) -> list[tuple[str, object]]:
    return race(_race, [(url, order_id, f"eng{i}@host{i}") for i in range(RACERS)])


def synced_order(url: str, whmcs_sim, catalog) -> str:
    store = open_store(url)
    order = whmcs_sim.add_order(pid=1)
    with client_for(whmcs_sim) as client:
        sync_orders(store, client, catalog)
    store.close()  # no pooled connection may cross the fork
    return str(order.id)


def check_one_winner(url: str, order_id: str) -> None:
    outcomes = race_for_one_order(url, order_id)
    assert not [o for o in outcomes if isinstance(o[1], str)], outcomes
    winners = [owner for owner, won in outcomes if won is True]
    assert len(outcomes) == RACERS and len(winners) == 1
    store = open_store(url, migrate_schema=False)
    assert get_order(store, order_id).claimed_by == winners[0]
    store.close()


@pytest.mark.slow
def test_hundred_processes_one_winner_sqlite(tmp_path, whmcs_sim, catalog):
    url = f"sqlite:///{tmp_path / 'race.db'}"
    check_one_winner(url, synced_order(url, whmcs_sim, catalog))


@pytest.mark.slow
@pytest.mark.postgres
def test_hundred_processes_one_winner_postgresql(pg_url, whmcs_sim, catalog):
    check_one_winner(pg_url, synced_order(pg_url, whmcs_sim, catalog))
