"""Opening the store: one engine, one session factory, migrations applied on open."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, create_engine

from console.errors import ConsoleError
from console.store import migrate

log = logging.getLogger(__name__)


class StoreError(ConsoleError):
    """The store cannot be opened or migrated; the message says what to do."""


class Store:
    """The database behind the console: SQLite for one engineer, PostgreSQL for a team."""

    def __init__(self, engine: Engine):
        self.engine = engine
        # (revision before, revision after) when opening it changed the schema.
        self.migrated: tuple[str | None, str] | None = None

    def migration_notice(self) -> str | None:
        """What opening the store did to its schema, for the engineer; None when nothing."""
        if self.migrated is None:
            return None
        before, after = self.migrated
        if before is None:
            return f"store: created {self.url} (schema {after})"
        return (f"store: upgraded {self.url} from schema {before} to {after}; consoles "
                "older than this one can no longer open it")

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the console read while a runner writes; busy_timeout makes concurrent
    # writers (several runners, claims from several processes) queue instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def open_store(url: str, *, migrate_schema: bool = True) -> Store:
    """Open (and bring up to date) the store at `url`."""
    try:
        engine = create_db_engine(url)
    except (SQLAlchemyError, ImportError, OSError) as exc:
        raise StoreError(f"cannot open the store {url!r}: {exc}. Check [store] url in the "
                         "config.") from None
    store = Store(engine)
    if migrate_schema:
        try:
            store.migrated = migrate.upgrade(engine)
        except OperationalError as exc:
            reason = str(exc.orig) if exc.orig else str(exc)
            raise StoreError(f"cannot prepare the store {store.url}: {reason}. Check that the "
                             "file's folder is writable (or the database reachable) and that "
                             "[store] url is right.") from None
        if store.migrated is not None:
            log.info("%s", store.migration_notice())
    return store
