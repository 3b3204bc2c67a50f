"""Store fixtures: a fresh, migrated SQLite store per test (PostgreSQL when asked)."""

from __future__ import annotations

import os
import uuid

import pytest

from console.store.db import open_store


@pytest.fixture
def store(tmp_path):
    opened = open_store(f"sqlite:///{tmp_path / 'console.db'}")
    yield opened
    opened.close()


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL schema-less database URL, or skip when no server was provided."""
    base = os.environ.get("VPS_CONSOLE_TEST_PG_URL")
    if not base:
        pytest.skip("VPS_CONSOLE_TEST_PG_URL is not set (.ci/run sets it up)")
    from sqlalchemy import create_engine, text

    name = f"vpsc_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
