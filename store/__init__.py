"""The store: SQLAlchemy models, migrations and sessions (SQLite by default, PostgreSQL by URL)."""
