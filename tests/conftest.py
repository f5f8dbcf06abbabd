"""Shared fixtures: a migrated database, the WeChat API sandbox on loopback, free ports.

The database is a fresh SQLite file per test, or the PostgreSQL database named by
``WXOCR_TEST_DATABASE_URL`` (see scripts/with-postgres.sh), emptied before each test.
Under pytest-xdist (``make test`` runs both legs on two workers) each worker has a
database of its own on that server, so that no worker empties another's tables.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import httpx
import pytest
from sqlalchemy import Engine, MetaData, make_url, text

from bot.config import Config, SandboxConfig
from bot.sandbox.emulator import SandboxApp, SandboxServer
from bot.store.db import SessionFactory, create_db_engine, session_factory, upgrade_database
from bot.wxapi.client import RetryPolicy, TokenApi, WechatClient
from bot.wxapi.tokens import TokenStore, build_token_store
from tests import cpu_times
from tests.bot_on_loopback import LoopbackBot

TEST_DATABASE_ENV = "WXOCR_TEST_DATABASE_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    cpu_times.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db: exercises the database (also run on PostgreSQL)")
    config.addinivalue_line(
        "markers",
        "db_agnostic: a db test whose cost is the OCR and which checks nothing that depends"
        " on the database: what it writes (an access token, a usage row) the same code writes"
        " in db tests run on both; the PostgreSQL leg (-m 'db and not db_agnostic') leaves it out",
    )
    if cpu_times.wanted(config):  # --cpu-top N / --cpu-json FILE: where the time goes
        config.pluginmanager.register(
            cpu_times.CpuTimes(config.getoption("--cpu-top"), config.getoption("--cpu-json")),
            "cpu_times",
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Whatever reaches the database (directly or through another fixture) belongs to
    # the PostgreSQL leg too: nobody has to remember the marker.
    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def pytest_report_header() -> str | None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"xdist worker {worker}" if worker else None


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


@pytest.fixture(scope="session")
def server_database() -> str | None:
    """The database of ``WXOCR_TEST_DATABASE_URL``, or under pytest-xdist a database of
    this worker's own on the same server (``wxocr_test_gw0``...), created if missing:
    the workers run at the same time and each test empties its database first."""
    shared = os.environ.get(TEST_DATABASE_ENV)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not shared or not worker:
        return shared
    url = make_url(shared)
    name = f"{url.database}_{worker}"
    assert name.replace("_", "").isalnum(), name  # spliced into CREATE DATABASE below
    engine = create_db_engine(shared).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            known = text("SELECT 1 FROM pg_database WHERE datname = :name")
            if connection.execute(known, {"name": name}).first() is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def database_url(tmp_path: Path, server_database: str | None) -> str:
    """A database nobody else uses during this test (not migrated yet)."""
    if server_database:
        _empty_database(server_database)
        return server_database
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
def sandbox_settings() -> SandboxConfig:
    """Override in a test module to change what the sandbox fixture starts with."""
    return SandboxConfig()


@pytest.fixture
def sandbox(sandbox_settings: SandboxConfig) -> Iterator[SandboxServer]:
    """The WeChat API sandbox served by waitress on a free loopback port.

    Its OCR uses no engine unless a test sets ``sandbox.app.engine`` (see test_sandbox.py).
    """
    app = SandboxApp(sandbox_settings, engine_factory=None)
    server = SandboxServer(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    # Generous: the sandbox answers cv/ocr/* with the real local OCR, which took over 10 s
    # at a load average of 70 (tests/test_pipeline.py's photo without a card got "service
    # unavailable" after three timeouts). What the tests check is which way an answer goes,
    # never how fast it comes; a held call is released or times out in the sandbox first.
    with httpx.Client(timeout=300) as client:
        yield client


@pytest.fixture
def wechat_config(sandbox: SandboxServer, database_url: str, db_engine: Engine) -> Config:
    """Sandbox mode: the WeChat API is the sandbox fixture, the database the test one."""
    return Config(
        wechat={"api_base": sandbox.api_base, "timeout_s": 5.0},
        database={"url": database_url},
        sandbox=sandbox.app.settings,
    )


@pytest.fixture
def token_store(wechat_config: Config, http: httpx.Client, sessions: SessionFactory) -> TokenStore:
    return build_token_store(wechat_config, http, sessions)


@pytest.fixture
def wechat_client(
    wechat_config: Config, http: httpx.Client, token_store: TokenStore
) -> WechatClient:
    """A client on the sandbox with the real token store; short backoff keeps tests quick."""
    return WechatClient(
        http,
        token_store,
        api_base=wechat_config.api_base,
        retry=RetryPolicy(max_retries=2, backoff_s=0.01),
    )


def token_api_for(
    config: Config,
    http: httpx.Client,
    *,
    app_secret: str | None = None,
    mode: Literal["stable", "classic"] = "stable",
) -> TokenApi:
    """The token endpoint ``config`` names, with its app id and secret (or ``app_secret``)."""
    return TokenApi(
        http,
        api_base=config.api_base,
        app_id=config.app_id,
        app_secret=config.app_secret if app_secret is None else app_secret,
        mode=mode,
    )


MakeBot = Callable[..., LoopbackBot]


@pytest.fixture
def make_bot(
    sandbox: SandboxServer,
    database_url: str,
    sessions: SessionFactory,
    wechat_client: WechatClient,
    http: httpx.Client,
) -> Iterator[MakeBot]:
    """Bots on loopback over the test's sandbox and database, closed after the test;
    keyword arguments are pipeline settings (passive_budget_s, daily_limit...)."""
    made: list[LoopbackBot] = []

    def make(**pipeline: float) -> LoopbackBot:
        made.append(LoopbackBot(sandbox, database_url, sessions, wechat_client, http, **pipeline))
        return made[-1]

    yield make
    for bot in made:
        bot.close()
