"""The webhook over real HTTP on loopback: signatures, safe mode, hostile input, commands."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werobot.utils import get_signature

from bot.chat.handlers import Handlers
from bot.chat.pipeline import Pipeline
from bot.config import Config
from bot.serving.app import Router, build_app, passive_deadline, signature_matches
from bot.store.db import SessionFactory
from bot.tools.simulate import (
    WechatPusher,
    event_fields,
    message_xml,
    new_msg_id,
    text_fields,
)
from ocr.engine import AUTO, CardResult, Engine, Kind, Mode

TOKEN = "webhook-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPERATOR = "o-operator"
USER = "o-user"


class UnexpectedCall(AssertionError):
    pass


class NoWechatCalls:
    """Text messages must never reach the WeChat API or the OCR: fail loudly if they do."""

    name = "unexpected"

    def download(self, media_id: str, pic_url: str) -> bytes:
        raise UnexpectedCall("media download")

    def send_text(self, openid: str, content: str) -> None:
        raise UnexpectedCall("custom message")

    def recognize(self, image: bytes, kind: Kind = AUTO, mode: Mode = "photo") -> CardResult:
        raise UnexpectedCall("OCR")


def make_config(database_url: str, *, safe: bool = False, max_body: int = 4096) -> Config:
    return Config(
        server={"path": "/wechat", "max_body_bytes": max_body, "timestamp_tolerance_s": 60},
        wechat={"token": TOKEN, "encoding_aes_key": AES_KEY if safe else ""},
        database={"url": database_url},
        operators={"openids": [OPERATOR]},
    )


def make_app(config: Config, sessions: SessionFactory) -> tuple[Router, Pipeline]:
    fake = NoWechatCalls()

    def engine() -> Engine:
        return fake

    pipeline = Pipeline(config, sessions, fake, fake, engine)
    return build_app(config, Handlers(config, sessions, pipeline).reply), pipeline


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class LoopbackServer:
    """The app served over real HTTP on 127.0.0.1, one thread per request.

    (The e2e tests run the real waitress server; waitress has no clean in-process stop.)
    """

    def __init__(self, app: Any) -> None:
        self.server = make_server(
            "127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def plain(database_url: str, sessions: SessionFactory) -> Iterator[tuple[WechatPusher, str]]:
    config = make_config(database_url)
    app, pipeline = make_app(config, sessions)
    server = LoopbackServer(app)
    pusher = WechatPusher(url=server.base + "/wechat", token=TOKEN)
    yield pusher, server.base
    pusher.client.close()
    server.close()
    pipeline.close()


@pytest.fixture
def safe(database_url: str, sessions: SessionFactory) -> Iterator[WechatPusher]:
    config = make_config(database_url, safe=True)
    app, pipeline = make_app(config, sessions)
    server = LoopbackServer(app)
    pusher = WechatPusher(
        url=server.base + "/wechat", token=TOKEN, app_id=config.app_id, encoding_aes_key=AES_KEY
    )
    yield pusher
    pusher.client.close()
    server.close()
    pipeline.close()


def say(pusher: WechatPusher, text: str, openid: str = USER) -> str | None:
    response = pusher.push(text_fields(openid, text, new_msg_id()))
    assert response.status_code == 200
    return pusher.reply_content(response)


# ---------------------------------------------------------------- signatures


def test_url_verification_echoes_echostr(plain: tuple[WechatPusher, str]) -> None:
    pusher, _ = plain
    ts, nonce = str(int(time.time())), "12345"
    query = {"signature": get_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    response = httpx.get(pusher.url, params={**query, "echostr": "hello123"})
    assert response.status_code == 200
    assert response.text == "hello123"
    forged = httpx.get(pusher.url, params={**query, "signature": "0" * 40, "echostr": "x"})
    assert forged.status_code == 403
    assert "x" not in forged.text


@pytest.mark.parametrize(("clock_off_s", "direction"), [(3600, "ahead of"), (-600, "behind")])
def test_url_verification_with_a_skewed_clock_names_the_skew(
    plain: tuple[WechatPusher, str],
    caplog: pytest.LogCaptureFixture,
    clock_off_s: int,
    direction: str,
) -> None:
    """Issue 13: with the clock off, the console's first check failed with no word of why."""
    pusher, _ = plain
    ts, nonce = str(int(time.time()) - clock_off_s), "12345"
    query = {"signature": get_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    with caplog.at_level(logging.WARNING, logger="bot.serving.app"):
        response = httpx.get(pusher.url, params={**query, "echostr": "hello123"})
    assert response.status_code == 200
    assert response.text == "hello123"
    (line,) = [r.getMessage() for r in caplog.records if r.name == "bot.serving.app"]
    seconds = int(re.search(r"clock is (\d+) s", line).group(1))  # type: ignore[union-attr]
    assert abs(seconds - abs(clock_off_s)) <= 5
    assert direction in line and "NTP" in line
    # The replay window still holds for messages.
    url, body = pusher.signed_request(message_xml(text_fields(USER, "帮助", 1)), timestamp=int(ts))
    assert httpx.post(url, content=body).text == "stale_timestamp"


def test_signature_matches_only_the_right_signature() -> None:
    good = get_signature(TOKEN, "1", "2")
    assert signature_matches(TOKEN, good, "1", "2")
    assert not signature_matches(TOKEN, good.upper(), "1", "2")
    assert not signature_matches(TOKEN, good, "1", "3")
    assert not signature_matches(TOKEN, "", "1", "2")
    assert not signature_matches(TOKEN, good, "", "2")


@pytest.mark.parametrize(
    ("sent_ago", "deadline"),
    [(0.0, 104.0), (0.9, 103.1), (2.5, 101.5), (4.0, 100.0), (30.0, 100.0), (-2.0, 104.0)],
)
def test_time_spent_before_we_saw_a_push_comes_off_the_budget(
    sent_ago: float, deadline: float
) -> None:
    # received at monotonic 100.0; WeChat signed the push sent_ago seconds before "now".
    assert passive_deadline(4.0, 1_700_000_000, 100.0, 1_700_000_000 + sent_ago) == pytest.approx(
        deadline
    )


def test_post_with_bad_signature_is_rejected(plain: tuple[WechatPusher, str]) -> None:
    pusher, _ = plain
    forged = WechatPusher(url=pusher.url, token="not-the-token")
    response = forged.push(text_fields(USER, "帮助", new_msg_id()))
    assert response.status_code == 403


def test_replayed_request_with_old_timestamp_is_rejected(plain: tuple[WechatPusher, str]) -> None:
    pusher, _ = plain
    old = int(time.time()) - 3600
    url, body = pusher.signed_request(message_xml(text_fields(USER, "帮助", 1)), timestamp=old)
    response = httpx.post(url, content=body)
    assert response.status_code == 403
    assert response.text == "stale_timestamp"


# ---------------------------------------------------------------- hostile bodies


def test_oversized_body_is_rejected(plain: tuple[WechatPusher, str]) -> None:
    pusher, _ = plain
    fields = text_fields(USER, "帮" * 5000, new_msg_id())
    response = pusher.push(fields)
    assert response.status_code == 413


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    "<xml><ToUserName>x</ToUserName><FromUserName>o-user</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&c;</Content><MsgId>1</MsgId></xml>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>x</ToUserName><FromUserName>o-user</FromUserName><CreateTime>1</CreateTime>"
    "<MsgType>text</MsgType><Content>&x;</Content><MsgId>2</MsgId></xml>"
)


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, XXE.replace("DOCTYPE", "doctype")])
def test_xml_with_entity_declarations_is_rejected(
    plain: tuple[WechatPusher, str], body: str
) -> None:
    pusher, _ = plain
    url, _ = pusher.signed_request("")
    response = httpx.post(url, content=body.encode())
    assert response.status_code == 400
    assert response.text == "xml_entities"
    assert "root:" not in response.text


