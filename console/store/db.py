"""Opening the store: one engine, one session factory, migrations applied on open."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Engine, Result, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session, create_engine

from console.errors import ConsoleError
from console.store import migrate

log = logging.getLogger(__name__)


class StoreError(ConsoleError):
    """The store cannot be opened or migrated; the message says what to do."""


class StoreUnavailable(StoreError):
    """The store could not read or write (disk full, I/O error, read-only, unreachable).
    Nothing of the failed change was kept; what was committed before stays, so a job
    stopped by it is resumed once the cause is fixed."""


# Words in the database's own message -> what the engineer should do about it.
_IO_HINTS = (
    ("disk is full", "free space on the disk that holds the store"),
    ("disk i/o error", "check the disk that holds the store (dmesg, its health)"),
    ("readonly database", "make the store file and its folder writable by this user"),
    ("read-only", "make the store writable by this user"),
    ("unable to open database", "check that the store's folder exists and is writable"),
    ("no space left", "free space on the disk that holds the store"),
    ("could not connect", "check that the database server is up and [store] url is right"),
    ("connection", "check that the database server is up and reachable"),
)


def _unavailable(exc: OperationalError, url: str) -> StoreUnavailable | None:
    reason = str(exc.orig) if exc.orig is not None else str(exc)
    lowered = reason.lower()
    for words, hint in _IO_HINTS:
        if words in lowered:
            return StoreUnavailable(
                f"the store {url} could not be written or read: {reason.splitlines()[0]}",
                f"{hint}; nothing of the interrupted change was kept, then run `vps-console "
                "jobs resume` to go on where it stopped",
            )
    return None


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
        return (
            f"store: upgraded {self.url} from schema {before} to {after}; consoles "
            "older than this one can no longer open it"
        )

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
            except OperationalError as exc:
                _rollback_quietly(session)
                clear = _unavailable(exc, self.url)
                if clear is None:
                    raise
                raise clear from None
            except BaseException:
                _rollback_quietly(session)
                raise

    def close(self) -> None:
        self.engine.dispose()


def _rollback_quietly(session: Session) -> None:
    try:
        session.rollback()
    except SQLAlchemyError:  # the connection is gone: nothing left to roll back
        pass


def _private_sqlite_file(path: Path) -> None:
    """The store holds customer data: its folder 0700 (when we make it) and its file 0600,
    whatever the umask. SQLite gives its -wal and -shm files the database file's mode."""
    path = path.expanduser()
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, 0o600)


def changed_one(result: Result[Any]) -> bool:
    """Whether an UPDATE changed exactly one row: the compare-and-set every claim and lease
    is decided by. (SQLAlchemy types `Session.execute` as a plain Result; for DML it is a
    CursorResult, which carries the count.)"""
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


# SQLite's page cache per connection, in KiB (64 pages of 4 KiB); the OS caches the rest of
# the file.
SQLITE_CACHE_KIB = 256


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the console read while a runner writes; busy_timeout makes concurrent
    # writers (several runners, claims from several processes) queue instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Each pooled connection keeps its own page cache (2 MiB by default): the console's
    # connections filled theirs with the queue's reads of the whole orders table, ~3 MiB
    # of its RSS at 10,000 orders. The OS caches the file anyway; a read of the whole queue
    # takes as long with the smaller cache.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            _private_sqlite_file(Path(parsed.database))
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def open_store(url: str, *, migrate_schema: bool = True) -> Store:
    """Open (and bring up to date) the store at `url`."""
    try:
        engine = create_db_engine(url)
    except (SQLAlchemyError, ImportError, OSError) as exc:
        raise StoreError(
            f"cannot open the store {url!r}: {exc}. Check [store] url in the config."
        ) from None
    store = Store(engine)
    if migrate_schema:
        try:
            store.migrated = migrate.upgrade(engine)
        except OperationalError as exc:
            reason = str(exc.orig) if exc.orig else str(exc)
            raise StoreError(
                f"cannot prepare the store {store.url}: {reason}. Check that the "
                "file's folder is writable (or the database reachable) and that "
                "[store] url is right."
            ) from None
        if store.migrated is not None:
            log.info("%s", store.migration_notice())
    return store
