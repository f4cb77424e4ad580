"""Engines, sessions and migrations of the store."""

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL with NORMAL: a commit survives the process being killed; only power loss can undo
    # the last ones. The ledger commits once per message, so FULL would fsync per message.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Connections kept open for reuse, at least one per thread that uses the store at once (the web
# app's pages run on 8): one closed after each use costs a PostgreSQL backend start next time.
POOL_SIZE = 10


@cache
def engine_for(store_url: str) -> Engine:
    """One engine per URL per process, migrated to the latest schema on first use."""
    # A failed statement's error names its statement, never its values (people's names,
    # addresses and phones).
    engine = create_engine(store_url, pool_pre_ping=True, pool_size=POOL_SIZE, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    with engine.begin() as connection:
        config = alembic_config(store_url)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return engine


@cache
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """One per engine: each sessionmaker is a class of its own, costly to make per session."""
    return sessionmaker(engine, expire_on_commit=False)


class SQLiteWriter:
    """Writers to an SQLite file take turns: this process's threads on a lock, processes on an
    flock of a file beside the database, which lets the next one go on as soon as the last is
    done, where SQLite's own wait (busy_timeout) sleeps up to 100 ms between tries. Only a
    quicker way to wait: the database's write lock still decides."""

    def __init__(self, database: str) -> None:
        self.threads = threading.Lock()
        self.processes = os.open(f"{database}-writer", os.O_WRONLY | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        self.threads.acquire()
        try:
            fcntl.flock(self.processes, fcntl.LOCK_EX)
        except BaseException:
            self.threads.release()
            raise

    def __exit__(self, *_exception: object) -> None:
        fcntl.flock(self.processes, fcntl.LOCK_UN)
        self.threads.release()


@cache
def sqlite_writer(engine: Engine) -> SQLiteWriter:
    return SQLiteWriter(str(engine.url.database))


def writers_turn(engine: Engine) -> AbstractContextManager[object]:
    """What a writer to the store waits for first: on SQLite its turn among the writers of every
    process (SQLiteWriter); nothing on a store that takes writers side by side."""
    return sqlite_writer(engine) if engine.dialect.name == "sqlite" else nullcontext()


@contextmanager
def transaction(store_url: str, writes: bool = False) -> Iterator[Session]:
    """A session whose work commits as one transaction, or not at all. One that `writes` to
    SQLite first waits for the other writers of every process (SQLiteWriter), then takes the
    database's write lock as it begins: what it reads before it writes cannot change under it
    (the sqlite3 driver would begin only at the first write)."""
    engine = engine_for(store_url)
    one_writer = writers_turn(engine) if writes else nullcontext()
    with one_writer, session_factory(engine).begin() as session:
        if writes and engine.dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session
