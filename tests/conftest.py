"""Shared fixtures: a migrated database, the WeChat API sandbox on loopback, free ports.

The database is a fresh SQLite file per test, or the PostgreSQL database named by
``WXOCR_TEST_DATABASE_URL`` (see scripts/with-postgres.sh), emptied before each test.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, MetaData

from bot.db import SessionFactory, create_db_engine, session_factory, upgrade_database

TEST_DATABASE_ENV = "WXOCR_TEST_DATABASE_URL"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db: exercises the database (also run on PostgreSQL)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _empty_database(url: str) -> None:
    engine = create_db_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        metadata.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A database nobody else uses during this test (not migrated yet)."""
    shared = os.environ.get(TEST_DATABASE_ENV)
    if shared:
        _empty_database(shared)
        return shared
    return f"sqlite:///{tmp_path / 'wxocr.db'}"


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    """An Engine on a database migrated to the head revision."""
    engine = create_db_engine(database_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(db_engine: Engine) -> SessionFactory:
    return session_factory(db_engine)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client
