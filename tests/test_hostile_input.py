"""Hostile input against a running server: each gets a defined answer and a log line,
and the server stays healthy. Then any input at the edges (hypothesis): a result or a
typed error, never an unhandled exception.

``wxocr serve`` runs as a subprocess in safe (compatible) mode; its WeChat API is a
sandbox in this process, so a test can put any bytes behind a MediaId. Loopback
listeners record every connection: a PicUrl or an XML entity pointing at them must
never be fetched.
"""

from __future__ import annotations

import io
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image
from werobot.crypto import MessageCrypt
from werobot.utils import get_signature

from bot.chat import replies
from bot.chat.handlers import IncomingMessage
from bot.config import Config
from bot.sandbox.emulator import SandboxApp, SandboxServer
from bot.serving.app import build_app
from bot.tools.simulate import (
    ACCOUNT_ID,
    WechatPusher,
    event_fields,
    image_fields,
    message_xml,
    new_msg_id,
    text_fields,
)
from ocr.detect import read_card
from ocr.engine import AUTO, CardResult, Kind, TextBox
from ocr.errors import (
    CorruptImage,
    DecompressionBomb,
    EmptyImage,
    ImageError,
    NotAnImage,
    OcrError,
)
from ocr.kinds import kind_names
from ocr.kinds.bankcard.extract import extract_bankcard
from ocr.layout import OcrPage
from tests.card_boxes import Printed, card_boxes
from tests.helpers_e2e import AES_KEY, BotServer, card, smaller

pytestmark = pytest.mark.slow

OTHER_AES_KEY = "someoneElsesKey0123456789abcdefghijklmnopqr"
USER = "o-hostile"


class ConnectionRecorder:
    """A TCP listener that counts connections and closes them at once."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.2)
        self.host = host
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url(self, path: str = "/card.jpg") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@dataclass
class Edge:
    bot: BotServer
    sandbox: SandboxServer
    recorders: list[ConnectionRecorder]

    @property
    def pusher(self) -> WechatPusher:
        return WechatPusher(url=self.bot.url, token=self.bot.config.wechat.token)

    def safe_pusher(self, aes_key: str = AES_KEY) -> WechatPusher:
        return WechatPusher(
            url=self.bot.url,
            token=self.bot.config.wechat.token,
            app_id=self.bot.config.app_id,
            encoding_aes_key=aes_key,
        )

    def log_mark(self) -> int:
        return len(self.bot.log())

    def log_since(self, mark: int, wait_for: str = "") -> str:
        """The server's log lines after ``mark`` (waiting briefly for ``wait_for``)."""
        deadline = time.monotonic() + (120 if wait_for else 0)
        while True:
            text = self.bot.log()[mark:]
            if wait_for in text or time.monotonic() > deadline:
                return text
            time.sleep(0.05)

    def custom_messages(self, openid: str, count: int) -> list[str]:
        """The customer-service messages ``openid`` got, once there are ``count`` (a hang
        guard of 600 s, not a speed check)."""
        deadline = time.monotonic() + 600
        while True:
            sent = [m.content for m in self.sandbox.app.messages_for(openid)]
            if len(sent) >= count or time.monotonic() > deadline:
                return sent
            time.sleep(0.05)

    def sent(self, openid: str) -> int:
        """How many customer-service messages ``openid`` has got so far."""
        return len(self.sandbox.app.messages_for(openid))

    def answer(self, openid: str, response: httpx.Response, sent_before: int) -> str:
        """What ``openid`` was answered to the request that gave ``response`` (made when
        ``sent_before`` customer-service messages had gone to it): the passive reply or,
        when the 5 s passive budget ran out on a loaded machine, the customer-service
        message the same answer went out as instead."""
        assert response.status_code == 200
        passive = self.pusher.reply_content(response)
        if passive is not None:
            return passive
        return self.custom_messages(openid, sent_before + 1)[sent_before]

    def push_photo(self, openid: str, fields: dict[str, str | int]) -> tuple[httpx.Response, str]:
        """Push a photo message; its response and the answer ``openid`` got."""
        before = self.sent(openid)
        response = self.pusher.push(fields)
        return response, self.answer(openid, response, before)

    def assert_healthy(self) -> None:
        health = httpx.get(self.bot.base + "/healthz", timeout=5)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert self.bot.process is not None and self.bot.process.poll() is None

    def connections(self) -> int:
        return sum(recorder.connections for recorder in self.recorders)


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    sandbox = SandboxServer(SandboxApp(Config().sandbox)).start()
    recorders = [ConnectionRecorder("127.0.0.1"), ConnectionRecorder("127.0.0.2")]
    bot = BotServer(
        tmp_path_factory.mktemp("hostile"),
        {
            "wechat": {"api_base": sandbox.api_base, "encoding_aes_key": AES_KEY},
            "log": {"level": "INFO"},
        },
    ).start()
    yield Edge(bot, sandbox, recorders)
    bot.stop()
    sandbox.stop()
    for recorder in recorders:
        recorder.close()


