"""Engines, sessions and migrations of the store."""

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
    engine = create_engine(store_url, pool_pre_ping=True, pool_size=POOL_SIZE)
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


@cache
def sqlite_writer(engine: Engine) -> threading.Lock:
    return threading.Lock()


@contextmanager
def transaction(store_url: str, writes: bool = False) -> Iterator[Session]:
    """A session whose work commits as one transaction, or not at all. One that `writes` to
    SQLite first waits for this process's other writers on a lock: SQLite takes one writer at a
    time, and its own wait (busy_timeout) sleeps up to 100 ms between tries."""
    engine = engine_for(store_url)
    one_writer: AbstractContextManager[object] = nullcontext()
    if writes and engine.dialect.name == "sqlite":
        one_writer = sqlite_writer(engine)
    with one_writer, session_factory(engine).begin() as session:
        yield session
