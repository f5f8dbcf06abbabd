"""The WeChat API sandbox over real HTTP on loopback (waitress in a thread)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine
from PIL import Image

from bot.config import Config, SandboxConfig
from bot.sandbox.emulator import FaultRule, SandboxApp, SandboxServer
from ocr.engine import AUTO, CardResult, Kind, Mode
from ocr.errors import CorruptImage, NoCardFound, OcrError
from ocr.kinds import wechat_json
from tests.bot_on_loopback import wait_until
from tests.conftest import free_port

APP_ID = SandboxConfig().app_id
SECRET = SandboxConfig().app_secret
JPEG = b"\xff\xd8\xff\xe0" + b"sandbox test image" * 20
FRONT = CardResult(
    kind="idcard",
    fields={
        "type": "Front",
        "name": "张三",
        "id": "11010519491231002X",
        "addr": "北京市朝阳区某街1号",
        "gender": "女",
        "nationality": "汉",
        "birth": "19491231",
    },
    engine="fake",
)
BANK = CardResult(kind="bankcard", fields={"number": "6222021234567890128"}, engine="fake")


@dataclass
class ScriptedEngine:
    """An OCR engine with scripted answers per image; fails loudly on an unknown image."""

    answers: dict[bytes, CardResult | OcrError]
    name: str = "fake"
    calls: list[tuple[bytes, Kind, Mode]] = field(default_factory=list)

    def recognize(self, image: bytes, kind: Kind = AUTO, mode: Mode = "photo") -> CardResult:
        self.calls.append((image, kind, mode))
        answer = self.answers[image]
        if isinstance(answer, OcrError):
            raise answer
        return answer


def token(http: httpx.Client, sandbox: SandboxServer) -> str:
    answer = http.get(
        f"{sandbox.api_base}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET},
    ).json()
    value: str = answer["access_token"]
    return value


def custom_send(http: httpx.Client, sandbox: SandboxServer, access_token: str) -> dict[str, Any]:
    body = {"touser": "oUser", "msgtype": "text", "text": {"content": "你好"}}
    answer: dict[str, Any] = http.post(
        f"{sandbox.api_base}/cgi-bin/message/custom/send",
        params={"access_token": access_token},
        json=body,
    ).json()
    return answer


def ocr(
    http: httpx.Client, sandbox: SandboxServer, path: str, image: bytes, **params: str
) -> httpx.Response:
    return http.post(
        f"{sandbox.api_base}/cv/ocr/{path}",
        params={"access_token": token(http, sandbox), "type": "photo", **params},
        files={"img": ("card.jpg", image, "image/jpeg")},
    )


# ---------------------------------------------------------------- tokens


def test_classic_token_checks_credentials_and_counts_requests(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    url = f"{sandbox.api_base}/cgi-bin/token"
    good = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}
    answer = http.get(url, params=good).json()
    assert answer["expires_in"] == 7200 and len(answer["access_token"]) > 32
    assert http.get(url, params={**good, "secret": "wrong"}).json()["errcode"] == 40125
    assert http.get(url, params={**good, "appid": "wxother"}).json()["errcode"] == 40013
    assert http.get(url, params={**good, "grant_type": "x"}).json()["errcode"] == 40002
    assert sandbox.app.token_requests == 4


def test_stable_token_is_reused_until_forced(http: httpx.Client, sandbox: SandboxServer) -> None:
    url = f"{sandbox.api_base}/cgi-bin/stable_token"
    body = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}
    first = http.post(url, json=body).json()["access_token"]
    assert http.post(url, json=body).json()["access_token"] == first
    forced = http.post(url, json={**body, "force_refresh": True}).json()["access_token"]
    assert forced != first
    # A forced refresh retires the previous stable token at once.
    assert custom_send(http, sandbox, first)["errcode"] == 40001
    assert custom_send(http, sandbox, forced)["errcode"] == 0
    assert http.post(url, json={**body, "secret": "nope"}).json()["errcode"] == 40125


def test_new_classic_token_retires_the_old_one_after_the_grace(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    with time_machine.travel(1_800_000_000, tick=False) as clock:
        old = token(http, sandbox)
        clock.shift(100)
        new = token(http, sandbox)
        assert custom_send(http, sandbox, old)["errcode"] == 0  # within the 300 s grace
        clock.shift(301)
        assert custom_send(http, sandbox, old)["errcode"] == 40001
        assert custom_send(http, sandbox, new)["errcode"] == 0
        clock.shift(7200)
        assert custom_send(http, sandbox, new)["errcode"] == 42001


def test_api_calls_need_a_known_token(http: httpx.Client, sandbox: SandboxServer) -> None:
    assert custom_send(http, sandbox, "")["errcode"] == 41001
    assert custom_send(http, sandbox, "made-up")["errcode"] == 40001
    valid = token(http, sandbox)
    sandbox.app.revoke_tokens()
    assert custom_send(http, sandbox, valid)["errcode"] == 40001


# ---------------------------------------------------------------- media


def test_media_upload_get_and_picurl(http: httpx.Client, sandbox: SandboxServer) -> None:
    access_token = token(http, sandbox)
    uploaded = http.post(
        f"{sandbox.api_base}/cgi-bin/media/upload",
        params={"access_token": access_token, "type": "image"},
        files={"media": ("a.jpg", JPEG, "image/jpeg")},
    ).json()
    media_id = uploaded["media_id"]
    got = http.get(
        f"{sandbox.api_base}/cgi-bin/media/get",
        params={"access_token": access_token, "media_id": media_id},
    )
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert got.content == JPEG
    assert uploaded["url"] == f"{sandbox.api_base}/mmbiz/{media_id}"
    assert http.get(uploaded["url"]).content == JPEG


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, "PNG")
    return buffer.getvalue()


AMR = b"#!AMR\n" + b"\x3c" * 320
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 100
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 200


def upload(
    http: httpx.Client, sandbox: SandboxServer, media_type: str, data: bytes, declared: str
) -> dict[str, Any]:
    answer: dict[str, Any] = http.post(
        f"{sandbox.api_base}/cgi-bin/media/upload",
        params={"access_token": token(http, sandbox), "type": media_type},
        files={"media": ("upload", data, declared)},
    ).json()
    return answer


def test_media_upload_reads_the_type_from_the_bytes(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    """Issue 13: a part declaring no type (wechatpy's open file) was served as text/plain."""
    png = png_bytes()
    uploaded = upload(http, sandbox, "image", png, "text/plain")
    got = http.get(
        f"{sandbox.api_base}/cgi-bin/media/get",
        params={"access_token": token(http, sandbox), "media_id": uploaded["media_id"]},
    )
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].endswith('.png"')
    assert got.content == png
    # Non-image bytes are refused for type image, as WeChat does.
    assert upload(http, sandbox, "image", b"just some text", "image/jpeg")["errcode"] == 40113
    assert upload(http, sandbox, "image", MP3, "image/jpeg")["errcode"] == 40005
    assert upload(http, sandbox, "sticker", png, "image/png")["errcode"] == 40004


