"""The store's migrations build exactly the schema the models describe, on every backend."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from store.db import alembic_config, engine_for
from store.models import Base


def test_migrations_match_the_models(database_url: str) -> None:
    with engine_for(database_url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_opening_twice_is_idempotent(database_url: str) -> None:
    first = engine_for(database_url)
    engine_for.cache_clear()
    second = engine_for(database_url)
    assert first is not second
    with second.connect() as connection:
        head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
        assert MigrationContext.configure(connection).get_current_revision() == head
