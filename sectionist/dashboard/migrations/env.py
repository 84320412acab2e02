"""Alembic's environment for the dashboard's database (run by Alembic, never imported directly).

:func:`sectionist.dashboard.migrations.alembic_config` builds the configuration in code (no
``alembic.ini``): ``script_location`` is this folder, and the open connection to migrate (already
inside a transaction that holds the migration lock) comes in ``config.attributes["connection"]``.
Plain ``alembic`` commands also work for writing new revisions, with an ini file that names this
folder and ``sqlalchemy.url``: ``alembic -c my.ini revision --autogenerate -m "…"``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from sectionist.dashboard.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(**kw) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite alters most things by copying the table: let autogenerate write batch operations
        render_as_batch=kw.pop("dialect_name") == "sqlite",
        **kw,
    )


def run_offline() -> None:
    """``--sql``: print the SQL instead of running it."""
    url = config.get_main_option("sqlalchemy.url")
    _configure(url=url, literal_binds=True, dialect_name=url.split(":", 1)[0].split("+", 1)[0])
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # from sectionist: its connection, its transaction, its lock
        _configure(connection=connection, dialect_name=connection.dialect.name)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _configure(connection=conn, dialect_name=conn.dialect.name)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
