"""``usage.delivery`` says how each reply went out: passive, customer-service, or given up.

The bot runs over real HTTP on loopback with the real database; WeChat's API (media,
OCR, customer-service messages) is the sandbox, where its failures are injected.
"""

from __future__ import annotations

import httpx
import pytest
from alembic import command
from sqlalchemy import Engine, text

from bot.operators.usage import GroupBy, UsageFilters, query_usage
from bot.sandbox.emulator import FaultRule
from bot.store.db import alembic_config, create_db_engine, upgrade_database
from bot.store.models import Delivery
from tests.admin_server import TOKEN as ADMIN_TOKEN
from tests.admin_server import serve_admin
from tests.bot_on_loopback import (
    CARD_REPLY,
    CUSTOM_SEND,
    MEDIA_GET,
    LoopbackBot,
    wait_until,
)
from tests.conftest import MakeBot

pytestmark = pytest.mark.db


@pytest.fixture
def late_bot(make_bot: MakeBot) -> LoopbackBot:
    """A short passive budget, so that a slow media/get makes the result late."""
    return make_bot(passive_budget_s=1.0)


def send_late_photo(bot: LoopbackBot, openid: str) -> None:
    bot.sandbox.app.add_fault(FaultRule(path_prefix=MEDIA_GET, latency_ms=1500, remaining=1))
    answer = bot.push(bot.photo_fields(openid))
    assert (answer.reply, answer.body) == (None, "success")  # the result comes later


def deliveries(bot: LoopbackBot, openid: str) -> list[tuple[str, str | None]]:
    return [(u.outcome, u.delivery) for u in bot.usage(openid)]


def test_a_passive_answer_is_recorded_as_passive(make_bot: MakeBot) -> None:
    bot = make_bot()
    user = "o-delivery-passive"
    photo = bot.photo_fields(user)
    first = bot.push(photo).reply
    assert CARD_REPLY in (first or "")
    # WeChat's retry (our answer did not reach it) is answered again, not counted again.
    assert bot.push(photo).reply == first
    (usage,) = bot.usage(user)
    assert (usage.outcome, usage.delivery) == ("ok", Delivery.PASSIVE)
    (message,) = bot.messages(user)
    assert (message.delivery, message.usage_id) == (Delivery.PASSIVE, usage.id)
    assert bot.sent(user) == []


def test_a_late_result_is_recorded_as_a_customer_service_message(late_bot: LoopbackBot) -> None:
    user = "o-delivery-custom"
    send_late_photo(late_bot, user)
    sent = wait_until(lambda: late_bot.sent(user))
    assert len(sent) == 1 and CARD_REPLY in sent[0]
    wait_until(lambda: deliveries(late_bot, user) == [("ok", "custom")])
    assert deliveries(late_bot, user) == [("ok", "custom")]
    (message,) = late_bot.messages(user)
    assert (message.state, message.delivery, message.reply_text) == ("done", "custom", None)


def test_reply_window_closed_45015_is_recorded_as_failed(late_bot: LoopbackBot) -> None:
    user = "o-delivery-45015"
    late_bot.sandbox.app.add_fault(FaultRule(path_prefix=CUSTOM_SEND, errcode=45015))
    send_late_photo(late_bot, user)
    wait_until(lambda: [m.state for m in late_bot.messages(user)] == ["failed"])
    (message,) = late_bot.messages(user)
    assert (message.state, message.last_errcode, message.reply_text) == ("failed", 45015, None)
    # The OCR went well (outcome ok, no errcode of its own); the reply never reached the user.
    (usage,) = late_bot.usage(user)
    assert (usage.outcome, usage.errcode, usage.delivery) == ("ok", None, Delivery.FAILED)
    assert late_bot.sent(user) == []


def test_a_send_failing_for_a_while_stays_undelivered_until_it_is_sent(
    late_bot: LoopbackBot,
) -> None:
    user = "o-delivery-retried"
    # The client retries twice itself: three failed calls make one failed attempt.
    late_bot.sandbox.app.add_fault(FaultRule(path_prefix=CUSTOM_SEND, http_status=500, remaining=3))
    send_late_photo(late_bot, user)
    wait_until(lambda: [m.last_errcode for m in late_bot.messages(user)] != [None])
    (message,) = late_bot.messages(user)
    assert (message.state, message.delivery_attempts) == ("done", 1)
    # Neither delivered nor given up yet.
    assert deliveries(late_bot, user) == [("ok", None)]

    def sent_by_the_scheduler() -> bool:
        late_bot.pipeline.resume()  # the scheduler job, due after the back-off
        return deliveries(late_bot, user) == [("ok", "custom")]

    assert wait_until(sent_by_the_scheduler, step=0.2)
    assert len(late_bot.sent(user)) == 1
    (message,) = late_bot.messages(user)
    assert (message.delivery, message.delivery_attempts) == ("custom", 2)


def test_operators_see_figures_by_delivery(late_bot: LoopbackBot) -> None:
    user = "o-delivery-figures"
    late_bot.sandbox.app.add_fault(FaultRule(path_prefix=CUSTOM_SEND, errcode=45015))
    send_late_photo(late_bot, user)
    wait_until(lambda: deliveries(late_bot, user) == [("ok", "failed")])
    assert late_bot.say(user, "帮助")  # a command: passive, but not a photo figure
    with serve_admin(late_bot.sessions) as admin:
        answer = httpx.get(
            f"{admin}/usage.json",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            params={"group_by": "user,delivery", "user": user},
        )
    assert answer.status_code == 200
    assert [(g["delivery"], g["count"]) for g in answer.json()] == [("failed", 1)]
    with late_bot.sessions() as session:
        commands = UsageFilters(openid=user, outcome="command")
        by_delivery = query_usage(session, commands, (GroupBy.DELIVERY,), latency=False)
        assert [(g.keys, g.count) for g in by_delivery] == [({"delivery": "passive"}, 1)]


def test_usage_id_migration_keeps_rows_and_goes_both_ways(database_url: str) -> None:
    engine: Engine = create_db_engine(database_url)
    try:
        upgrade_database(engine, "0001")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO message (msg_key, openid, state, created_at, updated_at,"
                    " delivery_attempts) VALUES ('msg:1', 'o-old', 'done',"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0)"
                )
            )
        upgrade_database(engine, "0002")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT msg_key, usage_id FROM message")).all()
        assert [tuple(row) for row in rows] == [("msg:1", None)]
        command.downgrade(alembic_config(engine), "0001")
        with engine.connect() as connection:
            columns = connection.execute(text("SELECT * FROM message")).keys()
        assert "usage_id" not in columns and "msg_key" in columns
    finally:
        engine.dispose()