def post(url: str, body: bytes) -> httpx.Response:
    return httpx.post(url, content=body, headers={"Content-Type": "text/xml"}, timeout=10)


def hello() -> str:
    return message_xml(text_fields(USER, "帮助", new_msg_id()))


# ---------------------------------------------------------------- the webhook's checks


def _unsigned(edge: Edge) -> tuple[str, bytes]:
    query = urlencode({"timestamp": int(time.time()), "nonce": "12345"})
    return f"{edge.bot.url}?{query}", hello().encode()


def _forged(edge: Edge) -> tuple[str, bytes]:
    return WechatPusher(url=edge.bot.url, token="not-the-token").signed_request(hello())


def _from_the_future(edge: Edge) -> tuple[str, bytes]:
    return edge.pusher.signed_request(hello(), timestamp=int(time.time()) + 3600)


def _timestamp_not_a_number(edge: Edge) -> tuple[str, bytes]:
    token = edge.bot.config.wechat.token
    query = {"signature": get_signature(token, "soon", "1"), "timestamp": "soon", "nonce": "1"}
    return f"{edge.bot.url}?{urlencode(query)}", hello().encode()


def _signed(body: bytes) -> Any:
    def build(edge: Edge) -> tuple[str, bytes]:
        url, _ = edge.pusher.signed_request("")
        return url, body

    return build


def _external_entity(edge: Edge) -> tuple[str, bytes]:
    # A parameter entity is fetched while the DTD is read, before any element.
    target = edge.recorders[0].url("/evil.dtd")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY % p SYSTEM "{target}"> %p;]>'
        "<xml><MsgType>text</MsgType><Content>x</Content></xml>"
    )
    url, _ = edge.pusher.signed_request("")
    return url, body.encode()


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1 or "") + ";") * 10}">'.encode()
        for n in range(1, 10)
    )
    + b"]><xml><MsgType>text</MsgType><Content>&lol9;</Content></xml>"
)
GBK_DECLARED = '<?xml version="1.0" encoding="GBK"?><xml><Content>帮助</Content></xml>'.encode(
    "gbk"
)


def _wrong_aes_key(edge: Edge) -> tuple[str, bytes]:
    return edge.safe_pusher(OTHER_AES_KEY).signed_request(hello())


def _resign(edge: Edge, url: str, encrypt: str) -> tuple[str, bytes]:
    """``url``'s query with a msg_signature over ``encrypt``, and the Encrypt body."""
    base, query = url.split("?", 1)
    params = dict(pair.split("=", 1) for pair in query.split("&"))
    params["msg_signature"] = get_signature(
        edge.bot.config.wechat.token, params["timestamp"], params["nonce"], encrypt
    )
    body = message_xml({"ToUserName": ACCOUNT_ID, "Encrypt": encrypt}).encode()
    return f"{base}?{urlencode(params)}", body


def _encrypted(edge: Edge) -> tuple[str, str]:
    url, body = edge.safe_pusher().signed_request(hello())
    encrypt = body.decode().split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    return url, encrypt


