"""The template catalog cache: filled from the engine simulator through the real SDK, read
back as the same templates, replaced whole, and kept across a schema upgrade."""

from __future__ import annotations

import sqlite3

from alembic import command
from click.testing import CliRunner
from sqlalchemy import create_engine

from console.cli import main
from console.flow.catalog import catalog_from_cache, record_of, refresh_catalog
from console.store import migrate
from console.store.catalog import replace_catalog
from console.store.db import open_store


def test_the_engine_list_is_cached_and_read_back_unchanged(flow_services, store):
    engine = flow_services.engine()
    listed = refresh_catalog(engine, store, "sim")
    assert {t.name for t in listed} >= {"alma9-cpanel", "win2022-plesk", "centos7-cpanel"}
    cached = catalog_from_cache(store, "sim")
    assert cached.cached_at is not None

    def key(template):
        return template.id

    assert sorted(cached.templates, key=key) == sorted(listed, key=key)
    assert any(t.is_windows and t.apps == ("plesk",) for t in cached.templates)
    assert catalog_from_cache(store, "another-engine").templates == []


def test_a_refresh_replaces_the_whole_list(flow_services, store):
    listed = refresh_catalog(flow_services.engine(), store, "sim")
    kept = [t for t in listed if t.name == "alma9-cpanel"]
    replace_catalog(store, "sim", [record_of(t) for t in kept])
    assert sorted(t.id for t in catalog_from_cache(store, "sim").templates) == sorted(
        t.id for t in kept
    )


def test_an_older_store_is_upgraded_on_open_and_the_cli_says_so(tmp_path):
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    command.upgrade(migrate.alembic_config(engine), "0001")  # what the previous release made
    engine.dispose()
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO templates (engine, engine_id, name, version_number, version_name,"
            " os_type, description, cpus, memory_mib, disk_gib, status, refreshed_at)"
            " VALUES ('e1', 't1', 'alma9', 1, '', 'rhel_9x64', '', 2, 2048, 40, 'ok',"
            " '2026-11-30 10:00:00')"
        )
    config = tmp_path / "config.toml"
    config.write_text(f"""
[[engines]]
name = "e1"
url = "http://127.0.0.1:9/ovirt-engine/api"

[store]
url = "{url}"
""")
    result = CliRunner().invoke(main, ["--config", str(config), "orders", "list"])
    assert result.exit_code == 0, result.output
    head = migrate.head_revision()
    assert f"store: upgraded {url} from schema 0001 to {head}" in result.output
    store = open_store(url)
    try:
        assert store.migrated is None  # upgraded once, not again
        (template,) = catalog_from_cache(store, "e1").templates
        assert (template.name, template.apps, template.is_windows) == ("alma9", (), False)
    finally:
        store.close()
