"""Issue 13: one user's MsgId must never bring them another user's answer.

WeChat's MsgIds are unique per account, but its docs, wechatpy and werobot all use
``1234567890123456`` in their samples and replay tools reuse ids. The bot runs over real
HTTP on loopback with the real database; WeChat's API is the sandbox.
"""

from __future__ import annotations

import pytest

from bot.chat import replies
from bot.tools.simulate import image_fields, text_fields
from ocr.errors import NotAnImage
from tests.bot_on_loopback import CARD_REPLY, LoopbackBot
from tests.conftest import MakeBot

pytestmark = pytest.mark.db

SAMPLE_MSGID = 1234567890123456  # the MsgId of WeChat's, wechatpy's and werobot's samples


@pytest.fixture
def bot(make_bot: MakeBot) -> LoopbackBot:
    return make_bot()


def test_same_msgid_from_two_users_gets_two_photo_answers(bot: LoopbackBot) -> None:
    first = bot.photo_fields("o-msgid-a")
    first["MsgId"] = SAMPLE_MSGID
    assert CARD_REPLY in (bot.push(first).reply or "")
    # User B's photo is not a picture at all: its answer must be B's own, not A's card.
    media_id = bot.sandbox.app.upload(b"plain text, not an image", "image/jpeg")
    second = image_fields("o-msgid-b", media_id, "", SAMPLE_MSGID)
    answer = bot.push(second).reply
    assert answer == replies.bad_image(NotAnImage("not an image"))
    assert CARD_REPLY not in (answer or "")
    assert [u.outcome for u in bot.usage("o-msgid-a")] == ["ok"]
    assert [(u.outcome, u.error_code) for u in bot.usage("o-msgid-b")] == [
        ("bad_image", "not_image")
    ]


def test_same_msgid_from_two_users_gets_two_command_answers(bot: LoopbackBot) -> None:
    bank = bot.push(text_fields("o-msgid-c", "银行卡", SAMPLE_MSGID)).reply
    idcard = bot.push(text_fields("o-msgid-d", "身份证", SAMPLE_MSGID)).reply
    assert bank is not None and "银行卡" in bank
    assert idcard is not None and "身份证" in idcard and idcard != bank
    # The second user's command was applied, not answered from the first one's row.
    assert "当前：身份证" in (bot.say("o-msgid-d", "帮助") or "")
    assert "当前：银行卡" in (bot.say("o-msgid-c", "帮助") or "")
