"""Opening a store at head costs one query, not alembic; an older store still migrates."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from console.store import migrate
from console.store.db import open_store

# Opens the store at argv[1] in a fresh interpreter and says what it did and imported.
OPEN_AND_REPORT = """
import json, sys
from console.store.db import open_store
store = open_store(sys.argv[1])
print(json.dumps({"migrated": store.migrated, "alembic": "alembic" in sys.modules}))
store.close()
"""


def open_in_subprocess(url: str) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", OPEN_AND_REPORT, url], capture_output=True, text=True, check=True
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_the_head_read_from_the_files_is_alembics_head():
    # The cheap reading must never drift from what alembic would upgrade to.
    assert migrate.head_revision() == ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()


def test_a_store_at_head_opens_without_importing_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    open_store(url).close()  # created and migrated here
    seen = open_in_subprocess(url)
    assert seen == {"migrated": None, "alembic": False}


def test_an_older_store_imports_alembic_and_is_upgraded(tmp_path):
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    command.upgrade(migrate.alembic_config(engine), "0003")
    engine.dispose()
    seen = open_in_subprocess(url)
    assert seen == {"migrated": ["0003", migrate.head_revision()], "alembic": True}
    store = open_store(url)
    try:
        assert migrate.is_current(store.engine) and store.migrated is None
    finally:
        store.close()


def test_a_new_store_has_no_revision_then_head(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    engine = create_engine(url)
    assert migrate.current_revision(engine) is None
    engine.dispose()
    store = open_store(url)
    try:
        assert migrate.current_revision(store.engine) == migrate.head_revision()
    finally:
        store.close()


@pytest.mark.postgres
def test_a_postgresql_store_at_head_opens_without_importing_alembic(pg_url):
    open_store(pg_url).close()
    assert open_in_subprocess(pg_url) == {"migrated": None, "alembic": False}