def _tampered_ciphertext(edge: Edge) -> tuple[str, bytes]:
    url, encrypt = _encrypted(edge)
    # The last block holds the padding and the app id: a change there cannot decrypt.
    tampered = encrypt[:-6] + ("A" if encrypt[-6] != "A" else "B") + encrypt[-5:]
    return _resign(edge, url, tampered)


def _tampered_not_resigned(edge: Edge) -> tuple[str, bytes]:
    url, encrypt = _encrypted(edge)
    tampered = encrypt[:-6] + ("A" if encrypt[-6] != "A" else "B") + encrypt[-5:]
    _, body = _resign(edge, url, tampered)
    return url, body


def _plain_body_said_encrypted(edge: Edge) -> tuple[str, bytes]:
    url, body = edge.pusher.signed_request(hello())
    return url + "&encrypt_type=aes", body


REJECTED = [
    ("no signature", _unsigned, "403", "bad_signature"),
    ("wrong signature", _forged, "403", "bad_signature"),
    ("timestamp an hour ahead", _from_the_future, "403", "stale_timestamp"),
    ("timestamp not a number", _timestamp_not_a_number, "403", "bad_timestamp"),
    ("oversize body", _signed(b"<xml>" + b"x" * 70_000 + b"</xml>"), "413", "body_too_large"),
    ("billion laughs", _signed(BILLION_LAUGHS), "400", "xml_entities"),
    ("external entity", _external_entity, "400", "xml_entities"),
    ("not XML", _signed(b'{"MsgType": "text", "Content": "help"}'), "400", "bad_xml"),
    ("GBK body", _signed(GBK_DECLARED), "400", "bad_xml"),
    (
        "UTF-16 body",
        _signed("<xml><Content>帮助</Content></xml>".encode("utf-16")),
        "400",
        "bad_xml",
    ),
    ("invalid UTF-8", _signed(b"<xml><Content>\xff\xfe\xc3</Content></xml>"), "400", "bad_xml"),
    ("zero bytes", _signed(b""), "400", "empty_body"),
    ("wrong AES key", _wrong_aes_key, "400", "bad_ciphertext"),
    ("tampered ciphertext", _tampered_ciphertext, "400", "bad_ciphertext"),
    ("tampered, not re-signed", _tampered_not_resigned, "403", "bad_msg_signature"),
    ("plain body claiming aes", _plain_body_said_encrypted, "400", "missing_encrypt"),
]


@pytest.mark.parametrize(
    ("build", "status", "code"),
    [pytest.param(build, status, code, id=name) for name, build, status, code in REJECTED],
)
def test_rejected_requests_get_a_status_a_code_and_a_log_line(
    edge: Edge, build: Any, status: str, code: str
) -> None:
    connections = edge.connections()
    mark = edge.log_mark()
    url, body = build(edge)
    response = post(url, body)
    assert (str(response.status_code), response.text) == (status, code)
    assert f"webhook request rejected: {code}" in edge.log_since(mark, code)
    assert edge.connections() == connections
    edge.assert_healthy()


def test_a_replayed_text_message_gets_the_same_answer(edge: Edge) -> None:
    url, body = edge.pusher.signed_request(message_xml(text_fields(USER, "身份证", 77)))
    first, again = post(url, body), post(url, body)
    assert first.status_code == again.status_code == 200
    assert edge.pusher.reply_content(first) == edge.pusher.reply_content(again)
    assert "身份证" in (edge.pusher.reply_content(again) or "")
    edge.assert_healthy()


def test_unknown_message_type_and_event(edge: Edge) -> None:
    mark = edge.log_mark()
    fields = text_fields(USER, "", new_msg_id())
    fields["MsgType"] = "张三 11010519491231002X"  # whatever is sent is not logged
    response = edge.pusher.push(fields)
    assert response.status_code == 200
    assert edge.pusher.reply_content(response) == replies.unsupported_message()
    logged = edge.log_since(mark, "unsupported message type")
    assert "unsupported message type: other" in logged
    assert "11010519491231002X" not in logged
    event = edge.pusher.push(event_fields(USER, "something_new"))
    assert (event.status_code, event.text) == (200, "success")
    edge.assert_healthy()


