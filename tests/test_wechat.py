"""The WeChat API client and the ``wechat``/``chain`` engines, against the sandbox over
loopback HTTP, and ``httpx.MockTransport`` for single odd answers."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from bot.config import Config
from bot.sandbox.emulator import FaultRule, SandboxServer
from bot.serving.engines import build_engine
from bot.wxapi.client import (
    Media,
    RetryPolicy,
    WechatBadMedia,
    WechatBadResponse,
    WechatBusy,
    WechatClient,
    WechatCredentialError,
    WechatError,
    WechatMediaTooLarge,
    WechatOcrNoCard,
    WechatQuotaError,
    WechatReplyWindowClosed,
    WechatTokenError,
    WechatTooManyMessages,
    WechatUnavailable,
    raise_for_errcode,
    wechat_errcode,
)
from bot.wxapi.ocr_engine import WechatEngine
from bot.wxapi.tokens import TokenStore
from ocr.engine import AUTO, CardResult, ChainEngine, Kind, Mode
from ocr.engines import create_engine
from ocr.errors import CorruptImage, EngineUnavailable, NoCardFound, QuotaExceeded
from ocr.kinds import KINDS
from tests.conftest import token_api_for
from tests.test_sandbox import BANK, FRONT, JPEG, ScriptedEngine, labelled_sample

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# ---------------------------------------------------------------- the errcode map


@pytest.mark.parametrize(
    ("errcode", "error_type"),
    [
        (-1, WechatBusy),
        (40001, WechatTokenError),
        (40014, WechatTokenError),
        (42001, WechatTokenError),
        (45009, WechatQuotaError),
        (101003, WechatQuotaError),
        (40007, WechatBadMedia),
        (45015, WechatReplyWindowClosed),
        (45047, WechatTooManyMessages),
        (101001, WechatOcrNoCard),
        (40164, WechatCredentialError),
        (99999, WechatError),
    ],
)
def test_errcode_maps_to_one_typed_error(errcode: int, error_type: type[WechatError]) -> None:
    with pytest.raises(error_type) as caught:
        raise_for_errcode({"errcode": errcode, "errmsg": "secret-looking text"})
    assert type(caught.value) is error_type
    assert caught.value.errcode == errcode
    assert "secret-looking" not in str(caught.value)


def test_errcode_as_string_and_zero() -> None:
    raise_for_errcode({"errcode": "0", "errmsg": "ok"})  # the seeds' idcard example
    raise_for_errcode({"access_token": "x"})  # success answers often have no errcode
    with pytest.raises(WechatQuotaError):
        raise_for_errcode({"errcode": "45009"})
    with pytest.raises(WechatBadResponse):
        raise_for_errcode({"errcode": "n/a"})


# ---------------------------------------------------------------- retries (MockTransport)


@dataclass
class FixedToken:
    """A token provider that records refreshes; the real store is tested in test_tokens."""

    token: str = "T1"
    refreshes: list[str] = field(default_factory=list)

    def get_token(self) -> str:
        return self.token

    def refresh_token(self, stale: str) -> str:
        self.refreshes.append(stale)
        self.token = f"T{len(self.refreshes) + 1}"
        return self.token


Answer = Callable[[httpx.Request], httpx.Response]


def mock_client(answers: list[Answer], tokens: FixedToken | None = None) -> WechatClient:
    """A client whose n-th request gets ``answers[n]``; extra requests fail the test."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert len(seen) <= len(answers), f"unexpected request {len(seen)}: {request.url.path}"
        return answers[len(seen) - 1](request)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = WechatClient(
        http,
        tokens or FixedToken(),
        api_base="https://wechat.test",
        retry=RetryPolicy(max_retries=2, backoff_s=0.001),
    )
    client.requests = seen  # type: ignore[attr-defined]
    return client


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})


def errcode(code: int) -> Answer:
    return lambda request: httpx.Response(200, json={"errcode": code, "errmsg": "x"})


def connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


def status(code: int) -> Answer:
    return lambda request: httpx.Response(code, text="upstream trouble")


def requests_of(client: WechatClient) -> list[httpx.Request]:
    seen: list[httpx.Request] = client.requests  # type: ignore[attr-defined]
    return seen


def test_network_errors_5xx_and_busy_are_retried() -> None:
    client = mock_client([connect_error, status(502), errcode(-1), ok])
    client._api.retry = RetryPolicy(max_retries=3, backoff_s=0.001)
    client.send_text("oA", "hi")
    assert len(requests_of(client)) == 4


def test_retries_give_up_with_a_typed_error() -> None:
    client = mock_client([connect_error, connect_error, connect_error])
    with pytest.raises(WechatUnavailable) as caught:
        client.send_text("oA", "hi")
    assert caught.value.transient and len(requests_of(client)) == 3


@pytest.mark.parametrize("code", [40007, 45015, 45047, 48001, 40164])
def test_permanent_errors_are_not_retried(code: int) -> None:
    client = mock_client([errcode(code)])
    with pytest.raises(WechatError) as caught:
        client.send_text("oA", "hi")
    assert caught.value.errcode == code and len(requests_of(client)) == 1


def test_token_error_forces_one_refresh_and_one_retry() -> None:
    tokens = FixedToken()
    client = mock_client([errcode(42001), ok], tokens)
    client.send_text("oA", "hi")
    assert tokens.refreshes == ["T1"]
    assert [r.url.params["access_token"] for r in requests_of(client)] == ["T1", "T2"]


def test_token_error_after_the_refresh_is_raised_not_looped() -> None:
    tokens = FixedToken()
    client = mock_client([errcode(40001), errcode(40001)], tokens)
    with pytest.raises(WechatTokenError):
        client.send_text("oA", "hi")
    assert tokens.refreshes == ["T1"]


def test_send_text_posts_utf8_json() -> None:
    client = mock_client([ok])
    client.send_text("oA", "身份证号码校验通过")
    sent = requests_of(client)[0]
    assert sent.url.path == "/cgi-bin/message/custom/send"
    assert "身份证号码校验通过".encode() in sent.content  # not \\u escapes
    assert json.loads(sent.content) == {
        "touser": "oA",
        "msgtype": "text",
        "text": {"content": "身份证号码校验通过"},
    }


def test_ocr_uploads_the_image_as_multipart_img() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.params["type"] == "scan"
        assert b'name="img"' in request.content and PNG in request.content
        assert b"Content-Type: image/png" in request.content
        return httpx.Response(200, json={"errcode": "0", "errmsg": "ok", "number": "6222"})

    assert mock_client([answer]).ocr("/cv/ocr/bankcard", PNG, mode="scan")["number"] == "6222"
    with pytest.raises(ValueError, match="exactly one"):
        mock_client([]).ocr("/cv/ocr/idcard")


# ---------------------------------------------------------------- media/get


def test_media_json_error_is_not_mistaken_for_an_image_sandbox(
    wechat_client: WechatClient, sandbox: SandboxServer
) -> None:
    with pytest.raises(WechatBadMedia):
        wechat_client.get_media("no-such-media")
    media_id = sandbox.app.upload(JPEG, "image/jpeg")
    assert wechat_client.get_media(media_id) == Media(JPEG, "image/jpeg")


@pytest.mark.parametrize(
    "content_type", ["image/jpeg", "application/octet-stream", "text/plain", ""]
)
def test_media_json_error_is_not_mistaken_for_an_image_whatever_its_type(
    content_type: str,
) -> None:
    body = b'{"errcode":40007,"errmsg":"invalid media_id"}'
    headers = {"content-type": content_type} if content_type else {}
    client = mock_client([lambda request: httpx.Response(200, content=body, headers=headers)])
    with pytest.raises(WechatBadMedia):
        client.get_media("m1")


