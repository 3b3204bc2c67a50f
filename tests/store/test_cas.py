"""The store's compare-and-set (console.store.cas), on SQLite and on PostgreSQL: of two
writers holding the same read of a row, one changes it and the other changes nothing;
racing claimers of a stock each get a different row, and none is claimed twice."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import col

from console.store import cas
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
    assert cas.set_if(one, PoolVm, still_ready("pool-a"), taken)
    first.__exit__(None, None, None)  # committed
    assert not cas.set_if(two, PoolVm, still_ready("pool-a"), {**taken, "job_id": "j2"})
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
        return cas.update_if(vault_store, PoolVm, still_ready("pool-a"), values)

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
        row = cas.claim_oldest(
            vault_store,
            PoolVm,
            key=col(PoolVm.name),
            stock=stock,
            order_by=[col(PoolVm.name)],
            values=lambda: {"state": PoolVmState.TAKEN.value, "job_id": f"j{n}"},
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
        return cas.claim_oldest(
            vault_store,
            PoolVm,
            key=col(PoolVm.name),
            stock=stock,
            order_by=[col(PoolVm.name)],
            values=lambda: {"state": PoolVmState.TAKEN.value},
            on_taken=on_taken,
        )

    with pytest.raises(RuntimeError, match="audit line"):
        claim(refuse)
    with vault_store.session() as session:
        assert session.get(PoolVm, "pool-a").state == "ready"  # rolled back with it
    assert claim(None).name == "pool-a"
    assert claim(None) is None  # the stock is empty