def test_huge_text_within_the_limit_is_just_not_a_command(edge: Edge) -> None:
    response = edge.pusher.push(text_fields(USER, "帮助" * 9000, new_msg_id()))
    assert response.status_code == 200
    assert "当前：" in (edge.pusher.reply_content(response) or "")  # the help text
    edge.assert_healthy()


# ---------------------------------------------------------------- hostile photos


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    # A few KB that would inflate to 900 MB of pixels if anyone decoded them.
    pixels = zlib.compress(b"\0" * (width + 1) * 64, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (64, 40), colour) for colour in ("white", "black", "red")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def _truncated_jpeg() -> bytes:
    data = smaller(card("*_bank_scan*")[0], 320)
    return data[: len(data) // 2]


HTML = b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)>card</body></html>"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param(HTML, NotAnImage, id="html"),
        pytest.param(b"", EmptyImage, id="zero-bytes"),
        pytest.param(_truncated_jpeg(), CorruptImage, id="truncated-jpeg"),
        pytest.param(_png_claiming(30000, 30000), DecompressionBomb, id="png-bomb-30000x30000"),
        pytest.param(_animated_gif(), NotAnImage, id="animated-gif"),
    ],
)
def test_a_photo_that_is_no_photo_gets_a_defined_answer(
    edge: Edge, data: bytes, error: type[ImageError]
) -> None:
    openid = f"o-hostile-photo-{error.code}-{len(data)}"
    media_id = edge.sandbox.app.upload(data, "image/jpeg")
    pic_url = f"{edge.sandbox.api_base}/mmbiz/{media_id}"
    mark = edge.log_mark()
    response, answer = edge.push_photo(
        openid, image_fields(openid, media_id, pic_url, new_msg_id())
    )
    assert answer == replies.bad_image(error(""))
    line = f"photo done: outcome=bad_image error_code={error.code}"
    assert line in edge.log_since(mark, line)
    assert edge.bot.usage(openid) == [("bad_image", error.code)]
    # Answered once: a passive reply sends no customer-service message after it.
    late = edge.pusher.reply_content(response) is None
    assert edge.sent(openid) == int(late)
    edge.assert_healthy()


def test_a_replayed_photo_is_read_once(edge: Edge) -> None:
    openid = "o-hostile-replay"
    media_id = edge.sandbox.app.upload(HTML, "text/html")
    fields = image_fields(openid, media_id, "", new_msg_id())
    url, body = edge.pusher.signed_request(message_xml(fields))
    downloads = edge.sandbox.app.requests["/cgi-bin/media/get"]
    mark = edge.log_mark()
    first = post(url, body)
    again = post(url, body)  # the same MsgId, nonce and signature
    assert first.status_code == again.status_code == 200
    assert edge.answer(openid, first, 0) == replies.bad_image(NotAnImage(""))
    # Within WeChat's retry window the same answer comes back; never a second run.
    assert edge.pusher.reply_content(again) in (None, replies.bad_image(NotAnImage("")))
    assert edge.sandbox.app.requests["/cgi-bin/media/get"] == downloads + 1
    assert edge.bot.usage(openid) == [("bad_image", "not_image")]
    assert "photo seen before" in edge.log_since(mark, "photo seen before")
    edge.assert_healthy()


def _pic_urls(edge: Edge) -> list[str]:
    sandbox = edge.sandbox.api_base.split("//", 1)[1].split("/", 1)[0]
    loopback, other_loopback = edge.recorders
    return [
        loopback.url(),
        other_loopback.url(),
        f"http://localhost:{loopback.port}/card.jpg",
        f"http://[::ffff:127.0.0.1]:{loopback.port}/card.jpg",
        f"http://{sandbox}@127.0.0.1:{loopback.port}/mmbiz/x",
        f"http://127.0.0.1:{loopback.port}\\@{sandbox}/mmbiz/x",
        f"http://127.0.0.1:{loopback.port}#@{sandbox}/mmbiz/x",
        f"file:///etc/passwd#{sandbox}",
        "http://10.0.0.1/card.jpg",
        "http://192.168.1.1/card.jpg",
        "http://169.254.169.254/latest/meta-data/",
    ]


