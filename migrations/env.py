"""Alembic environment: migrates the engine handed over by bot.store.db, else the configured URL."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import Engine, text

from bot.store.db import SQLITE_BEGIN_OPTION, create_db_engine
from bot.store.models import Base, UtcDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Migrations must not import bot/: our UtcDateTime is a plain timezone-aware DateTime there.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine
    # Plain `alembic` CLI use (e.g. autogenerate while developing): the configured database.
    from bot.config import load_config

    return create_db_engine(load_config().database.url)


def run_migrations_offline() -> None:
    from bot.config import load_config

    context.configure(
        url=load_config().database.url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        render_item=_render_item,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


# Any constant: the PostgreSQL advisory lock that serialises concurrent upgrades.
_UPGRADE_LOCK_ID = 0x77786F6372


def run_migrations_online() -> None:
    # Several processes may run `wxocr db upgrade` at once: each migration run takes the
    # database's write lock first, so the later ones find the work done. The lock must span
    # the whole run: the revisions to apply are chosen when it starts. Alembic's SQLite
    # dialect says "no transactional DDL" (pysqlite's implicit commits) and so commits after
    # each revision, letting a second process in between; our engine turns those commits off
    # (bot/store/db.py), so SQLite's DDL is transactional and the run is one transaction.
    engine = _engine().execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things: batch mode copies the table instead.
            render_as_batch=True,
            compare_type=True,
            render_item=_render_item,
            transactional_ddl=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"), {"id": _UPGRADE_LOCK_ID}
                )
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
