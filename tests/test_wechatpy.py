"""The sandbox as wechatpy sees it: a WeChat API client we did not write (issue 13).

wechatpy (1.8) talks to the sandbox on loopback over real HTTP, set up the way the
README tells an operator to: its API base and its token URL (which wechatpy does not
derive from the base) both pointed at the sandbox. Nothing here is faked.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.config import SandboxConfig
from bot.sandbox.emulator import SandboxApp, SandboxServer
from tests.bot_on_loopback import CARD_NUMBER, WechatBankCardOcr

PHOTO = Path(__file__).parent / "fixtures" / "cards" / "002_bank_photo.jpg"
SETTINGS = SandboxConfig()
USER = "o-wechatpy-user"


class SandboxWeChatClient(WeChatClient):  # type: ignore[misc]  # wechatpy has no types
    """wechatpy's client on the sandbox, as the README shows it."""

    def __init__(self, api_base: str, appid: str, secret: str) -> None:
        super().__init__(appid, secret, timeout=10)
        self.api_base = api_base
        self.API_BASE_URL = f"{api_base}/cgi-bin/"
        # API areas rooted at the site, not at cgi-bin/, each keep their own base.
        self.wxa.API_BASE_URL = f"{api_base}/"

    def fetch_access_token(self) -> dict[str, Any]:
        # wechatpy fetches tokens from a fixed URL, whatever API_BASE_URL says.
        result: dict[str, Any] = self._fetch_access_token(
            url=f"{self.api_base}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )
        return result


class Clock:
    """The sandbox's clock, moved by the test (wechatpy keeps the real one)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Iterator[SandboxServer]:
    app = SandboxApp(SETTINGS, engine=WechatBankCardOcr(), clock=clock)
    with SandboxServer(app) as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> SandboxWeChatClient:
    return SandboxWeChatClient(sandbox.api_base, SETTINGS.app_id, SETTINGS.app_secret)


def test_wechatpy_uploads_an_open_file_and_downloads_it_as_an_image(
    client: SandboxWeChatClient,
) -> None:
    # The usual call: an open file, so the multipart part declares no image type.
    with PHOTO.open("rb") as photo:
        uploaded = client.media.upload("image", photo)
    assert uploaded["type"] == "image"
    downloaded = client.media.download(uploaded["media_id"])
    assert downloaded.headers["Content-Type"] == "image/jpeg"
    assert downloaded.content == PHOTO.read_bytes()
    with pytest.raises(WeChatClientException) as refused:
        client.media.upload("image", io.BytesIO(b"not a picture at all"))
    assert refused.value.errcode == 40113
    with pytest.raises(WeChatClientException) as unknown:
        client.media.download("SBX_no_such_media")
    assert unknown.value.errcode == 40007


def test_wechatpy_custom_messages_are_accepted_and_recorded(
    client: SandboxWeChatClient, sandbox: SandboxServer
) -> None:
    with PHOTO.open("rb") as photo:
        media_id = client.media.upload("image", photo)["media_id"]
    assert client.message.send_text(USER, "你好")["errcode"] == 0
    assert client.message.send_image(USER, media_id)["errcode"] == 0
    article = {"title": "识别结果", "description": "银行卡", "url": "http://n.example/1"}
    assert client.message.send_articles(USER, [article])["errcode"] == 0
    assert client.message.send_card(USER, "pCARD")["errcode"] == 0
    sent = sandbox.app.messages_for(USER)
    assert [m.msgtype for m in sent] == ["text", "image", "news", "wxcard"]
    assert sent[0].content == "你好"
    assert media_id in sent[1].content
    with pytest.raises(WeChatClientException) as refused:
        client.message.send_image(USER, "SBX_no_such_media")
    assert refused.value.errcode == 40007


def test_wechatpy_fetches_a_new_token_when_the_sandbox_expires_or_revokes_it(
    client: SandboxWeChatClient, sandbox: SandboxServer, clock: Clock
) -> None:
    assert client.message.send_text(USER, "一")["errcode"] == 0
    assert sandbox.app.token_requests == 1
    # The sandbox's clock passes the token's end; wechatpy's own clock says it is fresh,
    # so it learns of the expiry from the 42001 answer, fetches a token and retries.
    clock.now += SETTINGS.token_ttl_s + 1
    assert client.message.send_text(USER, "二")["errcode"] == 0
    assert sandbox.app.token_requests == 2
    sandbox.app.revoke_tokens()  # 40001 from now on for every token issued so far
    assert client.message.send_text(USER, "三")["errcode"] == 0
    assert sandbox.app.token_requests == 3
    assert [m.content for m in sandbox.app.messages_for(USER)] == ["一", "二", "三"]
    assert sandbox.app.requests["/cgi-bin/message/custom/send"] == 5  # two answered 4xxxx


def test_wechatpy_reads_a_card_from_the_sandboxs_ocr(client: SandboxWeChatClient) -> None:
    # wechatpy 1.8 has no cv/ocr API: a full URL on the sandbox, with wechatpy's token.
    with PHOTO.open("rb") as photo:
        answer = client.post(
            f"{client.api_base}/cv/ocr/bankcard", params={"type": "photo"}, files={"img": photo}
        )
    assert answer["errcode"] == 0
    assert answer["number"] == CARD_NUMBER
