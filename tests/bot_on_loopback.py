"""The bot's webhook on a loopback port, its WeChat API the sandbox (also on loopback).

Everything between the two is ours and real: webhook, handlers, pipeline, database, the
``wechat`` OCR engine calling the sandbox's cv/ocr. The sandbox answers cv/ocr with one
fixed bank card (WeChat's part is the one faked), so no test waits for the local OCR.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import select

from bot.chat.handlers import Handlers
from bot.chat.pipeline import Pipeline, WechatMedia
from bot.config import Config
from bot.sandbox.emulator import SandboxServer
from bot.serving.app import build_app
from bot.serving.engines import build_engine
from bot.store.db import SessionFactory
from bot.store.models import Message, Usage
from bot.tools.simulate import PushOutcome, WechatPusher, image_fields, new_msg_id, text_fields
from bot.wxapi.client import WechatClient
from ocr.engine import AUTO, CardResult, Engine, Kind, Mode
from ocr.errors import NoCardFound
from ocr.mask import mask_card_number
from tests.test_webhook import LoopbackServer

TOKEN = "loopback-bot-token"
OPERATOR = "o-operator"
CARD_NUMBER = "6222021234567890128"  # Luhn-valid, synthetic
CARD_REPLY = mask_card_number(CARD_NUMBER)
MEDIA_GET = "/cgi-bin/media/get"
CUSTOM_SEND = "/cgi-bin/message/custom/send"


class WechatBankCardOcr:
    """What the sandbox's cv/ocr answers: the same bank card for every photo."""

    name = "wechat-double"

    def recognize(self, image: bytes, kind: Kind = AUTO, mode: Mode = "photo") -> CardResult:
        if kind == "idcard":
            raise NoCardFound("not an ID card")
        return CardResult(kind="bankcard", fields={"number": CARD_NUMBER}, engine="wechat")


def _photo() -> bytes:
    """A small real JPEG: WeChat's OCR double does not look at it, our validation does."""
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (200, 180, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


PHOTO = _photo()


class LoopbackBot:
    """One bot process's parts, served over HTTP; the sandbox is its WeChat."""

    def __init__(
        self,
        sandbox: SandboxServer,
        database_url: str,
        sessions: SessionFactory,
        client: WechatClient,
        http: httpx.Client,
        **pipeline: float,
    ) -> None:
        sandbox.app.engine = WechatBankCardOcr()
        self.sandbox = sandbox
        self.sessions = sessions
        self.config = Config(
            server={"path": "/wechat", "threads": 8, "timestamp_tolerance_s": 60},
            wechat={"token": TOKEN, "api_base": sandbox.api_base, "timeout_s": 5.0},
            database={"url": database_url},
            sandbox=sandbox.app.settings,
            ocr={"engine": "wechat", "threads": 1},
            operators={"openids": [OPERATOR]},
            pipeline={"passive_budget_s": 4.0, "daily_limit": 0, **pipeline},
        )

        def engine() -> Engine:
            return build_engine(self.config, client=client)

        self.pipeline = Pipeline(
            self.config,
            sessions,
            WechatMedia.from_config(self.config, client, http),
            client,
            engine,
        )
        reply = Handlers(self.config, sessions, self.pipeline).reply
        self.server = LoopbackServer(build_app(self.config, reply))
        self.pusher = WechatPusher(url=self.server.base + "/wechat", token=TOKEN)

    def close(self) -> None:
        self.pusher.client.close()
        self.server.close()
        self.pipeline.close()

    # ------------------------------------------------------------ what a user does

    def push(self, fields: dict[str, str | int]) -> PushOutcome:
        """One delivery of a push, as WeChat sends it; ``reply`` None means ``success``."""
        response = self.pusher.push(fields)
        assert response.status_code == 200, response.text
        return PushOutcome(
            tries=1,
            status=200,
            reply=self.pusher.reply_content(response),
            seconds=None,
            body=response.text,
        )

    def say(self, openid: str, text: str) -> str | None:
        return self.push(text_fields(openid, text, new_msg_id())).reply

    def photo_fields(self, openid: str) -> dict[str, str | int]:
        media_id = self.sandbox.app.upload(PHOTO)
        pic_url = f"{self.sandbox.api_base}/mmbiz/{media_id}"
        return image_fields(openid, media_id, pic_url, new_msg_id())

    def sent(self, openid: str) -> list[str]:
        """The customer-service messages WeChat accepted for ``openid``."""
        return [m.content for m in self.sandbox.app.messages_for(openid)]

    # ------------------------------------------------------------ what the database says

    def usage(self, openid: str) -> list[Usage]:
        with self.sessions() as session:
            statement = select(Usage).where(Usage.openid == openid).order_by(Usage.id)
            return list(session.scalars(statement))

    def messages(self, openid: str) -> list[Message]:
        with self.sessions() as session:
            statement = select(Message).where(Message.openid == openid).order_by(Message.id)
            return list(session.scalars(statement))


def wait_until(condition: Callable[[], Any], timeout_s: float = 20.0, *, step: float = 0.05) -> Any:
    """Poll ``condition`` until it is truthy; its last value either way."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)
