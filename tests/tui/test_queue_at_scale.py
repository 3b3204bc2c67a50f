"""The queue with 10,000 orders: the first screenful comes from one limited store query,
shown while the whole queue is still being read."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import event

from console.store.models import Order
from console.tui import data
from console.tui.app import ConsoleApp
from console.tui.screens.queue import FIRST_PAGE, QueueScreen
from tests.showcase.world import FROZEN_NOW
from tests.tui.helpers import settle, table_keys
from tests.tui.test_job_pool import until

MANY = 10_000


def add_orders(store, count: int) -> None:
    with store.session() as session:
        session.add_all(
            Order(
                id=str(20000 + n),
                source="whmcs",
                service_id=str(90000 + n),
                client_name=f"Client {n}",
                client_email=f"c{n}@example.net",
                product_name="VPS Linux cPanel",
                cpus=2,
                memory_mib=4096,
                disk_gib=80,
                status="new",
                created_at=FROZEN_NOW - timedelta(minutes=n),
                paid_at=FROZEN_NOW - timedelta(minutes=n),
                updated_at=FROZEN_NOW,
            )
            for n in range(count)
        )
        session.commit()


async def test_first_rows_come_from_a_limited_query(frozen_context, monkeypatch):
    store = frozen_context.store
    add_orders(store, MANY)
    statements: list[str] = []
    event.listen(
        store.engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: statements.append(statement),
    )
    release = threading.Event()
    full_reads = []
    real = data.queue_orders

    def held_back(*args, **kwargs):  # the whole queue's read, held until the test says
        release.wait(30)
        full_reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "queue_orders", held_back)
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        await until(pilot, lambda: len(table_keys(app, "#orders")) > 0)
        assert not full_reads  # shown before the whole queue was read
        keys = table_keys(app, "#orders")
        assert len(keys) == FIRST_PAGE
        assert keys[0] == str(20000 + MANY - 1)  # the oldest first, as the queue sorts
        limited = [s for s in statements if "FROM orders" in s and "LIMIT" in s.upper()]
        assert limited
        release.set()
        await settle(pilot)
        assert full_reads
        assert len(table_keys(app, "#orders")) == MANY + 6  # and the six seeded ones
        assert table_keys(app, "#orders")[0] == keys[0]


async def test_filtering_reads_nothing_again(frozen_context, monkeypatch):
    add_orders(frozen_context.store, 500)
    app = ConsoleApp(frozen_context)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        reads = []
        monkeypatch.setattr(data, "queue_orders", lambda *a, **k: reads.append(1) or [])
        built = []
        real = screen.update_match_texts
        monkeypatch.setattr(screen, "update_match_texts", lambda c: built.append(c) or real(c))
        await pilot.press("slash", *"client 49", "enter")
        await pilot.pause()
        assert set(table_keys(app, "#orders")) == {str(20000 + n) for n in (49, *range(490, 500))}
        await pilot.press("s")  # sort by client: no store read
        await pilot.pause()
        assert not reads
        assert all(changed == set() for changed in built)  # no order's texts made again