def test_picurl_pointing_inside_is_never_fetched(edge: Edge) -> None:
    for recorder in edge.recorders:  # the listeners do notice a connection
        socket.create_connection((recorder.host, recorder.port), timeout=2).close()
    deadline = time.monotonic() + 60
    while edge.connections() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    connections = edge.connections()
    assert connections >= 2
    for n, pic_url in enumerate(_pic_urls(edge)):
        openid = f"o-hostile-picurl-{n}"
        mark = edge.log_mark()
        # No usable MediaId: the PicUrl is the only way to the photo.
        for media_id in ("", "no-such-media"):
            fields = image_fields(openid, media_id, pic_url, new_msg_id())
            assert edge.push_photo(openid, fields)[1] == replies.download_failed(), pic_url
        logged = edge.log_since(mark, "photo done")
        assert "photo done: outcome=error error_code=download_failed" in logged
        assert "fetching the PicUrl" not in logged, pic_url
        assert [row for row, _ in edge.bot.usage(openid)] == ["error", "error"]
    time.sleep(0.3)
    assert edge.connections() == connections
    edge.assert_healthy()


# ---------------------------------------------------------------- any input (hypothesis)

TOKEN = "hypothesis-token"
FIELD_NAMES = st.sampled_from(
    [
        *("ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "PicUrl"),
        *("MediaId", "Event", "EventKey", "Encrypt", "Format", "Location_X", "xml", "raw"),
    ]
)
MSG_TYPES = st.sampled_from(["text", "image", "event", "voice", "location", "link", ""])


def _webhook_answers(body: bytes, *, aes: bool = False) -> tuple[str, list[IncomingMessage]]:
    """Call the webhook WSGI app in process; (status line, the messages it let through)."""
    config = Config(
        wechat={"token": TOKEN, "encoding_aes_key": AES_KEY if aes else ""},
        server={"path": "/wechat"},
    )
    seen: list[IncomingMessage] = []

    def reply(incoming: IncomingMessage) -> str:
        seen.append(incoming)
        return "ok"

    app = build_app(config, reply)
    ts, nonce = str(int(time.time())), "42"
    query = {"signature": get_signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}
    if aes:
        crypt = MessageCrypt(TOKEN, AES_KEY, config.app_id)
        plain = body.decode("utf-8", "replace")
        encrypt: str = crypt.prp_crypto.encrypt(plain, config.app_id).decode()
        query.update(encrypt_type="aes", msg_signature=get_signature(TOKEN, ts, nonce, encrypt))
        body = message_xml({"ToUserName": ACCOUNT_ID, "Encrypt": encrypt}).encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/wechat",
        "QUERY_STRING": urlencode(query),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    setup_testing_defaults(environ)
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], *_: Any) -> Any:
        status.append(line)

    b"".join(app(environ, start_response))
    return status[0], seen


@st.composite
def wechat_like_xml(draw: st.DrawFn) -> bytes:
    fields: dict[str, str | int] = draw(
        st.dictionaries(FIELD_NAMES, st.text(max_size=40) | st.integers(-(2**70), 2**70))
    )
    if draw(st.booleans()):
        fields["MsgType"] = draw(MSG_TYPES)
    xml = message_xml(fields)
    if draw(st.booleans()):  # raw, unescaped text spliced in somewhere
        at = draw(st.integers(0, len(xml)))
        xml = xml[:at] + draw(st.text(max_size=20)) + xml[at:]
    return xml.encode("utf-8", "surrogatepass")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=wechat_like_xml(), aes=st.booleans())
def test_any_wechat_like_xml_gets_an_answer_or_a_4xx(body: bytes, aes: bool) -> None:
    status, seen = _webhook_answers(body, aes=aes)
    assert status.split()[0] in ("200", "400")
    assert status.startswith("200") == bool(seen)


