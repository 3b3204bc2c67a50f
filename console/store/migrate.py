"""Alembic migrations, run in-process: the console upgrades its store when it opens it.

Alembic itself (~11 MiB and ~0.15 s to import) is needed only when a migration must run:
a store at head, which is every open but the first after an upgrade, is recognised by one
plain query of its version table against the head read from the migration files' own
`revision =` lines (tests pin that reading to alembic's ScriptDirectory)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # alembic's default, which env.py keeps

# The two module-level assignments every revision file has (see script.py.mako).
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(?:['\"]([^'\"]+)['\"]|None)", re.MULTILINE)


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


@cache
def head_revision() -> str:
    """The revision no other revision revises, read from the files without importing them
    (or alembic). One head only: the history is linear."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            raise RuntimeError(f"{path.name}: no `revision =` / `down_revision =` line")
        revisions.add(revision.group(1))
        if down.group(1):
            revised.add(down.group(1))
    heads = revisions - revised
    if len(heads) != 1:
        raise RuntimeError(f"the migrations folder has {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The store's schema revision; None for a store with no schema yet."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    if len(rows) > 1:  # not ours (we have one branch): let alembic judge it
        return ",".join(sorted(row[0] for row in rows))
    return rows[0][0] if rows else None


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def upgrade(engine: Engine) -> tuple[str | None, str] | None:
    """Bring the schema to head; (revision before, head) when it changed anything."""
    before = current_revision(engine)
    head = head_revision()
    if before == head:
        return None
    from alembic import command  # only here: a store at head never pays for alembic

    command.upgrade(alembic_config(engine), "head")
    return before, head
