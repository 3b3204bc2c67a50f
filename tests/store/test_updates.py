"""The store's compare-and-set (console.store.updates), on SQLite and on PostgreSQL: of two
writers holding the same read of a row, one changes it and the other changes nothing;
racing claimers of a stock each get a different row, and none is claimed twice."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import col

from console.store import updates
from console.store.models import Order
from console.store.pool import PoolVm, PoolVmState

RACERS = 6
STOCK = 3


def ready_vm(name: str) -> PoolVm:
    return PoolVm(
        name=name,
        engine="sim",
        pool_key="sim/alma9/prod-a",
        template_id="t1",
        cluster="prod-a",
        state=PoolVmState.READY.value,
    )


def still_ready(name: str):
    return [col(PoolVm.name) == name, col(PoolVm.state) == PoolVmState.READY.value]


def test_two_sessions_with_the_same_read_one_sets_the_other_sees_it_changed(vault_store):
    with vault_store.session() as session:
        session.add(ready_vm("pool-a"))
    first, second = vault_store.session(), vault_store.session()
    one, two = first.__enter__(), second.__enter__()
    # Both read the row as ready.
    assert one.get(PoolVm, "pool-a").state == two.get(PoolVm, "pool-a").state == "ready"
    two.rollback()  # the read is done; its transaction holds nothing
    taken = {"state": PoolVmState.TAKEN.value, "job_id": "j1"}
    assert updates.set_if(one, PoolVm, still_ready("pool-a"), taken)
    first.__exit__(None, None, None)  # committed
    assert not updates.set_if(two, PoolVm, still_ready("pool-a"), {**taken, "job_id": "j2"})
    second.__exit__(None, None, None)
    with vault_store.session() as session:
        row = session.get(PoolVm, "pool-a")
        assert (row.state, row.job_id) == ("taken", "j1")


def _race(work, count: int) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[n] = work(n)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_racing_updates_of_one_row_have_one_winner(vault_store):
    with vault_store.session() as session:
        session.add(ready_vm("pool-a"))

    def take(n: int) -> bool:
        values = {"state": PoolVmState.TAKEN.value, "job_id": f"j{n}"}
        return updates.update_if(vault_store, PoolVm, still_ready("pool-a"), values)

    won = _race(take, RACERS)
    assert won.count(True) == 1, won
    with vault_store.session() as session:
        assert session.get(PoolVm, "pool-a").job_id == f"j{won.index(True)}"


def test_racing_claimers_of_a_stock_each_get_another_row(vault_store):
    with vault_store.session() as session:
        for n in range(STOCK):
            session.add(ready_vm(f"pool-{n}"))
    stock = [col(PoolVm.template_id) == "t1", col(PoolVm.state) == PoolVmState.READY.value]

    def claim(n: int) -> tuple[str, str | None] | None:
        row = updates.claim_oldest(
            vault_store,
            PoolVm,
            key=col(PoolVm.name),
            stock=stock,
            order_by=[col(PoolVm.name)],
            values={"state": PoolVmState.TAKEN.value, "job_id": f"j{n}"},
            stamped=("taken_at",),
        )
        return None if row is None else (row.name, row.job_id)

    claims = _race(claim, RACERS)
    won = [c for c in claims if c is not None]
    assert sorted(name for name, _ in won) == [f"pool-{n}" for n in range(STOCK)], claims
    assert claims.count(None) == RACERS - STOCK
    with vault_store.session() as session:
        for name, job_id in won:
            assert session.get(PoolVm, name).job_id == job_id  # what the winner was told


def test_a_claim_writes_its_record_in_the_same_transaction_or_not_at_all(vault_store):
    with vault_store.session() as session:
        session.add(ready_vm("pool-a"))
    stock = [col(PoolVm.state) == PoolVmState.READY.value]

    def refuse(session, row) -> None:
        raise RuntimeError("the audit line could not be written")

    def claim(on_taken):
        return updates.claim_oldest(
            vault_store,
            PoolVm,
            key=col(PoolVm.name),
            stock=stock,
            order_by=[col(PoolVm.name)],
            values={"state": PoolVmState.TAKEN.value},
            on_taken=on_taken,
        )

    with pytest.raises(RuntimeError, match="audit line"):
        claim(refuse)
    with vault_store.session() as session:
        assert session.get(PoolVm, "pool-a").state == "ready"  # rolled back with it
    assert claim(None).name == "pool-a"
    assert claim(None) is None  # the stock is empty


def test_one_row_update_serves_jobs_and_template_refreshes(store):
    from console.errors import ConsoleError
    from console.store import jobs, refresh_jobs

    with store.session() as session:
        session.add(Order(id="2301", source="manual"))
    job = jobs.create_job(store, order_id="2301", plan={}, engine="sim", created_by="t")
    jobs.update_job(store, job.id, data={"a": 1, "b": 2})
    changed = jobs.update_job(store, job.id, state="cloning", data={"a": None})
    assert (changed.state, changed.data) == ("cloning", {"b": 2})
    assert changed.updated_at >= job.updated_at
    refresh_jobs.create(
        store,
        template_name="alma9",
        engine="sim",
        created_by="t",
        build_vm_name="b",
        refresh_id="r1",
    )
    for n in range(refresh_jobs.EVENTS_KEPT + 5):
        row = refresh_jobs.update_row(store, "r1", event={"message": f"e{n}"}, data={"n": n})
    assert len(row.events) == refresh_jobs.EVENTS_KEPT
    assert row.events[-1]["message"] == f"e{refresh_jobs.EVENTS_KEPT + 4}"
    assert row.data == {"n": refresh_jobs.EVENTS_KEPT + 4}
    with pytest.raises(ConsoleError, match="no job nope"):
        jobs.update_job(store, "nope", state="done")
    with pytest.raises(ConsoleError, match="no template refresh nope"):
        refresh_jobs.update_row(store, "nope", data={"n": 1})