def test_a_user_may_type_a_doctype_in_a_message(plain: tuple[WechatPusher, str]) -> None:
    pusher, _ = plain
    reply = say(pusher, '<!DOCTYPE x [<!ENTITY a "b">]> &a; ]]> <xml>')
    assert "当前：" in (reply or "")  # not a command: the help text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<?xml version='1.0'?><!-- hi --><xml><MsgType>text</MsgType></xml>", "xml_entities"),
        (b"not xml at all", "bad_xml"),
        (b"<xml><ToUserName>x</ToUserName>", "bad_xml"),
        (b"<other>1</other>", "bad_xml"),
        (b"<xml><FromUserName>o</FromUserName></xml>", "bad_message"),
        (b"", "empty_body"),
    ],
)
def test_malformed_bodies_get_a_4xx(
    plain: tuple[WechatPusher, str], body: bytes, code: str
) -> None:
    pusher, _ = plain
    url, _ = pusher.signed_request("")
    response = httpx.post(url, content=body)
    assert response.status_code == 400
    assert response.text == code


# ---------------------------------------------------------------- conversation


def test_commands_choose_a_kind_that_sticks(plain: tuple[WechatPusher, str]) -> None:
    pusher, _ = plain
    assert "当前：自动识别" in (say(pusher, "帮助") or "")
    assert say(pusher, "ＢＡＮＫ ＣＡＲＤ") == "好的，之后按银行卡识别，请发送银行卡照片"
    assert "当前：银行卡" in (say(pusher, "help") or "")
    assert "身份证" in (say(pusher, "身份证") or "")
    assert "当前：身份证" in (say(pusher, "你好") or "")
    assert "自动" in (say(pusher, "auto") or "")
    # Another user's choice is their own.
    assert "当前：自动识别" in (say(pusher, "?", openid="o-other") or "")