def test_media_size_cap_declared_and_streamed() -> None:
    big = b"\xff\xd8" + b"x" * 5000

    def streamed(request: httpx.Request) -> httpx.Response:
        # No Content-Length: the cap must hold while reading.
        return httpx.Response(200, content=iter([big[:2500], big[2500:]]))

    declared = mock_client([lambda request: httpx.Response(200, content=big)])
    declared.max_media_bytes = 4096
    with pytest.raises(WechatMediaTooLarge):
        declared.get_media("m1")
    chunked = mock_client([streamed])
    chunked.max_media_bytes = 4096
    with pytest.raises(WechatMediaTooLarge):
        chunked.get_media("m1")
    fits = mock_client([lambda request: httpx.Response(200, content=big)])
    assert fits.get_media("m1").data == big


def test_media_token_error_heals_like_any_call() -> None:
    tokens = FixedToken()
    image = lambda request: httpx.Response(200, content=PNG, headers={"content-type": "image/png"})  # noqa: E731
    client = mock_client([errcode(40001), image], tokens)
    assert client.get_media("m1") == Media(PNG, "image/png")
    assert tokens.refreshes == ["T1"]


# ---------------------------------------------------------------- the sandbox, end to end


def test_40001_mid_call_is_healed_by_one_refresh(
    wechat_client: WechatClient, sandbox: SandboxServer
) -> None:
    wechat_client.send_text("oA", "第一条")
    assert sandbox.app.token_requests == 1
    sandbox.app.revoke_tokens()  # as if another app had replaced the token
    wechat_client.send_text("oA", "第二条")
    assert sandbox.app.token_requests == 2
    assert [m.content for m in sandbox.app.messages_for("oA")] == ["第一条", "第二条"]


def test_token_refused_twice_raises_after_one_refresh(
    wechat_client: WechatClient, sandbox: SandboxServer
) -> None:
    wechat_client.send_text("oA", "warm-up")
    sandbox.app.add_fault(FaultRule(path_prefix="/cgi-bin/message/", errcode=40001, remaining=2))
    with pytest.raises(WechatTokenError):
        wechat_client.send_text("oA", "never")
    assert sandbox.app.token_requests == 2
    assert [m.content for m in sandbox.app.messages_for("oA")] == ["warm-up"]


def test_dropped_connection_and_busy_are_retried_against_the_sandbox(
    wechat_client: WechatClient, sandbox: SandboxServer
) -> None:
    wechat_client.send_text("oA", "warm-up")
    sandbox.app.add_fault(FaultRule(path_prefix="/cgi-bin/message/", drop=True, remaining=1))
    sandbox.app.add_fault(FaultRule(path_prefix="/cgi-bin/message/", errcode=-1, remaining=1))
    wechat_client.send_text("oA", "made it")
    assert [m.content for m in sandbox.app.messages_for("oA")] == ["warm-up", "made it"]
    assert sandbox.app.requests["/cgi-bin/message/custom/send"] == 4


def test_upload_then_download(wechat_client: WechatClient) -> None:
    media_id = wechat_client.upload_media(PNG)
    assert wechat_client.get_media(media_id) == Media(PNG, "image/png")