CARD_TEXT = st.sampled_from(
    [
        *("姓名", "性别", "民族", "出生", "住址", "公民身份号码", "签发机关", "有效期限", "长期"),
        *("中华人民共和国", "居民身份证", "银联", "UnionPay", "VALID THRU", "12/28", "男", "汉"),
        *("6222021234567890128", "11010519491231002X", "2018.01.08-2038.01.08", "-", "年月日"),
    ]
)
ANY_TEXT = CARD_TEXT | st.text(max_size=25) | st.from_regex(r"[0-9 X/.\-]{0,24}", fullmatch=True)
COORD = st.floats(-3000, 3000, allow_nan=False, allow_infinity=False)


@st.composite
def raw_boxes(draw: st.DrawFn) -> list[TextBox]:
    """Boxes of any shape, degenerate ones included."""
    boxes = []
    for _ in range(draw(st.integers(0, 14))):
        points = tuple((draw(COORD), draw(COORD)) for _ in range(4))
        boxes.append(TextBox(points, draw(ANY_TEXT), draw(st.floats(0, 1))))
    return boxes


@st.composite
def card_like_boxes(draw: st.DrawFn) -> list[TextBox]:
    """Text laid out like a card, at any angle: reaches deeper into the extractors."""
    printed = [
        Printed(
            draw(ANY_TEXT),
            draw(st.floats(-100, 900)),
            draw(st.floats(-100, 600)),
            height=draw(st.floats(1, 80)),
            char_width=draw(st.floats(1, 60)),
        )
        for _ in range(draw(st.integers(1, 12)))
    ]
    return card_boxes(printed, draw(st.floats(-180, 180)))


BLANK = np.zeros((8, 8, 3), dtype=np.uint8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boxes=raw_boxes() | card_like_boxes(), kind=st.sampled_from([*kind_names(), AUTO]))
# A small four-digit "hint" beside a longer number line: the hint-corrected number no
# longer lined up with the boxes it came from, and a seam lookup ran off its end.
@example(
    boxes=[
        TextBox(((0.0, 0.0),) * 4, "0000", 0.0),
        TextBox(((0.0, 0.0),) * 3 + ((0.0, 3.0),), "11010519491231002X", 0.0),
        TextBox(((0.0, 0.0),) * 4, "姓名", 0.0),
        TextBox(((0.0, 0.0),) * 3 + ((0.0, 3.0),), "0", 0.0),
    ],
    kind="idcard",
)
# Boxes thousands of pixels beyond an 8 x 8 photo, read as a table: the ruling search warped
# a region of a hundred million pixels and opened it with kernels thousands long (past the
# 900 s timeout at a load of 70). Tall boxes, then small ones far off.
@example(
    boxes=[
        TextBox(((0.0, 3000.0), (1275.5, 3000.0), (-2999.0, 0.0), (-1885.3, -401.4)), "银联", 0.5),
        TextBox(((2.0, 0.0), (-2202.7, -1948.8), (2825.3, 934.8), (-903.7, 1182.1)), "住址", 0.5),
        TextBox(((2471.2, 0.0), (2317.0, 0.0), (2994.5, 2999.0), (2868.1, 1881.1)), "性别", 0.5),
    ],
    kind="table",
)
@example(
    boxes=[
        TextBox(((x, y), (x + 300.0, y), (x + 300.0, y + 30.0), (x, y + 30.0)), text, 0.9)
        for x, y, text in (
            (-2900.0, -2900.0, "姓名"),
            (2900.0, 2900.0, "住址"),
            (2900.0, -2900.0, "表"),
        )
    ],
    kind="table",
)
def test_field_extractors_give_a_card_or_a_typed_error(boxes: list[TextBox], kind: Kind) -> None:
    page = OcrPage(BLANK, boxes)

    def read_page() -> CardResult:
        return read_card(page, kind)

    def read_bankcard() -> CardResult:
        return extract_bankcard(boxes)

    for read in (read_page, read_bankcard):
        try:
            result = read()
        except OcrError:
            continue
        assert isinstance(result, CardResult)
        assert result.kind in kind_names()
        assert all(isinstance(value, str) for value in result.fields.values())
