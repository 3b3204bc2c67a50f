"""A store that cannot write (disk full) stops a job with a message that says so and what
to do, never a database traceback, and the job goes on from where it stopped once there
is room again: one VM, done."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from console.flow.plan import Overrides
from console.flow.runner import Runner
from console.store import jobs as repo
from console.store.db import StoreUnavailable, open_store
from tests.flow.test_happy_paths import plan_for
from tests.plugins.flow import FAST


def fill_the_disk(store) -> callable:
    """From now on the database file cannot grow: SQLite answers "database or disk is
    full", exactly as on a full disk. Returns the function that makes room again."""
    with store.engine.connect() as connection:
        # The filler table exists before the limit: creating it needs a page of its own,
        # which a file already at its limit would refuse.
        connection.execute(text("CREATE TABLE filler (blob)"))
        connection.commit()
        pages = connection.execute(text("PRAGMA page_count")).scalar()

    def limit(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(store.engine, "connect", limit)
    store.engine.dispose()
    with store.engine.connect() as connection:  # what little room is left, taken
        for size in (4000, 400, 40):
            try:
                while True:
                    connection.execute(
                        text("INSERT INTO filler VALUES (randomblob(:n))"), {"n": size}
                    )
                    connection.commit()
            except OperationalError as full:
                assert "full" in str(full)
                connection.rollback()

    # The pages of the job log keep some room of their own: taken too, so that the job's
    # first line fails however few lines it writes.
    for size in (200, 20, 1):
        try:
            while True:
                repo.add_event(store, job_id=None, order_id=None, kind="info", message="x" * size)
        except StoreUnavailable:
            pass

    def make_room():
        event.remove(store.engine, "connect", limit)
        store.engine.dispose()

    return make_room


def test_a_full_disk_stops_the_job_with_a_clear_message_and_it_resumes(
    flow_services, add_order, engine_sim
):
    add_order("2001", "VPS Linux cPanel")
    runner = Runner(flow_services, timing=FAST)
    job = runner.launch(
        "2001",
        plan_for(flow_services, "2001", Overrides(hostname="shop.example.net")),
        {},
        confirm_warnings=True,
    )
    make_room = fill_the_disk(flow_services.store)
    with pytest.raises(StoreUnavailable) as stopped:
        runner.run(job.id)
    assert "database or disk is full" in stopped.value.message
    assert "free space" in stopped.value.hint and "jobs resume" in stopped.value.hint
    make_room()
    done = runner.run(job.id)
    assert done.state == "done", (done.failed_step, done.error_message)
    assert len([vm for vm in engine_sim.world.vms.values() if vm.name == "vps-2001"]) == 1


def test_the_store_file_is_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "new" / "console.db"
        store = open_store(f"sqlite:///{path}")
        with store.engine.connect() as connection:  # WAL and shared memory files appear
            connection.execute(text("CREATE TABLE IF NOT EXISTS t (x)"))
            connection.commit()
        store.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for file in path.parent.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
