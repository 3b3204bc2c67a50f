"""The store: migrations on open, one open job per order, atomic claims, audit rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from console.store import audit, migrate
from console.store.claims import claim_order, release_order
from console.store.db import StoreError, open_store
from console.store.models import Job, JobEvent, Order, utcnow


def add_order(store, order_id="2001", **fields):
    with store.session() as session:
        session.add(Order(id=order_id, source="manual", **fields))


def test_opening_a_new_store_applies_every_migration(store):
    assert migrate.is_current(store.engine)
    tables = set(inspect(store.engine).get_table_names())
    assert {"orders", "jobs", "job_events", "templates", "sync_state", "alembic_version"} <= tables


def test_reopening_keeps_the_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    first = open_store(url)
    add_order(first)
    first.close()
    again = open_store(url)
    with again.session() as session:
        assert session.get(Order, "2001").source == "manual"


def test_opening_says_what_it_did_to_the_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    first = open_store(url)
    head = migrate.head_revision()
    assert first.migrated == (None, head)
    assert first.migration_notice() == f"store: created {first.url} (schema {head})"
    first.close()
    again = open_store(url)
    assert again.migrated is None and again.migration_notice() is None
    again.migrated = ("0000", head)  # what a newer console finds in an older store
    assert again.migration_notice().startswith(
        f"store: upgraded {again.url} from schema 0000 to {head}"
    )
    again.close()


def test_an_unwritable_location_is_explained(tmp_path):
    # A file where a folder should be: unwritable even for root, unlike chmod.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(StoreError) as error:
        open_store(f"sqlite:///{blocker / 'c.db'}")
    assert "[store] url" in str(error.value)


def test_one_unfinished_job_per_order(store):
    add_order(store)
    with store.session() as session:
        session.add(Job(id="a", order_id="2001", state="cloning"))
    with pytest.raises(IntegrityError):
        with store.session() as session:
            session.add(Job(id="b", order_id="2001"))
    with store.session() as session:
        session.get(Job, "a").state = "cancelled"
    with store.session() as session:
        session.add(Job(id="b", order_id="2001"))
    with store.session() as session:
        assert {job.id for job in session.exec(select(Job))} == {"a", "b"}


def test_claim_has_one_winner_and_names_the_holder(store):
    add_order(store)
    assert claim_order(store, "2001", "ana@jump1").won
    lost = claim_order(store, "2001", "ben@jump2")
    assert not lost.won
    assert lost.holder == "ana@jump1"
    assert "ana@jump1" in lost.reason
    assert claim_order(store, "2001", "ana@jump1").won, "the holder may claim again"


def test_stale_claim_can_be_taken_over_with_a_record(store):
    add_order(store)
    claim_order(store, "2001", "ana@jump1")
    taken = claim_order(store, "2001", "ben@jump2", takeover_after=timedelta(seconds=-1))
    assert taken.won and taken.took_over_from == "ana@jump1"
    with store.session() as session:
        actions = [e.step for e in audit.entries(session, order_id="2001")]
    assert actions[:2] == ["claim_takeover", "claim"]


def test_a_stale_claim_is_only_reported_when_takeover_is_to_be_asked_first(store):
    add_order(store)
    claim_order(store, "2001", "ana@jump1")
    asked = claim_order(
        store, "2001", "ben@jump2", takeover_after=timedelta(seconds=-1), take_over=False
    )
    assert not asked.won and asked.stale and asked.holder == "ana@jump1"
    assert "idle since" in asked.reason
    with store.session() as session:
        assert session.get(Order, "2001").claimed_by == "ana@jump1"
        assert "claim_takeover" not in [e.step for e in audit.entries(session, order_id="2001")]
    # A fresh claim is refused without the offer.
    fresh = claim_order(store, "2001", "ben@jump2", take_over=False)
    assert not fresh.won and not fresh.stale


def test_an_idle_claim_with_a_live_job_is_not_offered_for_takeover(store):
    add_order(store)
    claim_order(store, "2001", "ana@jump1")
    with store.session() as session:
        # Its runner beat after the claim went idle (the idle mark is a second in the future).
        beat = utcnow() + timedelta(minutes=1)
        session.add(Job(id="j", order_id="2001", state="clone_wait", heartbeat_at=beat))
    lost = claim_order(
        store, "2001", "ben@jump2", takeover_after=timedelta(seconds=-1), take_over=False
    )
    assert not lost.won and not lost.stale


def test_an_order_needing_mapping_can_be_claimed_to_type_what_it_lacks(store):
    add_order(store, status="needs_mapping")
    assert claim_order(store, "2001", "ana@jump1").won


def test_stale_claim_with_a_live_job_is_not_taken_over(store):
    add_order(store)
    claim_order(store, "2001", "ana@jump1")
    with store.session() as session:
        session.add(Job(id="j", order_id="2001", state="clone_wait", heartbeat_at=utcnow()))
    lost = claim_order(store, "2001", "ben@jump2", takeover_after=timedelta(minutes=5))
    assert not lost.won and lost.holder == "ana@jump1"


def test_finished_orders_cannot_be_claimed(store):
    add_order(store, status="done")
    result = claim_order(store, "2001", "ana@jump1")
    assert not result.won and "done" in result.reason


def test_release_only_by_the_holder_unless_forced(store):
    add_order(store)
    claim_order(store, "2001", "ana@jump1")
    assert not release_order(store, "2001", "ben@jump2")
    assert release_order(store, "2001", "ben@jump2", force=True)
    with store.session() as session:
        assert session.get(Order, "2001").claimed_by is None
        assert (
            session.exec(select(JobEvent).where(JobEvent.step == "release")).one().actor
            == "ben@jump2"
        )


@pytest.mark.postgres
def test_the_same_store_on_postgresql(pg_url):
    store = open_store(pg_url)
    try:
        assert migrate.is_current(store.engine)
        add_order(store)
        assert claim_order(store, "2001", "ana@jump1").won
        assert not claim_order(store, "2001", "ben@jump2").won
        with store.session() as session:
            session.add(Job(id="a", order_id="2001"))
        with pytest.raises(IntegrityError):
            with store.session() as session:
                session.add(Job(id="b", order_id="2001"))
    finally:
        store.close()


def test_the_queue_lists_who_has_waited_longest_since_paying_first(store):
    from console.store.orders import list_orders

    now = utcnow()
    add_order(store, "3001", created_at=now - timedelta(days=3), paid_at=now - timedelta(hours=1))
    add_order(store, "3002", created_at=now - timedelta(days=1), paid_at=now - timedelta(hours=20))
    add_order(store, "3003", created_at=now - timedelta(hours=5))  # no payment time known
    assert [o.id for o in list_orders(store)] == ["3002", "3003", "3001"]


def test_every_sqlite_connection_keeps_a_small_page_cache(store):
    """Each pooled connection has its own page cache; the default 2 MiB each, filled by the
    queue's reads, was a few MiB of the console's RSS."""
    from sqlalchemy import text

    from console.store.db import SQLITE_CACHE_KIB

    with store.engine.connect() as first, store.engine.connect() as second:
        for connection in (first, second):
            size = connection.execute(text("PRAGMA cache_size")).scalar()
            assert size == -SQLITE_CACHE_KIB  # negative: KiB, not pages
