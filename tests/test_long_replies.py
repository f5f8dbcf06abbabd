"""Replies over WeChat's 2,048-byte text limit: split into at most five messages.

The splitting itself is pure (``replies.split_reply``); the rest runs the bot on loopback
with the real database, its WeChat the sandbox, whose OCR double answers ``cv/ocr/comm``
with a page far longer than one message: the passive reply is the first part, the
continuations arrive as customer-service messages in order, the last ending with the
truncation marker, and a worker that stopped between two sends is resumed with the next.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.chat.pipeline import PhotoRequest
from bot.chat.replies import (
    MAX_REPLY_MESSAGES,
    MESSAGE_MAX_BYTES,
    TRUNCATED,
    card_result,
    split_reply,
)
from bot.sandbox.emulator import FaultRule
from bot.store.db import write_transaction
from bot.store.models import Delivery, Message, MessageState, claim_message, utcnow
from ocr.engine import AUTO, CardResult, Kind, Mode
from ocr.errors import NoCardFound
from tests.bot_on_loopback import MEDIA_GET, PHOTO, LoopbackBot, wait_until
from tests.conftest import MakeBot


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def page_lines(count: int) -> list[str]:
    """Distinct lines of Chinese text (3 bytes a character), numbered to tell them apart."""
    return [f"第{i:03d}行：这是一段很长的印刷文字，用来检查长回复的拆分。" for i in range(count)]


# ---------------------------------------------------------------- splitting


def test_a_reply_within_the_limit_is_one_message() -> None:
    text = "识别结果：文字\n" + "\n".join(page_lines(3))
    assert split_reply(text) == [text]


def test_a_long_reply_is_split_at_line_boundaries_within_the_byte_limit() -> None:
    lines = page_lines(60)  # about 5,000 bytes: three messages
    parts = split_reply("\n".join(lines))
    assert 2 <= len(parts) <= MAX_REPLY_MESSAGES
    assert all(_bytes(part) <= MESSAGE_MAX_BYTES for part in parts)
    # Nothing lost, nothing cut inside a line, nothing marked as truncated.
    assert [line for part in parts for line in part.split("\n")] == lines
    assert not parts[-1].endswith(TRUNCATED)


def test_a_line_longer_than_a_message_is_cut_between_characters() -> None:
    # 1,000 four-byte characters: no cut may fall inside one (UTF-8 would break).
    line = "𠀀" * 1000
    parts = split_reply(f"标题\n{line}")
    assert all(_bytes(part) <= MESSAGE_MAX_BYTES for part in parts)
    assert "".join(part.replace("\n", "") for part in parts) == "标题" + line
    assert all(part.encode("utf-8").decode("utf-8") == part for part in parts)


def test_a_reply_too_long_for_five_messages_ends_with_the_marker() -> None:
    lines = page_lines(400)  # about 34,000 bytes
    parts = split_reply("\n".join(lines))
    assert len(parts) == MAX_REPLY_MESSAGES
    assert all(_bytes(part) <= MESSAGE_MAX_BYTES for part in parts)
    assert parts[-1].endswith("\n" + TRUNCATED)
    sent = [line for part in parts for line in part.split("\n")][:-1]
    assert sent == lines[: len(sent)]  # a prefix of the page, in order, whole lines


def test_the_marker_fits_when_the_last_message_is_one_long_line() -> None:
    parts = split_reply("字" * 20_000)
    assert len(parts) == MAX_REPLY_MESSAGES
    assert _bytes(parts[-1]) <= MESSAGE_MAX_BYTES
    assert parts[-1].endswith(TRUNCATED)


# ---------------------------------------------------------------- through the bot

IN_TIME_S = 60.0
USER_PASSIVE = "o-long-passive"
USER_LATE = "o-long-late"
USER_RESUMED = "o-long-resumed"
LONG_PAGE = "\n".join(page_lines(400))


class WechatLongPageOcr:
    """WeChat's cv/ocr double: a long page of printed text, and no card of any kind."""

    name = "wechat-double"

    def recognize(self, image: bytes, kind: Kind = AUTO, mode: Mode = "photo") -> CardResult:
        if kind != "text":
            raise NoCardFound("not a card")
        return CardResult(kind="text", fields={"text": LONG_PAGE}, engine="wechat")


