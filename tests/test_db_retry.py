"""bot/store/db_retry.py on real database errors: what is transient, how it is retried, and when
not.

SQLite's lock (another connection holding the write lock past the busy timeout) and a
missing table need no server; a serialization failure and a connection killed under the
pool need PostgreSQL, so those run on the PostgreSQL leg only. The same SQLite lock also
plays a short outage under the pipeline (the whole outage, on PostgreSQL and with two
worker processes, is in test_db_outage.py).
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import OperationalError

from bot.chat import replies
from bot.config import Config
from bot.sandbox.emulator import SandboxServer
from bot.store.db import create_db_engine, session_factory, upgrade_database, write_transaction
from bot.store.db_retry import DatabaseUnavailable, describe, is_transient, retry_transient
from bot.store.models import Lease, utcnow
from bot.wxapi.client import WechatClient
from bot.wxapi.tokens import build_token_store
from tests.bot_on_loopback import CARD_REPLY, LoopbackBot, wait_until


def db_errors(step: str) -> float:
    return REGISTRY.get_sample_value("wxocr_db_errors_total", {"step": step}) or 0.0


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'retry.db'}"
    engine = create_db_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return url


def test_a_write_lock_held_past_the_busy_timeout_is_retried_until_the_time_is_up(
    sqlite_file: str,
) -> None:
    holder = create_db_engine(sqlite_file)
    impatient = create_db_engine(sqlite_file, busy_timeout_ms=20)
    tries = 0

    def write() -> None:
        nonlocal tries
        tries += 1
        with write_transaction(session_factory(impatient)) as session:
            session.execute(insert(Lease).values(name="x", holder="me", expires_at=utcnow()))

    before = db_errors("test-lock")
    try:
        with (
            write_transaction(session_factory(holder)),  # holds the write lock
            pytest.raises(DatabaseUnavailable) as raised,
        ):
            retry_transient("test-lock", write, until=time.monotonic() + 1.0)
        assert tries >= 2
        assert isinstance(raised.value.__cause__, OperationalError)
        assert is_transient(raised.value)  # through its cause: an outer step retries it too
        assert db_errors("test-lock") - before == tries
        # The lock is gone: the same call succeeds.
        retry_transient("test-lock", write, until=time.monotonic() + 10)
    finally:
        holder.dispose()
        impatient.dispose()


def test_an_error_that_no_retry_can_cure_is_raised_at_once(sqlite_file: str) -> None:
    engine = create_db_engine(sqlite_file)
    tries = 0

    def read_missing_table() -> None:
        nonlocal tries
        tries += 1
        with engine.connect() as connection:
            connection.execute(text("SELECT * FROM no_such_table"))

    before = db_errors("test-permanent")
    try:
        with pytest.raises(OperationalError) as raised:
            retry_transient("test-permanent", read_missing_table, until=time.monotonic() + 30)
    finally:
        engine.dispose()
    assert tries == 1
    assert not is_transient(raised.value)
    assert db_errors("test-permanent") == before
    assert describe(raised.value) == "OperationalError"  # never the statement or its values


def postgres_only(db_engine: Engine) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")


def test_a_serialization_failure_is_retried_and_the_transaction_succeeds(
    db_engine: Engine,
) -> None:
    postgres_only(db_engine)
    serializable = db_engine.execution_options(isolation_level="SERIALIZABLE")
    expires = utcnow() + timedelta(hours=1)
    tries = 0

    def add_lease_if_few() -> int:
        """Read-then-write; on the first try another transaction does the same meanwhile."""
        nonlocal tries
        tries += 1
        with serializable.connect() as mine, mine.begin():
            count = int(mine.scalar(select(func.count()).select_from(Lease)) or 0)
            if tries == 1:
                with serializable.connect() as other, other.begin():
                    other.scalar(select(func.count()).select_from(Lease))
                    other.execute(
                        insert(Lease).values(name="other", holder="o", expires_at=expires)
                    )
            mine.execute(insert(Lease).values(name=f"mine-{tries}", holder="m", expires_at=expires))
        return count

    before = db_errors("test-serialization")
    assert retry_transient("test-serialization", add_lease_if_few, until=time.monotonic() + 30) == 1
    assert tries == 2
    assert db_errors("test-serialization") - before == 1
    with db_engine.connect() as connection:
        names = set(connection.scalars(select(Lease.name)))
    assert names == {"other", "mine-2"}


def test_a_pooled_connection_killed_by_the_server_is_replaced_before_use(
    db_engine: Engine,
) -> None:
    postgres_only(db_engine)
    with db_engine.connect() as connection:  # back into the pool afterwards
        pooled = connection.scalar(text("SELECT pg_backend_pid()"))
    other_pool = create_db_engine(db_engine.url.render_as_string(hide_password=False))
    try:
        with other_pool.connect() as killer:
            assert killer.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pooled})
    finally:
        other_pool.dispose()
    # pool_pre_ping finds the dead connection at checkout: no error reaches the caller.
    with db_engine.connect() as connection:
        assert connection.scalar(text("SELECT pg_backend_pid()")) != pooled


class LockedOutBot:
    """A bot on SQLite whose database refuses writes while :meth:`locked` lasts.

    SQLite's write lock, held by another connection past the bot's short busy timeout, is
    the outage: reads still work, every claim and command fails.
    """

    def __init__(
        self, tmp_path: Path, sandbox: SandboxServer, http: httpx.Client, passive_budget_s: float
    ) -> None:
        url = f"sqlite:///{tmp_path / 'outage.db'}"
        self.engine = create_db_engine(url, busy_timeout_ms=20)
        upgrade_database(self.engine)
        self.locker = create_db_engine(url)
        sessions = session_factory(self.engine)
        config = Config(
            wechat={"api_base": sandbox.api_base},
            database={"url": url},
            sandbox=sandbox.app.settings,
        )
        store = build_token_store(config, http, sessions)
        store.ensure_valid()  # a token in hand, as a running worker has
        client = WechatClient(http, store, api_base=sandbox.api_base)
        self.bot = LoopbackBot(
            sandbox, url, sessions, client, http, passive_budget_s=passive_budget_s
        )

    def locked(self) -> AbstractContextManager[object]:
        return write_transaction(session_factory(self.locker))

    def close(self) -> None:
        self.bot.close()
        self.locker.dispose()
        self.engine.dispose()


def test_a_photo_the_database_refuses_to_claim_is_claimed_when_it_is_back(
    tmp_path: Path, sandbox: SandboxServer, http: httpx.Client
) -> None:
    outage = LockedOutBot(tmp_path, sandbox, http, passive_budget_s=1.0)
    bot, openid = outage.bot, "o-claimed-later"
    try:
        with outage.locked():
            answered = bot.push(bot.photo_fields(openid))
            assert answered.reply is None  # "success": WeChat does not retry
            bot.pipeline.resume()  # the scheduler's round while the database still refuses
        assert bot.messages(openid) == []
        bot.pipeline.resume()  # the next round, the database back
        sent = wait_until(lambda: bot.sent(openid))
        assert len(sent) == 1 and CARD_REPLY in sent[0]
        assert wait_until(lambda: [u.delivery for u in bot.usage(openid)] == ["custom"])
        assert [u.outcome for u in bot.usage(openid)] == ["ok"]
        bot.pipeline.resume()  # nothing is left to claim or send again
        assert wait_until(lambda: bot.messages(openid)[0].delivered_at is not None)
        assert len(bot.sent(openid)) == 1
    finally:
        outage.close()


def test_a_text_command_the_database_refuses_is_answered_busy_and_not_applied(
    tmp_path: Path, sandbox: SandboxServer, http: httpx.Client
) -> None:
    outage = LockedOutBot(tmp_path, sandbox, http, passive_budget_s=0.5)
    bot, openid = outage.bot, "o-command-refused"
    try:
        with outage.locked():
            assert bot.say(openid, "银行卡") == replies.service_busy()
        assert bot.usage(openid) == [] and bot.messages(openid) == []
        assert "银行卡" in (bot.say(openid, "银行卡") or "")  # sent again, it is applied
        assert [u.outcome for u in bot.usage(openid)] == ["command"]
    finally:
        outage.close()