def test_classic_token_secret_never_reaches_the_logs(
    wechat_config: Config, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    api = token_api_for(wechat_config, http, mode="classic")
    with caplog.at_level(logging.DEBUG):
        fetched = api.fetch()
        client = WechatClient(http, _Static(fetched.token), api_base=wechat_config.api_base)
        client.send_text("oA", "hi")
    assert "HTTP Request" in caplog.text  # httpx did log the requests...
    assert wechat_config.app_secret not in caplog.text  # ...without the secret
    assert fetched.token not in caplog.text
    assert fetched.token not in repr(fetched) and wechat_config.app_secret not in repr(api)


@dataclass
class _Static:
    token: str

    def get_token(self) -> str:
        return self.token

    def refresh_token(self, stale: str) -> str:
        raise AssertionError("no refresh expected")


def test_wrong_secret_is_a_credential_error(wechat_config: Config, http: httpx.Client) -> None:
    api = token_api_for(wechat_config, http, app_secret="wrong")
    with pytest.raises(WechatCredentialError) as caught:
        api.fetch()
    assert caught.value.errcode == 40125


# ---------------------------------------------------------------- the wechat engine


def test_wechat_engine_reads_cards_through_the_sandbox(
    wechat_config: Config, wechat_client: WechatClient, sandbox: SandboxServer
) -> None:
    sandbox.app.engine = ScriptedEngine({JPEG: FRONT, PNG: BANK})
    engine = create_engine("wechat", config=wechat_config, client=wechat_client)
    assert isinstance(engine, WechatEngine)
    front = engine.recognize(JPEG, "idcard")
    assert front.kind == "idcard" and front.engine == "wechat"
    assert front.fields["name"] == "张三" and front.fields["type"] == "Front"
    assert "birth" not in front.fields  # WeChat does not answer it
    assert front.checks == {"id_checksum": True}
    bank = engine.recognize(PNG, "bankcard")
    # WeChat answers the number only; the bank comes from the BIN table, as locally.
    assert bank.fields == {
        "number": "6222021234567890128",
        "bank": "中国工商银行",
        "card_type": "借记卡",
    }
    assert bank.checks == {"luhn": True, "bin": True}
    assert bank.warnings == []


@pytest.mark.parametrize("number", ["0622202123456789", "622202123456789", "1234567812345670"])
def test_wechat_engine_does_not_answer_digits_that_cannot_be_a_card_number(
    wechat_config: Config, wechat_client: WechatClient, sandbox: SandboxServer, number: str
) -> None:
    # A leading 0, UnionPay in 15 digits, no network: not answers, whoever read them.
    odd = CardResult(kind="bankcard", fields={"number": number})
    sandbox.app.engine = ScriptedEngine({PNG: odd})
    engine = create_engine("wechat", config=wechat_config, client=wechat_client)
    with pytest.raises(NoCardFound):
        engine.recognize(PNG, "bankcard")


def test_wechat_engine_auto_tries_bankcard_after_no_idcard(
    wechat_config: Config, wechat_client: WechatClient, sandbox: SandboxServer
) -> None:
    scripted = ScriptedEngine({PNG: BANK})
    sandbox.app.engine = scripted
    engine = create_engine("wechat", config=wechat_config, client=wechat_client)
    assert engine.recognize(PNG, AUTO).kind == "bankcard"
    assert [kind for _, kind, _ in scripted.calls] == ["idcard", "bankcard"]
    with pytest.raises(NoCardFound) as caught:
        engine.recognize(PNG, "idcard")
    assert wechat_errcode(caught.value) == 101001


def test_wechat_engine_maps_errors(
    wechat_config: Config, wechat_client: WechatClient, sandbox: SandboxServer
) -> None:
    sandbox.app.engine = ScriptedEngine({JPEG: CorruptImage("bad")})
    engine = create_engine("wechat", config=wechat_config, client=wechat_client)
    with pytest.raises(CorruptImage):
        engine.recognize(JPEG, "idcard")
    sandbox.app.ocr_daily_quota = 0
    with pytest.raises(QuotaExceeded) as quota:
        engine.recognize(JPEG, "idcard")
    assert wechat_errcode(quota.value) == 45009
    sandbox.app.add_fault(FaultRule(path_prefix="/cv/", http_status=503))
    with pytest.raises(EngineUnavailable) as down:
        engine.recognize(JPEG, "idcard")
    assert wechat_errcode(down.value) == -2


@dataclass
class CountingEngine:
    """Stands in for the second engine of a chain; records that it was asked."""

    name: str = "second"
    calls: list[Kind] = field(default_factory=list)

    def recognize(self, image: bytes, kind: Kind = AUTO, mode: Mode = "photo") -> CardResult:
        self.calls.append(kind)
        return CardResult(kind="bankcard", fields={"number": "4"}, engine=self.name)


def test_chain_falls_back_on_quota_and_outage_not_on_a_bad_photo(
    wechat_config: Config, wechat_client: WechatClient, sandbox: SandboxServer
) -> None:
    sandbox.app.engine = ScriptedEngine({JPEG: CorruptImage("bad")})
    second = CountingEngine()
    chain = ChainEngine([WechatEngine(wechat_client), second])
    with pytest.raises(CorruptImage):
        chain.recognize(JPEG, "bankcard")
    assert second.calls == []
    sandbox.app.ocr_daily_quota = 0
    assert chain.recognize(JPEG, "bankcard").engine == "second"
    sandbox.app.ocr_daily_quota = 100
    sandbox.app.add_fault(FaultRule(path_prefix="/cv/", drop=True))
    assert chain.recognize(JPEG, "bankcard").engine == "second"
    assert second.calls == ["bankcard", "bankcard"]


def test_chain_in_auto_asks_the_next_engine_when_wechat_reads_none_of_its_kinds(
    wechat_config: Config, wechat_client: WechatClient, sandbox: SandboxServer
) -> None:
    """A business card or passport photo sent with 自动 under the chain engine was answered
    "no card": WeChat's APIs found none of their kinds, and the chain stopped there."""
    scripted = ScriptedEngine({JPEG: NoCardFound("none")})
    sandbox.app.engine = scripted
    second = CountingEngine()
    chain = ChainEngine([WechatEngine(wechat_client), second])
    assert chain.recognize(JPEG, AUTO).engine == "second"
    assert second.calls == [AUTO]
    assert [kind for _, kind, _ in scripted.calls] == [k.name for k in KINDS if k.wechat_path]
    # Alone, the WeChat engine still says no card (and which errcode WeChat gave).
    with pytest.raises(NoCardFound) as alone:
        WechatEngine(wechat_client).recognize(JPEG, AUTO)
    assert (alone.value.code, wechat_errcode(alone.value)) == ("no_card", 101001)
    # A kind WeChat reads, asked for by name: its "no card" is the answer.
    with pytest.raises(NoCardFound):
        chain.recognize(JPEG, "idcard")
    assert second.calls == [AUTO]


@pytest.mark.slow
def test_quota_makes_the_configured_chain_fall_back_to_local(
    wechat_config: Config, wechat_client: WechatClient, sandbox: SandboxServer
) -> None:
    """``ocr.engine = "chain"`` from config: WeChat's quota is spent, the local engine reads."""
    fixture = labelled_sample("bankcard")
    pytest.importorskip("ocr.local")
    config = wechat_config.model_copy(
        update={"ocr": wechat_config.ocr.model_copy(update={"engine": "chain"})}
    )
    sandbox.app.ocr_daily_quota = 0
    chain = build_engine(config, client=wechat_client)
    try:
        result = chain.recognize(fixture.read_bytes(), "bankcard")
    except NoCardFound:
        pass  # the local engine ran (WeChat's answer would have been QuotaExceeded)
    else:
        assert result.engine == "local" and result.kind == "bankcard"
        assert result.fields.get("number", "").isdigit()
    assert sandbox.app.requests["/cv/ocr/bankcard"] == 1  # WeChat was asked first


def test_default_factory_builds_its_own_client(
    wechat_config: Config, sandbox: SandboxServer, token_store: TokenStore
) -> None:
    sandbox.app.engine = ScriptedEngine({JPEG: BANK})
    engine = create_engine("wechat", config=wechat_config)
    assert engine.recognize(JPEG, "bankcard").fields["number"] == "6222021234567890128"
    assert sandbox.app.token_requests == 1