def long_reply() -> list[str]:
    """The messages the bot should send for LONG_PAGE, in order."""
    parts = split_reply(card_result(CardResult("text", {"text": LONG_PAGE})))
    assert len(parts) == MAX_REPLY_MESSAGES and parts[-1].endswith(TRUNCATED)
    return parts


@pytest.fixture
def text_bot(make_bot: MakeBot) -> LoopbackBot:
    bot = make_bot()
    bot.sandbox.app.engine = WechatLongPageOcr()
    return bot


@pytest.mark.db
def test_a_long_reply_goes_out_as_the_passive_answer_and_its_continuations(
    text_bot: LoopbackBot,
) -> None:
    expected = long_reply()
    media_id = text_bot.sandbox.app.upload(PHOTO)
    request = PhotoRequest(
        key="msg:o-long-passive:1",
        openid=USER_PASSIVE,
        media_id=media_id,
        pic_url=f"{text_bot.sandbox.api_base}/mmbiz/{media_id}",
        kind="text",
    )
    # A generous deadline (WeChat's is 5 s): what is tested is how a long passive answer
    # goes out, not how fast a busy machine answers.
    passive = text_bot.pipeline.handle_photo(request, time.monotonic() + IN_TIME_S)
    assert passive == expected[0]
    assert wait_until(lambda: len(text_bot.sent(USER_PASSIVE)) >= len(expected) - 1, 60)
    assert text_bot.sent(USER_PASSIVE) == expected[1:]
    assert text_bot.sent(USER_PASSIVE)[-1].endswith(TRUNCATED)
    (usage,) = text_bot.usage(USER_PASSIVE)
    assert (usage.kind_detected, usage.delivery) == ("text", Delivery.PASSIVE)
    assert wait_until(lambda: text_bot.messages(USER_PASSIVE)[-1].delivered_at is not None)
    (message,) = text_bot.messages(USER_PASSIVE)
    assert (message.parts_sent, message.delivery) == (len(expected), Delivery.PASSIVE)
    # WeChat's retry of the photo (our answer did not reach it) gets the first part again.
    again = text_bot.pipeline.handle_photo(request, time.monotonic() + IN_TIME_S)
    assert again == expected[0]
    assert len(text_bot.sent(USER_PASSIVE)) == len(expected) - 1


@pytest.mark.db
def test_a_late_long_reply_goes_out_as_customer_service_messages_in_order(
    make_bot: MakeBot,
) -> None:
    bot = make_bot(passive_budget_s=1.0)
    bot.sandbox.app.engine = WechatLongPageOcr()
    expected = long_reply()
    assert bot.say(USER_LATE, "文字") is not None
    bot.sandbox.app.add_fault(FaultRule(path_prefix=MEDIA_GET, latency_ms=1500, remaining=1))
    assert bot.push(bot.photo_fields(USER_LATE)).reply is None  # the result comes later
    assert wait_until(lambda: len(bot.sent(USER_LATE)) >= len(expected), 60)
    assert bot.sent(USER_LATE) == expected
    assert bot.usage(USER_LATE)[-1].delivery == Delivery.CUSTOM


@pytest.mark.db
def test_a_long_reply_cut_short_by_a_stopped_worker_resumes_with_the_next_message(
    text_bot: LoopbackBot,
) -> None:
    """The state a worker leaves when it stops after sending two of the five messages:
    another worker's scheduler round sends the last three, and only those."""
    expected = long_reply()
    now = utcnow()
    with write_transaction(text_bot.sessions) as session:
        claim = claim_message(session, "msg:o-long-resumed:1", USER_RESUMED, kind_asked="text")
        session.flush()
        session.execute(
            update(Message)
            .where(Message.id == claim.message.id)
            .values(
                state=MessageState.DONE.value,
                outcome="ok",
                reply_text=card_result(CardResult("text", {"text": LONG_PAGE})),
                delivery=Delivery.CUSTOM.value,
                parts_sent=2,
                lease_until=now - timedelta(seconds=1),
                next_attempt_at=now - timedelta(seconds=1),
            )
        )
    text_bot.pipeline.resume()
    assert wait_until(lambda: len(text_bot.sent(USER_RESUMED)) >= 3, 60)
    assert text_bot.sent(USER_RESUMED) == expected[2:]
    assert wait_until(lambda: text_bot.messages(USER_RESUMED)[-1].delivered_at is not None)
    (message,) = text_bot.messages(USER_RESUMED)
    assert (message.parts_sent, message.reply_text) == (MAX_REPLY_MESSAGES, None)
