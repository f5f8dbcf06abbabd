"""Database engine and sessions: SQLite (WAL, busy timeout) by default, any SQLAlchemy URL.

SQLite notes. The sqlite3 driver's own transaction handling is switched off and we emit
``BEGIN`` ourselves: that is what makes SAVEPOINT work and lets a session ask for
``BEGIN IMMEDIATE`` (take the write lock at the start, so two processes cannot both read
"token expired" and both refresh). See :func:`write_transaction`.

Alembic runs from the installed package: :func:`alembic_config` points ``script_location``
at the ``migrations`` package directory, no ``alembic.ini`` or working directory needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, insert, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

DEFAULT_BUSY_TIMEOUT_MS = 30_000
# libpq's connect_timeout (whole seconds, 2 at least).
POSTGRES_CONNECT_TIMEOUT_S = 3
# Execution option read by the SQLite "begin" listener: "DEFERRED" (default) or "IMMEDIATE".
SQLITE_BEGIN_OPTION = "wxocr_sqlite_begin"

SessionFactory = sessionmaker[Session]


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_db_engine(
    url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, echo: bool = False
) -> Engine:
    """An Engine for ``url``; SQLite files get WAL mode and a busy timeout on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pre_ping: a pooled connection is tested at checkout, so one a restart or a proxy
        # dropped is replaced before a transaction fails on it (bot/store/db_retry.py retries
        # the rest). A bounded connect: a server that does not answer must not hold a
        # request past WeChat's 5 s.
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
        return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": busy_timeout_ms / 1000})

    @event.listens_for(engine, "connect")
    def _configure_sqlite(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Autocommit at the driver level; the "begin" listener below starts transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            # WAL lets readers run while one process writes; NORMAL is durable enough in WAL.
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_sqlite(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(f"unknown SQLite transaction mode {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def session_factory(engine: Engine) -> SessionFactory:
    """Sessions whose objects stay readable after commit (they are plain records to us)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_transaction(sessions: SessionFactory) -> Iterator[Session]:
    """A session in a transaction that may read-then-write without racing other processes.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE`` (the database write lock is
    taken at once; others wait up to the busy timeout). On PostgreSQL the caller locks the
    rows it reads with ``SELECT ... FOR UPDATE`` (``with_for_update()``). Commits on success.
    """
    session = sessions()
    try:
        bind = session.get_bind()
        if isinstance(bind, Engine) and is_sqlite(bind):
            session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def insert_if_absent(
    session: Session, model: type[DeclarativeBase], values: Mapping[str, Any]
) -> bool:
    """INSERT a row unless one with the same unique key exists; True when this call inserted it.

    Never raises on the conflict and never aborts the caller's transaction.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        statement: Any = sqlite.insert(model).values(**values).on_conflict_do_nothing()
    elif dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement = postgresql.insert(model).values(**values).on_conflict_do_nothing()
    else:
        return _insert_in_savepoint(session, model, values)
    # RETURNING, not rowcount: drivers disagree on rowcount for ON CONFLICT DO NOTHING.
    key = list(inspect(model).primary_key)
    return session.execute(statement.returning(*key)).first() is not None


def _insert_in_savepoint(
    session: Session, model: type[DeclarativeBase], values: Mapping[str, Any]
) -> bool:
    # A savepoint keeps the caller's transaction alive on conflict.
    try:
        with session.begin_nested():
            session.execute(insert(model).values(**values))
    except IntegrityError:
        return False
    return True


# ---------------------------------------------------------------- migrations


def migrations_dir() -> Path:
    import migrations

    # __path__, not __file__: an editable install may see the package as a namespace.
    return Path(next(iter(migrations.__path__))).resolve()


def alembic_config(engine: Engine | None = None) -> AlembicConfig:
    """Alembic configuration built in code; ``env.py`` uses the engine passed here."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations_dir()))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