def test_voice_video_and_thumb_uploads_with_wechats_limits(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    """Issue 13: voice, video and thumb uploads all answered 40004."""
    access_token = token(http, sandbox)
    voice = upload(http, sandbox, "voice", AMR, "application/octet-stream")
    assert voice["type"] == "voice"
    mp3 = upload(http, sandbox, "voice", MP3, "text/plain")
    video = upload(http, sandbox, "video", MP4, "application/octet-stream")
    thumb = upload(http, sandbox, "thumb", JPEG, "text/plain")
    assert "media_id" not in thumb  # WeChat names a thumb's id thumb_media_id

    def get(media_id: str) -> httpx.Response:
        url = f"{sandbox.api_base}/cgi-bin/media/get"
        return http.get(url, params={"access_token": access_token, "media_id": media_id})

    assert get(voice["media_id"]).headers["content-type"] == "audio/amr"
    assert get(mp3["media_id"]).headers["content-type"] == "audio/mpeg"
    assert get(thumb["thumb_media_id"]).content == JPEG
    video_url = get(video["media_id"]).json()["video_url"]
    assert http.get(video_url).content == MP4
    # Size limits and formats per type: voice 2 MB (AMR, MP3), thumb 64 KB (JPEG only).
    assert upload(http, sandbox, "voice", AMR + b"\0" * (2 * 1024 * 1024), "")["errcode"] == 40010
    too_big_thumb = JPEG + b"\0" * (64 * 1024)
    assert upload(http, sandbox, "thumb", too_big_thumb, "image/jpeg")["errcode"] == 40012
    assert upload(http, sandbox, "thumb", png_bytes(), "image/png")["errcode"] == 40005
    assert upload(http, sandbox, "video", AMR, "video/mp4")["errcode"] == 40005


def test_unknown_and_expired_media_answer_40007_as_json(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    with time_machine.travel(1_800_000_000, tick=False) as clock:
        access_token = token(http, sandbox)
        media_id = sandbox.app.upload(JPEG)
        url = f"{sandbox.api_base}/cgi-bin/media/get"
        unknown = http.get(url, params={"access_token": access_token, "media_id": "nope"})
        assert unknown.status_code == 200
        assert json.loads(unknown.content)["errcode"] == 40007
        clock.shift(3 * 86400 + 1)
        fresh_token = token(http, sandbox)
        expired = http.get(url, params={"access_token": fresh_token, "media_id": media_id})
        assert expired.status_code == 200 and expired.json()["errcode"] == 40007
        assert http.get(f"{sandbox.api_base}/mmbiz/{media_id}").status_code == 404


# ---------------------------------------------------------------- customer-service messages


def test_custom_messages_are_recorded_per_openid(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    access_token = token(http, sandbox)
    url = f"{sandbox.api_base}/cgi-bin/message/custom/send"
    for openid, text in (("oA", "一"), ("oB", "二"), ("oA", "三")):
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        answer = http.post(url, params={"access_token": access_token}, json=body).json()
        assert answer == {"errcode": 0, "errmsg": "ok"}
    listed = http.get(f"{sandbox.api_base}/_control/messages", params={"openid": "oA"}).json()
    assert [m["content"] for m in listed["messages"]] == ["一", "三"]
    assert {m["touser"] for m in listed["messages"]} == {"oA"}
    bad = {"touser": "oA", "msgtype": "sticker", "sticker": {"media_id": "x"}}
    assert (
        http.post(url, params={"access_token": access_token}, json=bad).json()["errcode"] == 40008
    )
    no_user = {"msgtype": "text", "text": {"content": "x"}}
    assert (
        http.post(url, params={"access_token": access_token}, json=no_user).json()["errcode"]
        == 40003
    )
    assert len(sandbox.app.messages_for()) == 3


def test_custom_messages_of_every_documented_type_are_recorded(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    """Issue 13: anything but text answered 40008 invalid message type."""
    access_token = token(http, sandbox)
    image = upload(http, sandbox, "image", png_bytes(), "")["media_id"]
    voice = upload(http, sandbox, "voice", AMR, "")["media_id"]
    video = upload(http, sandbox, "video", MP4, "")["media_id"]
    thumb = upload(http, sandbox, "thumb", JPEG, "")["thumb_media_id"]
    bodies: dict[str, dict[str, Any]] = {
        "image": {"media_id": image},
        "voice": {"media_id": voice},
        "video": {"media_id": video, "thumb_media_id": thumb, "title": "t", "description": "d"},
        "music": {
            "title": "歌",
            "musicurl": "http://m.example/a.mp3",
            "hqmusicurl": "http://m.example/a-hq.mp3",
            "thumb_media_id": thumb,
        },
        "news": {"articles": [{"title": "标题", "url": "http://n.example/1"}]},
        "mpnews": {"media_id": "PERMANENT_NEWS_ID"},
        "msgmenu": {"head_content": "满意吗", "list": [{"id": "101", "content": "满意"}]},
        "wxcard": {"card_id": "pCARD"},
        "miniprogrampage": {
            "title": "小程序",
            "appid": "wx0000000000000001",
            "pagepath": "pages/index",
            "thumb_media_id": thumb,
        },
    }
    url = f"{sandbox.api_base}/cgi-bin/message/custom/send"

    def send(msgtype: str, body: dict[str, Any]) -> int:
        data = {"touser": "oTypes", "msgtype": msgtype, msgtype: body}
        errcode: int = http.post(url, params={"access_token": access_token}, json=data).json()[
            "errcode"
        ]
        return errcode

    for msgtype, body in bodies.items():
        assert send(msgtype, body) == 0, msgtype
    recorded = sandbox.app.messages_for("oTypes")
    assert [m.msgtype for m in recorded] == list(bodies)
    assert [json.loads(m.content) for m in recorded] == list(bodies.values())
    # What WeChat refuses: an unknown or wrong-type media_id, two articles, no card.
    assert send("image", {"media_id": "nope"}) == 40007
    assert send("voice", {"media_id": image}) == 40007
    two = {"articles": [{"title": "1"}, {"title": "2"}]}
    assert send("news", two) == 45008
    assert send("wxcard", {}) == 47001
    assert send("text", {"content": ""}) == 44004
    assert len(sandbox.app.messages_for("oTypes")) == len(bodies)


# ---------------------------------------------------------------- OCR


def test_ocr_answers_wechat_json(http: httpx.Client, sandbox: SandboxServer) -> None:
    engine = ScriptedEngine({JPEG: FRONT, b"\xff\xd8bank": BANK})
    sandbox.app.engine = engine
    front = ocr(http, sandbox, "idcard", JPEG).json()
    assert front == {
        "errcode": 0,
        "errmsg": "ok",
        "type": "Front",
        "name": "张三",
        "id": "11010519491231002X",
        "addr": "北京市朝阳区某街1号",
        "gender": "女",
        "nationality": "汉",
    }
    assert ocr(http, sandbox, "bankcard", b"\xff\xd8bank").json() == {
        "errcode": 0,
        "errmsg": "ok",
        "number": "6222021234567890128",
    }
    assert [(kind, mode) for _, kind, mode in engine.calls] == [
        ("idcard", "photo"),
        ("bankcard", "photo"),
    ]


def test_ocr_error_codes(http: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.app.engine = ScriptedEngine(
        {b"blank": NoCardFound("none"), b"junk": CorruptImage("junk"), JPEG: BANK}
    )
    assert ocr(http, sandbox, "idcard", b"blank").json()["errcode"] == 101001
    assert ocr(http, sandbox, "idcard", b"junk").json()["errcode"] == 101002
    # A bank card sent to the ID card API is "no certificate found", as WeChat says.
    assert ocr(http, sandbox, "idcard", JPEG).json()["errcode"] == 101001
    assert ocr(http, sandbox, "idcard", b"x" * (2 * 1024 * 1024)).json()["errcode"] == 101002
    foreign = http.post(
        f"{sandbox.api_base}/cv/ocr/idcard",
        params={"access_token": token(http, sandbox), "img_url": "http://example.com/a.jpg"},
    )
    assert foreign.json()["errcode"] == 101000


def test_ocr_by_img_url_of_an_uploaded_image(http: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.app.engine = ScriptedEngine({JPEG: FRONT})
    media_id = sandbox.app.upload(JPEG)
    answer = http.post(
        f"{sandbox.api_base}/cv/ocr/idcard",
        params={
            "access_token": token(http, sandbox),
            "type": "scan",
            "img_url": f"{sandbox.api_base}/mmbiz/{media_id}",
        },
    ).json()
    assert answer["errcode"] == 0 and answer["name"] == "张三"


def test_ocr_daily_quota_gives_45009(http: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.app.engine = ScriptedEngine({JPEG: BANK})
    sandbox.app.ocr_daily_quota = 2
    with time_machine.travel("2026-11-25 23:59:00+00:00", tick=False) as clock:
        codes = [ocr(http, sandbox, "bankcard", JPEG).json()["errcode"] for _ in range(3)]
        assert codes == [0, 0, 45009]
        clock.shift(120)  # a new UTC day
        assert ocr(http, sandbox, "bankcard", JPEG).json()["errcode"] == 0


# ---------------------------------------------------------------- faults


def test_errcode_for_the_next_n_calls_on_a_path(http: httpx.Client, sandbox: SandboxServer) -> None:
    access_token = token(http, sandbox)
    added = http.post(
        f"{sandbox.api_base}/_control/faults",
        json={"path_prefix": "/cgi-bin/message/", "errcode": 45047, "remaining": 2},
    )
    assert added.status_code == 200 and len(added.json()["faults"]) == 1
    codes = [custom_send(http, sandbox, access_token)["errcode"] for _ in range(3)]
    assert codes == [45047, 45047, 0]
    assert token(http, sandbox)  # other paths never saw the fault
    assert http.get(f"{sandbox.api_base}/_control/faults").json()["faults"] == []


def test_dropped_connection_and_http_status(http: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.app.add_fault(FaultRule(drop=True, remaining=1))
    with pytest.raises(httpx.RemoteProtocolError):
        token(http, sandbox)
    sandbox.app.add_fault(FaultRule(http_status=503, remaining=1))
    response = http.get(
        f"{sandbox.api_base}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET},
    )
    assert response.status_code == 503
    assert token(http, sandbox)


def test_bad_fault_rule_is_refused(http: httpx.Client, sandbox: SandboxServer) -> None:
    url = f"{sandbox.api_base}/_control/faults"
    assert http.post(url, json={"errcode": 1, "bogus": 2}).status_code == 400
    assert http.post(url, json={"errcode": 1, "rate": 2}).status_code == 400
    assert http.delete(url).json() == {"faults": []}


# ---------------------------------------------------------------- holding calls


def test_held_calls_wait_until_released(http: httpx.Client, sandbox: SandboxServer) -> None:
    access_token = token(http, sandbox)
    control = f"{sandbox.api_base}/_control"
    held = http.post(f"{control}/hold", json={"path_prefix": "/cgi-bin/message/"})
    assert held.json()["errcode"] == 0
    with ThreadPoolExecutor(2) as pool:
        sends = [pool.submit(custom_send, http, sandbox, access_token) for _ in range(2)]
        assert wait_until(lambda: http.get(f"{control}/stats").json()["held"] == 2)
        assert token(http, sandbox)  # other paths go on
        assert not any(send.done() for send in sends)
        assert sandbox.app.messages_for() == []
        assert http.post(f"{control}/release").json()["errcode"] == 0
        assert [send.result(10)["errcode"] for send in sends] == [0, 0]
    assert len(sandbox.app.messages_for()) == 2
    assert custom_send(http, sandbox, access_token)["errcode"] == 0  # released: not held again
    assert sandbox.app.requests["/cgi-bin/message/custom/send"] == 3
    assert http.get(f"{control}/stats").json()["held"] == 0


def test_a_forgotten_hold_lets_calls_go_on_after_its_timeout(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    access_token = token(http, sandbox)
    sandbox.app.hold("/cgi-bin/message/", timeout_s=0.2)
    assert custom_send(http, sandbox, access_token)["errcode"] == 0
    assert sandbox.app.held == 0


def test_bad_hold_is_refused_and_reset_releases(http: httpx.Client, sandbox: SandboxServer) -> None:
    control = f"{sandbox.api_base}/_control"
    for bad in ({"path_prefix": 1}, {"timeout_s": 0}, {"timeout_s": "5"}, {"timeout_s": True}):
        assert http.post(f"{control}/hold", json=bad).status_code == 400
    assert http.post(f"{control}/hold", json={"paths": ["/cv/ocr/"]}).status_code == 400
    with pytest.raises(ValueError, match="timeout_s"):
        sandbox.app.hold(timeout_s=-1)
    access_token = token(http, sandbox)
    assert http.post(f"{control}/hold", json={}).json()["errcode"] == 0  # every API path
    with ThreadPoolExecutor(1) as pool:
        send = pool.submit(custom_send, http, sandbox, access_token)
        # The control endpoints are never held, or nothing could release the hold.
        assert wait_until(lambda: http.get(f"{control}/stats").json()["held"] == 1)
        assert http.post(f"{control}/reset").json()["errcode"] == 0
        # Released by the reset, which also forgot the call's token.
        assert send.result(10)["errcode"] == 40001
    assert token(http, sandbox)


class _Recorder:
    def __init__(self) -> None:
        self.slept: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


def _call(app: SandboxApp, path: str, query: str = "") -> tuple[str, bytes]:
    status: list[str] = []

    def start_response(
        line: str, _headers: list[tuple[str, str]], _exc_info: object = None
    ) -> Callable[[bytes], object]:
        status.append(line)
        return lambda _data: None

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "wsgi.input": io.BytesIO(b""),
        "HTTP_HOST": "sandbox.test",
    }
    body: Iterable[bytes] = app(environ, start_response)
    return status[0], b"".join(body)


def test_latency_and_error_rate_from_config() -> None:
    sleep = _Recorder()
    settings = SandboxConfig(latency_ms=250, error_rate=0.5)
    app = SandboxApp(settings, sleep=sleep, seed=7)
    query = f"grant_type=client_credential&appid={APP_ID}&secret={SECRET}"
    codes = [
        json.loads(_call(app, "/cgi-bin/token", query)[1]).get("errcode", 0) for _ in range(40)
    ]
    assert sleep.slept == [0.25] * 40
    assert 5 < codes.count(-1) < 35  # roughly half fail, and both outcomes occur
    assert set(codes) == {0, -1}
    assert app.token_requests == 40


def test_control_stats_and_reset(http: httpx.Client, sandbox: SandboxServer) -> None:
    token(http, sandbox)
    sandbox.app.upload(JPEG)
    stats = http.get(f"{sandbox.api_base}/_control/stats").json()
    assert stats["token_requests"] == 1 and stats["media"] == 1
    assert stats["requests"] == {"/cgi-bin/token": 1}
    http.post(f"{sandbox.api_base}/_control/reset")
    after = http.get(f"{sandbox.api_base}/_control/stats").json()
    assert after["token_requests"] == 0 and after["media"] == 0


def test_unknown_path_and_wrong_method_answer_wechat_json(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    """Issue 13: a wrong method got a plain-text body under a JSON content type."""
    answers = {
        ("GET", "/cgi-bin/nope"): (40066, "invalid url"),
        ("POST", "/cgi-bin/token"): (43001, "require GET method"),
        ("GET", "/cgi-bin/message/custom/send"): (43002, "require POST method"),
        ("PUT", "/cgi-bin/media/upload"): (43002, "require POST method"),
    }
    for (method, path), (errcode, errmsg) in answers.items():
        answer = http.request(method, f"{sandbox.api_base}{path}")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.json()["errcode"] == errcode
        assert answer.json()["errmsg"].startswith(errmsg)
    assert http.get(f"{sandbox.url}/elsewhere").status_code == 404


def test_json_answers_say_charset_utf_8(http: httpx.Client, sandbox: SandboxServer) -> None:
    """Issue 19: JSON answers said ``encoding=utf-8``, a parameter no client reads."""
    access_token = token(http, sandbox)
    answers = [
        http.get(f"{sandbox.api_base}/cgi-bin/token", params={"appid": APP_ID}),
        http.get(f"{sandbox.api_base}/_control/stats"),
        http.get(f"{sandbox.api_base}/cgi-bin/nope"),
        http.post(
            f"{sandbox.api_base}/cgi-bin/message/custom/send",
            params={"access_token": access_token},
            json={"touser": "oCharset", "msgtype": "text", "text": {"content": "中文"}},
        ),
    ]
    for answer in answers:
        assert answer.headers["content-type"] == "application/json; charset=utf-8", answer.url
        assert "errcode" in answer.json() or "requests" in answer.json()
    # media/get errors are JSON under text/plain, as WeChat sends them.
    missing = http.get(
        f"{sandbox.api_base}/cgi-bin/media/get",
        params={"access_token": access_token, "media_id": "nope"},
    )
    assert missing.headers["content-type"] == "text/plain; charset=utf-8"
    assert json.loads(missing.content)["errcode"] == 40007


def test_uploaded_photos_never_touch_the_disk(
    http: httpx.Client, sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bottle spools bodies over 100 KB to a named temporary file: not a card photo."""
    # With no temporary directory to write to, any temporary file fails the upload.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-dir"))
    # Under waitress's own in-memory limit (inbuf_overflow, 512 KB), over bottle's.
    photo = JPEG + b"\0" * (300 * 1024)
    access_token = token(http, sandbox)
    uploaded = http.post(
        f"{sandbox.api_base}/cgi-bin/media/upload",
        params={"access_token": access_token, "type": "image"},
        files={"media": ("big.jpg", photo, "image/jpeg")},
    )
    assert uploaded.status_code == 200
    got = http.get(
        f"{sandbox.api_base}/cgi-bin/media/get",
        params={"access_token": access_token, "media_id": uploaded.json()["media_id"]},
    )
    assert got.content == photo


def test_a_file_sent_as_a_plain_form_field_is_read_as_bytes(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    """A part without a filename is text to bottle: a photo's bytes are no UTF-8."""
    sandbox.app.engine = ScriptedEngine({JPEG: FRONT})
    png = png_bytes()
    boundary = "sandbox-boundary"
    for field_name, data, path in (
        ("media", png, "cgi-bin/media/upload"),
        ("img", JPEG, "cv/ocr/idcard"),
    ):
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"\r\n\r\n'.encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        answer = http.post(
            f"{sandbox.api_base}/{path}",
            params={
                "access_token": token(http, sandbox),
                "type": "image" if field_name == "media" else "photo",
            },
            content=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        ).json()
        assert answer.get("errcode", 0) == 0, answer
        if field_name == "media":
            got = http.get(
                f"{sandbox.api_base}/cgi-bin/media/get",
                params={"access_token": token(http, sandbox), "media_id": answer["media_id"]},
            )
            assert got.content == png
        else:
            assert answer["name"] == "张三"


def test_malformed_multipart_gets_an_errcode(http: httpx.Client, sandbox: SandboxServer) -> None:
    access_token = token(http, sandbox)
    for content_type, body in (
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nno end of headers"),
        ("multipart/form-data", b"no boundary at all"),
        ("application/octet-stream", JPEG),
    ):
        answer = http.post(
            f"{sandbox.api_base}/cgi-bin/media/upload",
            params={"access_token": access_token, "type": "image"},
            content=body,
            headers={"Content-Type": content_type},
        )
        assert answer.status_code == 200, content_type
        assert answer.json()["errcode"] == 41005, content_type


# ---------------------------------------------------------------- the real local engine

FIXTURES = Path(__file__).parent / "fixtures" / "cards"


def labelled_sample(kind: str, side: str | None = None) -> Path:
    """The first committed photo of ``kind`` (and ID card side), found by its label."""
    for label in sorted(FIXTURES.glob("*.json")):
        data = json.loads(label.read_text(encoding="utf-8"))
        images = [label.with_suffix(ext) for ext in (".jpg", ".png")]
        image = next((path for path in images if path.is_file()), None)
        if data.get("kind") != kind or image is None:
            continue
        if side is None or data.get("expected", {}).get("type") == side:
            return image
    pytest.skip(f"no committed {kind} fixture")


@pytest.mark.slow
def test_sandbox_ocr_with_the_local_engine_answers_like_wechat(http: httpx.Client) -> None:
    """A self-hosted, WeChat-compatible OCR API: the local engine behind WeChat's JSON."""
    pytest.importorskip("ocr.local")
    app = SandboxApp.from_config(Config())
    samples = {
        "bankcard": labelled_sample("bankcard"),
        "idcard": labelled_sample("idcard", "Front"),
    }
    with SandboxServer(app) as server:
        access_token = token(http, server)
        answers = {
            kind: http.post(
                f"{server.api_base}/cv/ocr/{kind}",
                params={"access_token": access_token, "type": "photo"},
                files={"img": (sample.name, sample.read_bytes(), "image/jpeg")},
                timeout=120,
            ).json()
            for kind, sample in samples.items()
        }
    assert app.engine is not None and app.engine.name == "local"
    for kind, sample in samples.items():
        try:
            direct = wechat_json(app.engine.recognize(sample.read_bytes(), kind))
        except NoCardFound:
            direct = {"errcode": 101001, "errmsg": "certificate not found"}
        assert answers[kind] == direct
    assert set(answers["bankcard"]) <= {"errcode", "errmsg", "number"}
    front_keys = {"errcode", "errmsg", "type", "name", "id", "addr", "gender", "nationality"}
    assert set(answers["idcard"]) <= front_keys and "birth" not in answers["idcard"]


def test_wxocr_sandbox_serves_standalone(tmp_path: Path) -> None:
    port = free_port()
    config_file = tmp_path / "c.toml"
    config_file.write_text(f"[server]\nport = {port}\n", encoding="utf-8")
    wxocr = Path(sys.executable).parent / "wxocr"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXOCR_")}
    process = subprocess.Popen(
        [str(wxocr), "sandbox", "--config", str(config_file)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}/sandbox"
        deadline = time.monotonic() + 60
        stats = None
        while time.monotonic() < deadline and stats is None:
            try:
                stats = httpx.get(f"{base}/_control/stats", timeout=2).json()
            except httpx.TransportError:
                time.sleep(0.2)
        assert stats is not None and stats["token_requests"] == 0
        answer = httpx.get(
            f"{base}/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET},
        ).json()
        assert answer["expires_in"] == 7200
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert f"api_base = http://127.0.0.1:{port}/sandbox" in err
    assert SECRET not in err
