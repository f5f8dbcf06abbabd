"""WeChat's retries of a text command (same MsgId): applied and counted once, answered alike.

The bot runs over real HTTP on loopback with the real database; WeChat's API is the
sandbox, which a text message never reaches.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text, update

from bot.chat import replies
from bot.chat.pipeline import PASSIVE_REPLY_KEPT_S
from bot.store.db import SQLITE_BEGIN_OPTION
from bot.store.models import Message, utcnow
from bot.tools.simulate import event_fields, new_msg_id, text_fields
from tests.bot_on_loopback import CARD_REPLY, OPERATOR, LoopbackBot
from tests.conftest import MakeBot

pytestmark = pytest.mark.db

BANK_CHOSEN = "好的，之后按银行卡识别，请发送银行卡照片"
DAILY_LIMIT = 2


@pytest.fixture
def bot(make_bot: MakeBot) -> LoopbackBot:
    return make_bot(daily_limit=DAILY_LIMIT)


@contextmanager
def database_write_lock(engine: Engine) -> Iterator[None]:
    """Another connection in a long write: SQLite's write lock, PostgreSQL's on ``message``."""
    with engine.connect() as connection:
        connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        transaction = connection.begin()
        if engine.dialect.name == "postgresql":
            connection.execute(text("LOCK TABLE message IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            transaction.rollback()


def test_a_retried_command_is_applied_and_counted_once(bot: LoopbackBot) -> None:
    user = "o-dedup-retry"
    choose_bank = text_fields(user, "银行卡", new_msg_id())
    first = bot.push(choose_bank).reply
    assert first == BANK_CHOSEN
    assert "身份证" in (bot.say(user, "身份证") or "")
    # WeChat did not get the first answer in time and sends the same message again.
    assert bot.push(choose_bank).reply == first
    # The retry did not choose the bank card again: the later choice stands.
    assert "当前：身份证" in (bot.say(user, "帮助") or "")
    rows = [(u.outcome, u.kind_asked, u.delivery) for u in bot.usage(user)]
    assert rows == [
        ("command", "bankcard", "passive"),
        ("command", "idcard", "passive"),
        ("command", None, "passive"),
    ]
    assert [(m.state, m.delivery) for m in bot.messages(user)] == [("done", "passive")] * 3


def test_a_retried_usage_report_is_the_first_report(bot: LoopbackBot) -> None:
    ask = text_fields(OPERATOR, "用量", new_msg_id())
    first = bot.push(ask).reply
    assert "暂无记录" in (first or "")
    # A photo is read before the retry comes: the retry still gets the first report.
    assert CARD_REPLY in (bot.push(bot.photo_fields("o-dedup-photo")).reply or "")
    assert bot.push(ask).reply == first
    # A new message is a new report.
    assert "共 1 次" in (bot.say(OPERATOR, "用量") or "")
    assert [u.outcome for u in bot.usage(OPERATOR)] == ["command", "command"]


def test_retries_arriving_while_the_first_is_in_flight_get_its_answer(
    bot: LoopbackBot, db_engine: Engine
) -> None:
    user = "o-dedup-inflight"
    fields = text_fields(user, "ＢＡＮＫ", new_msg_id())
    with ThreadPoolExecutor(3) as pool:
        with database_write_lock(db_engine):
            tries = [pool.submit(bot.push, fields) for _ in range(3)]
            time.sleep(0.5)  # lets the three reach the database while it is busy
        answers = [future.result(timeout=30).reply for future in tries]
    assert answers == [BANK_CHOSEN] * 3
    assert [(u.outcome, u.kind_asked) for u in bot.usage(user)] == [("command", "bankcard")]
    assert len(bot.messages(user)) == 1


def test_a_retry_after_the_answer_is_forgotten_gets_success_and_changes_nothing(
    bot: LoopbackBot,
) -> None:
    user = "o-dedup-late"
    choose_bank = text_fields(user, "银行卡", new_msg_id())
    assert bot.push(choose_bank).reply == BANK_CHOSEN
    assert "身份证" in (bot.say(user, "身份证") or "")
    # The first answer is older than the time passive answers are kept for retries.
    long_ago = utcnow() - timedelta(seconds=PASSIVE_REPLY_KEPT_S + 60)
    with bot.sessions() as session, session.begin():
        session.execute(update(Message).where(Message.openid == user).values(delivered_at=long_ago))
    bot.pipeline.resume()  # the scheduler job forgets old passive answers
    assert [m.reply_text for m in bot.messages(user)] == [None, None]
    retry = bot.push(choose_bank)
    assert (retry.reply, retry.body) == (None, "success")
    assert "当前：身份证" in (bot.say(user, "帮助") or "")
    assert len(bot.usage(user)) == 3


def test_commands_do_not_count_towards_the_daily_photo_limit(bot: LoopbackBot) -> None:
    user = "o-dedup-limit"
    for word in ("银行卡", "帮助", "用量", "auto"):
        assert bot.say(user, word)
    for _ in range(DAILY_LIMIT):
        assert CARD_REPLY in (bot.push(bot.photo_fields(user)).reply or "")
    limited = bot.photo_fields(user)
    assert bot.push(limited).reply == replies.daily_limit(DAILY_LIMIT)
    # Its retry is answered alike and not counted again.
    assert bot.push(limited).reply == replies.daily_limit(DAILY_LIMIT)
    rows = [(u.outcome, u.delivery) for u in bot.usage(user)]
    assert rows == [("command", "passive")] * 4 + [("ok", "passive")] * 2 + [("limited", "passive")]


def test_subscribe_retries_write_nothing(bot: LoopbackBot) -> None:
    # Events write no usage row, so a retry is simply welcomed again.
    fields = event_fields("o-dedup-subscribe", "subscribe")
    assert "欢迎关注" in (bot.push(fields).reply or "")
    assert "欢迎关注" in (bot.push(fields).reply or "")
    assert bot.usage("o-dedup-subscribe") == []
    assert bot.messages("o-dedup-subscribe") == []