def test_usage_is_for_operators_only(plain: tuple[WechatPusher, str]) -> None:
    pusher, _ = plain
    assert "当前：" in (say(pusher, "用量") or "")
    assert "暂无记录" in (say(pusher, "用量", openid=OPERATOR) or "")
    # Text commands are not photos: the report counts photos only.
    assert "暂无记录" in (say(pusher, "usage 7d", openid=OPERATOR) or "")


def test_subscribe_gets_a_welcome_and_unsubscribe_nothing(
    plain: tuple[WechatPusher, str],
) -> None:
    pusher, _ = plain
    welcome = pusher.push(event_fields(USER, "subscribe"))
    assert "欢迎关注" in (pusher.reply_content(welcome) or "")
    goodbye = pusher.push(event_fields(USER, "unsubscribe"))
    assert goodbye.status_code == 200
    assert goodbye.text == "success"


@pytest.mark.parametrize("msg_type", ["voice", "location", "video", "something_new"])
def test_unsupported_messages_get_a_polite_text(
    plain: tuple[WechatPusher, str], msg_type: str
) -> None:
    pusher, _ = plain
    fields = text_fields(USER, "", new_msg_id())
    fields["MsgType"] = msg_type
    response = pusher.push(fields)
    assert response.status_code == 200
    assert "照片" in (pusher.reply_content(response) or "")


def test_healthz_and_unknown_paths(plain: tuple[WechatPusher, str]) -> None:
    _, base = plain
    health = httpx.get(base + "/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert httpx.get(base + "/nothing-here").status_code == 404


# ---------------------------------------------------------------- safe mode


def test_safe_mode_round_trip(safe: WechatPusher) -> None:
    response = safe.push(text_fields(USER, "银行卡", new_msg_id()))
    assert response.status_code == 200
    assert "<Encrypt>" in response.text
    assert "银行卡" not in response.text  # the reply travels encrypted
    assert safe.reply_content(response) == "好的，之后按银行卡识别，请发送银行卡照片"


def test_safe_mode_rejects_a_bad_msg_signature(safe: WechatPusher) -> None:
    url, body = safe.signed_request(message_xml(text_fields(USER, "帮助", 1)))
    forged = url.replace("msg_signature=", "msg_signature=0")
    assert httpx.post(forged, content=body).status_code == 403


def test_safe_mode_rejects_garbage_ciphertext(safe: WechatPusher) -> None:
    plain_pusher = WechatPusher(url=safe.url, token=TOKEN)
    encrypt = "bm90IGEgY2lwaGVydGV4dA=="
    url, _ = plain_pusher.signed_request("")
    ts = url.split("timestamp=")[1].split("&")[0]
    nonce = url.split("nonce=")[1].split("&")[0]
    url += "&encrypt_type=aes&msg_signature=" + get_signature(TOKEN, ts, nonce, encrypt)
    body = message_xml({"ToUserName": "gh", "Encrypt": encrypt}).encode()
    response = httpx.post(url, content=body)
    assert response.status_code == 400
    assert response.text == "bad_ciphertext"


def test_safe_mode_server_still_accepts_plain_pushes(safe: WechatPusher) -> None:
    # WeChat's "compatible" mode sends plain XML to a server that has an AES key.
    plain_pusher = WechatPusher(url=safe.url, token=TOKEN)
    response = plain_pusher.push(text_fields(USER, "帮助", new_msg_id()))
    assert response.status_code == 200
    assert "当前：" in (plain_pusher.reply_content(response) or "")


# ---------------------------------------------------------------- any input


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=600) | st.text(max_size=300).map(str.encode))
def test_any_signed_body_gets_an_answer_not_a_crash(
    plain: tuple[WechatPusher, str], body: bytes
) -> None:
    pusher, _ = plain
    url, _ = pusher.signed_request("")
    response = httpx.post(url, content=body)
    assert response.status_code in (200, 400, 413)
