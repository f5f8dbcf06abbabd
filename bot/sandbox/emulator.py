"""A local emulator of the WeChat API, so that nothing needs a real official account.

A bottle app (routing, query and multipart parsing are bottle's), mounted under ``/sandbox``
by ``wxocr serve`` in sandbox mode and served standalone by ``wxocr sandbox``.
It answers like WeChat (errcode JSON with HTTP 200):

- ``cgi-bin/token`` and ``cgi-bin/stable_token``: app id/secret check, expiry, a new token
  retires the previous one after a grace period; every request is counted.
- ``cgi-bin/media/upload`` (image, voice, video, thumb: the format is read from the bytes,
  whatever the multipart part declares, and checked against the type and WeChat's size
  limits) and ``cgi-bin/media/get`` (the file with its real content type; a video's URL as
  JSON; 40007 for unknown or expired media), and PicUrl-style URLs ``/mmbiz/<media_id>``.
- ``cgi-bin/message/custom/send``: records each message of the documented types (text,
  image, voice, video, music, news, mpnews, mpnewsarticle, msgmenu, wxcard,
  miniprogrampage); a text's content as sent (45002 over 2,048 bytes), any other type's
  object as JSON.
- A known path called with the wrong method answers 43001/43002, an unknown path 40066,
  both as errcode JSON like every other error.
- ``cv/ocr/<kind>`` (each kind's ``wechat_path``: ``cv/ocr/idcard``, ``cv/ocr/bankcard``,
  ``cv/ocr/comm`` for printed text...): WeChat's JSON from an ``ocr.engine`` engine
  (the local one by default), 101000/101001/101002, a daily quota (45009).

Control endpoints (no token) under ``/_control/``: ``stats``, ``messages?openid=``,
``faults`` (GET list, POST add, DELETE clear), ``tokens/revoke``, ``quota``, ``reset``,
``hold`` and ``release``.
Fault rules add latency, answer an errcode or an HTTP status, or drop the connection, for
every call or the next N calls or a share of calls, on all paths or a path prefix.
A hold (``POST /_control/hold {"path_prefix": "/cv/ocr/", "timeout_s": 30}``) keeps the
API calls under a prefix waiting until ``POST /_control/release`` (or its timeout, after
which they go on as usual), so a test can keep a call "in flight" as long as it likes.

Everything is kept in memory. Images and message texts live only as long as the process.
"""

from __future__ import annotations

import hmac
import json
import logging
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any
from wsgiref.types import StartResponse
from wsgiref.types import WSGIApplication as WSGIApp

import bottle
from bottle import HTTPResponse

from bot.config import Config, SandboxConfig
from ocr.engine import Engine, Kind
from ocr.engines import create_engine
from ocr.errors import EngineError, ImageError, NoCardFound
from ocr.kinds import KINDS, wechat_json

log = logging.getLogger(__name__)


MAX_BODY_BYTES = 12 * 1024 * 1024
OCR_MAX_IMAGE_BYTES = 2 * 1024 * 1024
# WeChat's limit on a text message's content: 2,048 bytes of UTF-8 (45002 above it).
TEXT_MAX_BYTES = 2048
# WeChat's stable_token hands out a new token only in the last 5 minutes of the old one.
STABLE_RENEW_WINDOW_S = 300
# Bodies up to this size stay in memory: bottle writes larger ones to a named temporary
# file, and uploaded card photos must never touch the disk. bottle is configured by this
# class attribute, for every bottle app in the process: the admin page refuses forms over
# 4 KB before reading them, so the sandbox's limit is the one that matters.
bottle.BaseRequest.MEMFILE_MAX = MAX_BODY_BYTES


class SandboxDrop(ConnectionAbortedError):
    """Raised mid-response to drop the connection (the client sees an incomplete answer)."""


class _QuietDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], SandboxDrop))


logging.getLogger("waitress").addFilter(_QuietDrops())


@dataclass
class FaultRule:
    """One injected fault. Applies to paths starting with ``path_prefix`` ("" = all API
    paths), to a ``rate`` share of calls, for the next ``remaining`` calls (None = all)."""

    path_prefix: str = ""
    latency_ms: int = 0
    errcode: int | None = None
    http_status: int | None = None
    drop: bool = False
    rate: float = 1.0
    remaining: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        known = {name for name in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        rule = cls(**data)
        if not 0 <= rule.rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        return rule


@dataclass
class _Hold:
    """Calls under ``path_prefix`` wait for ``gate`` (at most ``timeout_s``) before answering."""

    path_prefix: str
    timeout_s: float
    gate: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class SentMessage:
    touser: str
    msgtype: str
    content: str
    sent_at: float


@dataclass
class _Media:
    data: bytes
    content_type: str
    created_at: float
    media_type: str = "image"


@dataclass(frozen=True)
class MediaFormat:
    name: str
    content_type: str
    extension: str


JPEG = MediaFormat("jpeg", "image/jpeg", "jpg")
PNG = MediaFormat("png", "image/png", "png")
GIF = MediaFormat("gif", "image/gif", "gif")
AMR = MediaFormat("amr", "audio/amr", "amr")
MP3 = MediaFormat("mp3", "audio/mpeg", "mp3")
MP4 = MediaFormat("mp4", "video/mp4", "mp4")


def detect_format(data: bytes) -> MediaFormat | None:
    """The media format of ``data`` from its first bytes (None: none WeChat takes)."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if data.startswith(b"#!AMR"):
        return AMR
    # An ID3 tag, or straight into an MPEG audio frame (11 sync bits).
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return MP3
    if data[4:8] == b"ftyp":
        return MP4
    return None


@dataclass(frozen=True)
class _MediaRule:
    formats: frozenset[MediaFormat]
    max_bytes: int
    size_errcode: int
    size_errmsg: str


# WeChat's temporary media: what each type takes and how large it may be.
MEDIA_RULES = {
    "image": _MediaRule(frozenset({JPEG, PNG, GIF}), 10 * 1024 * 1024, 40009, "invalid image size"),
    "voice": _MediaRule(frozenset({AMR, MP3}), 2 * 1024 * 1024, 40010, "invalid voice size"),
    "video": _MediaRule(frozenset({MP4}), 10 * 1024 * 1024, 40011, "invalid video size"),
    "thumb": _MediaRule(frozenset({JPEG}), 64 * 1024, 40012, "invalid thumb size"),
}
# The customer-service message types WeChat documents, and the fields each must carry.
CUSTOM_MESSAGE_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("content",),
    "image": ("media_id",),
    "voice": ("media_id",),
    "video": ("media_id",),
    "music": ("musicurl", "hqmusicurl", "thumb_media_id"),
    "news": ("articles",),
    "mpnews": ("media_id",),
    "mpnewsarticle": ("article_id",),
    "msgmenu": ("list",),
    "wxcard": ("card_id",),
    "miniprogrampage": ("appid", "pagepath", "thumb_media_id"),
}
# Types whose media_id is one of the temporary media uploaded before (checked: 40007).
_CUSTOM_MEDIA_TYPES = frozenset({"image", "voice", "video"})


@dataclass
class _Token:
    mode: str  # "classic" or "stable": each kind retires only its own predecessors
    expires_at: float
    retire_at: float | None = None  # replaced by a newer token: invalid (40001) from then on
    revoked: bool = False


def _json(data: dict[str, Any], content_type: str = "application/json") -> HTTPResponse:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return HTTPResponse(body, headers={"Content-Type": f"{content_type}; charset=utf-8"})


def _errcode(errcode: int, errmsg: str, content_type: str = "application/json") -> HTTPResponse:
    """WeChat's error answer: errcode JSON with HTTP 200."""
    return _json({"errcode": errcode, "errmsg": errmsg}, content_type)


def _plain(status: int | str, text: str) -> HTTPResponse:
    return HTTPResponse(text, status, headers={"Content-Type": "text/plain; charset=utf-8"})


def _query_value(name: str) -> str | None:
    raw: str | None = bottle.request.query.get(name)
    # bottle hands out WSGI's latin-1 text (PEP 3333); bad UTF-8 must not fail the call.
    return None if raw is None else raw.encode("latin-1").decode("utf-8", "replace")


def _query(name: str, default: str = "") -> str:
    value = _query_value(name)
    return default if value is None else value


def _json_body() -> dict[str, Any]:
    """The JSON object of the body, whatever Content-Type says (wechatpy declares none)."""
    try:
        data = json.loads(bottle.request.body.read() or b"{}")
    except ValueError:
        raise _errcode(47001, "data format error") from None
    if not isinstance(data, dict):
        raise _errcode(47001, "data format error")
    return data


def _form_file(name: str) -> bytes | None:
    """The bytes of multipart part ``name``; what the part declares about them is ignored."""
    environ = bottle.request.environ
    if "bottle.request.post" not in environ:
        # bottle makes text of a part sent without a filename, decoded by the body's charset:
        # as latin-1 any bytes decode, and encode back to exactly what was sent.
        environ["CONTENT_TYPE"] = environ.get("CONTENT_TYPE", "") + "; charset=latin-1"
    try:
        part = bottle.request.POST.get(name)
    except (bottle.MultipartError, ValueError):  # a malformed body
        return None
    if isinstance(part, str):
        return part.encode("latin-1")
    if part is None:
        return None
    data: bytes = part.file.read()
    return data


def _base_url() -> str:
    """scheme://host/script_name: where this app is reachable."""
    parts = bottle.request.urlparts
    return f"{parts.scheme}://{parts.netloc}{bottle.request.environ.get('SCRIPT_NAME', '')}"


def _dropped() -> HTTPResponse:
    def body() -> Iterator[bytes]:
        yield b"{"
        raise SandboxDrop("sandbox fault: connection dropped")

    headers = {"Content-Type": "application/json; charset=utf-8", "Content-Length": "1024"}
    return HTTPResponse(body(), headers=headers)


Handler = Callable[[], HTTPResponse]


class SandboxApp:
    """The WeChat API emulator (WSGI). ``engine`` answers cv/ocr; set it or give a factory."""

    def __init__(
        self,
        settings: SandboxConfig,
        *,
        engine: Engine | None = None,
        engine_factory: Callable[[], Engine] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.engine_factory = engine_factory
        self.clock = clock
        self.sleep = sleep
        self.ocr_daily_quota = settings.ocr_daily_quota
        self._rng = random.Random(seed)  # noqa: S311  (fault injection, not crypto)
        self._lock = threading.Lock()
        self._engine_lock = threading.Lock()
        self.web = bottle.Bottle()
        self.web.add_hook("before_request", _refuse_large_bodies)
        api: list[tuple[str, str, Handler]] = [
            ("GET", "/cgi-bin/token", self._token),
            ("POST", "/cgi-bin/stable_token", self._stable_token),
            ("POST", "/cgi-bin/media/upload", self._media_upload),
            ("GET", "/cgi-bin/media/get", self._media_get),
            ("POST", "/cgi-bin/message/custom/send", self._custom_send),
        ]
        # One cv/ocr route per document kind that WeChat reads (ocr/kinds/).
        api += [("POST", k.wechat_path, partial(self._ocr, k.name)) for k in KINDS if k.wechat_path]
        for method, path, handler in api:
            self.web.route(path, method, self._api_call(path, handler))
        control: list[tuple[str | list[str], str, Handler]] = [
            ("GET", "/_control/stats", self._control_stats),
            ("GET", "/_control/messages", self._control_messages),
            (["GET", "POST", "DELETE"], "/_control/faults", self._control_faults),
            ("POST", "/_control/tokens/revoke", self._control_revoke),
            ("POST", "/_control/quota", self._control_quota),
            ("POST", "/_control/reset", self._control_reset),
            ("POST", "/_control/hold", self._control_hold),
            ("POST", "/_control/release", self._control_release),
        ]
        for methods, path, handler in control:
            self.web.route(path, methods, handler)
        self.web.route("/mmbiz/<media_id:path>", "ANY", self._picurl)
        self.web.route("/", "ANY", self._unknown_path)
        self.web.route("/<path:path>", "ANY", self._unknown_path)
        self._hold: _Hold | None = None
        self.held = 0  # calls waiting at the hold right now
        self.reset()

    @classmethod
    def from_config(cls, config: Config) -> SandboxApp:
        """The sandbox of ``wxocr serve``/``wxocr sandbox``: OCR by the local engine."""

        def local_engine() -> Engine:
            from bot.config import local_engine_options

            return create_engine("local", **local_engine_options(config))

        return cls(config.sandbox, engine_factory=local_engine)

    # -- state

    def reset(self) -> None:
        """Forget tokens, media, messages, counters, quota use; faults back to the config's;
        release a hold."""
        self.release()
        with self._lock:
            self._tokens: dict[str, _Token] = {}
            self._current: dict[str, str] = {}  # "classic"/"stable" -> latest token
            self._media: dict[str, _Media] = {}
            self._messages: list[SentMessage] = []
            self.requests: Counter[str] = Counter()
            self._ocr_calls: Counter[str] = Counter()  # UTC day -> calls
            self.faults: list[FaultRule] = self._configured_faults()

    def _configured_faults(self) -> list[FaultRule]:
        rules = []
        if self.settings.latency_ms:
            rules.append(FaultRule(latency_ms=self.settings.latency_ms))
        if self.settings.error_rate:
            rules.append(FaultRule(errcode=-1, rate=self.settings.error_rate))
        if self.settings.drop_rate:
            rules.append(FaultRule(drop=True, rate=self.settings.drop_rate))
        return rules

    def add_fault(self, rule: FaultRule) -> None:
        with self._lock:
            self.faults.append(rule)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults = []

    def hold(self, path_prefix: str = "", timeout_s: float = 30.0) -> None:
        """API calls under ``path_prefix`` ("" = all) wait until ``release`` (or ``timeout_s``).

        A new hold replaces the previous one, whose waiting calls go on at once."""
        if not timeout_s > 0:
            raise ValueError("timeout_s must be positive")
        self._replace_hold(_Hold(path_prefix, timeout_s))

    def release(self) -> None:
        """Let the held calls go on; later calls are not held."""
        self._replace_hold(None)

    def _replace_hold(self, hold: _Hold | None) -> None:
        with self._lock:
            previous, self._hold = self._hold, hold
        if previous is not None:
            previous.gate.set()

    def _wait_at_hold(self, path: str) -> None:
        with self._lock:
            hold = self._hold
            if hold is None or not path.startswith(hold.path_prefix):
                return
            self.held += 1
        try:
            if not hold.gate.wait(hold.timeout_s):
                log.warning("sandbox: a held call was never released; going on after the timeout")
        finally:
            with self._lock:
                self.held -= 1

    def messages_for(self, openid: str | None = None) -> list[SentMessage]:
        with self._lock:
            return [m for m in self._messages if openid is None or m.touser == openid]

    @property
    def token_requests(self) -> int:
        return self.requests["/cgi-bin/token"] + self.requests["/cgi-bin/stable_token"]

    def ocr_calls_today(self) -> int:
        return self._ocr_calls[self._today()]

    def revoke_tokens(self) -> None:
        """Every issued token stops working (WeChat answers 40001 to it)."""
        with self._lock:
            for token in self._tokens.values():
                token.revoked = True

    def upload(
        self, data: bytes, content_type: str = "image/jpeg", media_type: str = "image"
    ) -> str:
        """Store media directly, unchecked (tests); returns its media_id."""
        media_id = "SBX_" + secrets.token_urlsafe(24)
        with self._lock:
            self._media[media_id] = _Media(data, content_type, self.clock(), media_type)
        return media_id

    def _today(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).date().isoformat()

    # -- WSGI

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body: Iterable[bytes] = self.web(environ, start_response)
        return body

    def _api_call(self, path: str, handler: Handler) -> Handler:
        """``handler`` behind what every API call goes through: counting, hold, faults."""

        def call() -> HTTPResponse:
            with self._lock:
                self.requests[path] += 1
            self._wait_at_hold(path)
            try:
                self._inject_faults(path)
            except SandboxDrop:
                return _dropped()
            return handler()

        return call

    def _unknown_path(self, path: str = "") -> HTTPResponse:
        # WeChat answers a wrong method or an unknown path with HTTP 200 and an errcode.
        methods = {route.method for route in self.web.routes if route.rule == f"/{path}"}
        if "POST" in methods:
            return _errcode(43002, "require POST method")
        if "GET" in methods:
            return _errcode(43001, "require GET method")
        return _errcode(40066, "invalid url (sandbox: unknown API path)")

    def _inject_faults(self, path: str) -> None:
        latency_ms = 0
        outcome: FaultRule | None = None
        with self._lock:
            for rule in list(self.faults):
                if not path.startswith(rule.path_prefix) or rule.remaining == 0:
                    continue
                decides = rule.drop or bool(rule.http_status) or rule.errcode is not None
                if decides and outcome is not None:
                    continue  # one answer per call; this rule waits for the next call
                if rule.rate < 1 and self._rng.random() >= rule.rate:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self.faults.remove(rule)
                latency_ms += rule.latency_ms
                if decides:
                    outcome = rule
        if latency_ms:
            self.sleep(latency_ms / 1000)
        if outcome is None:
            return
        if outcome.drop:
            raise SandboxDrop("sandbox fault: connection dropped")
        if outcome.http_status:
            raise _plain(f"{outcome.http_status} Sandbox Fault", "sandbox fault")
        assert outcome.errcode is not None
        raise _errcode(outcome.errcode, "sandbox fault")

    # -- tokens

    def _check_credentials(self, appid: str, secret: str, grant_type: str) -> None:
        if grant_type != "client_credential":
            raise _errcode(40002, "invalid grant_type")
        if not appid:
            raise _errcode(41002, "appid missing")
        if not hmac.compare_digest(appid.encode(), self.settings.app_id.encode()):
            raise _errcode(40013, "invalid appid")
        if not secret:
            raise _errcode(41004, "appsecret missing")
        if not hmac.compare_digest(secret.encode(), self.settings.app_secret.encode()):
            raise _errcode(40125, "invalid appsecret")

    def _token(self) -> HTTPResponse:
        self._check_credentials(_query("appid"), _query("secret"), _query("grant_type"))
        token, expires_in = self._issue("classic", renew=True, immediately=False)
        return _json({"access_token": token, "expires_in": expires_in})

    def _stable_token(self) -> HTTPResponse:
        data = _json_body()
        self._check_credentials(
            str(data.get("appid", "")), str(data.get("secret", "")), str(data.get("grant_type", ""))
        )
        force = bool(data.get("force_refresh", False))
        token, expires_in = self._issue("stable", renew=force, immediately=force)
        return _json({"access_token": token, "expires_in": expires_in})

    def _issue(self, mode: str, *, renew: bool, immediately: bool) -> tuple[str, int]:
        """The token to hand out: the current one (stable, not near its end) or a new one.

        A new token retires the previous ones after the grace (at once when forced)."""
        now = self.clock()
        with self._lock:
            current = self._current.get(mode)
            state = self._tokens.get(current) if current else None
            fresh_enough = (
                state is not None
                and not state.revoked
                and state.expires_at - now > STABLE_RENEW_WINDOW_S
            )
            if current and state and fresh_enough and not renew:
                return current, int(state.expires_at - now)
            grace = 0 if immediately else self.settings.token_grace_s
            for old in self._tokens.values():
                if old.mode == mode and old.retire_at is None:
                    old.retire_at = now + grace
            token = "SBX_" + secrets.token_urlsafe(60)
            self._tokens[token] = _Token(mode, expires_at=now + self.settings.token_ttl_s)
            self._current[mode] = token
            return token, self.settings.token_ttl_s

    def _require_token(self, content_type: str = "application/json") -> None:
        token = _query("access_token", "")
        if not token:
            raise _errcode(41001, "access_token missing", content_type)
        with self._lock:
            state = self._tokens.get(token)
        now = self.clock()
        retired = state is not None and state.retire_at is not None and state.retire_at <= now
        if state is None or state.revoked or retired:
            raise _errcode(40001, "invalid credential, access_token is invalid", content_type)
        if state.expires_at <= now:
            raise _errcode(42001, "access_token expired", content_type)

    # -- media

    def _media_upload(self) -> HTTPResponse:
        self._require_token()
        media_type = _query("type", "")
        rule = MEDIA_RULES.get(media_type)
        if rule is None:
            raise _errcode(40004, "invalid media type")
        # What the part declares is ignored, as WeChat does: clients often declare nothing
        # (wechatpy sends an open file, which multipart calls text/plain) or guess wrong.
        data = _form_file("media")
        if not data:
            raise _errcode(41005, "media data missing")
        found = detect_format(data)
        if found is None:
            raise _errcode(40113, "unsupported file type")
        if found not in rule.formats:
            raise _errcode(40005, "invalid file type")
        if len(data) > rule.max_bytes:
            raise _errcode(rule.size_errcode, rule.size_errmsg)
        media_id = self.upload(data, found.content_type, media_type)
        # A thumb's answer names its id thumb_media_id (WeChat's docs say media_id).
        id_key = "thumb_media_id" if media_type == "thumb" else "media_id"
        return _json(
            {
                "type": media_type,
                id_key: media_id,
                "created_at": int(self.clock()),
                # Not in WeChat's answer: where the sandbox serves this file as a PicUrl.
                "url": f"{_base_url()}/mmbiz/{media_id}",
            }
        )

    def _find_media(self, media_id: str) -> _Media | None:
        with self._lock:
            media = self._media.get(media_id)
        if media is None or self.clock() - media.created_at > self.settings.media_ttl_s:
            return None
        return media

    def _media_get(self) -> HTTPResponse:
        # WeChat answers media/get errors as JSON with text/plain and HTTP 200.
        self._require_token("text/plain")
        media_id = _query("media_id", "")
        media = self._find_media(media_id)
        if media is None:
            raise _errcode(40007, "invalid media_id", "text/plain")
        if media.media_type == "video":
            # WeChat hands out a video as a download URL, not as the file itself.
            return _json({"video_url": f"{_base_url()}/mmbiz/{media_id}"})
        found = detect_format(media.data)
        extension = found.extension if found is not None else "bin"
        disposition = f'attachment; filename="{media_id[-12:]}.{extension}"'
        return HTTPResponse(
            media.data,
            headers={"Content-Type": media.content_type, "Content-Disposition": disposition},
        )

    def _picurl(self, media_id: str) -> HTTPResponse:
        media = self._find_media(media_id)
        if media is None:
            return _plain(404, "not found")
        return HTTPResponse(media.data, headers={"Content-Type": media.content_type})

    # -- customer-service messages

    def _custom_send(self) -> HTTPResponse:
        self._require_token()
        data = _json_body()
        touser = data.get("touser")
        if not isinstance(touser, str) or not touser:
            raise _errcode(40003, "invalid openid")
        msgtype = data.get("msgtype")
        if not isinstance(msgtype, str) or msgtype not in CUSTOM_MESSAGE_FIELDS:
            raise _errcode(40008, "invalid message type")
        body = data.get(msgtype)
        if not isinstance(body, dict):
            raise _errcode(47001, "data format error")
        self._check_custom_body(msgtype, body)
        content = body["content"] if msgtype == "text" else json.dumps(body, ensure_ascii=False)
        with self._lock:
            self._messages.append(SentMessage(touser, msgtype, content, self.clock()))
        return _errcode(0, "ok")

    def _check_custom_body(self, msgtype: str, body: dict[str, Any]) -> None:
        """WeChat's errcode for a message of ``msgtype`` that lacks what the type needs."""
        missing = [name for name in CUSTOM_MESSAGE_FIELDS[msgtype] if not body.get(name)]
        if msgtype == "text":
            if missing or not isinstance(body["content"], str):
                raise _errcode(44004, "empty content")
            if len(body["content"].encode("utf-8")) > TEXT_MAX_BYTES:
                raise _errcode(45002, "content size out of limit")
            return
        if msgtype in _CUSTOM_MEDIA_TYPES:
            media = self._find_media(str(body.get("media_id", "")))
            if media is None or media.media_type != msgtype:
                raise _errcode(40007, "invalid media_id")
            return
        if msgtype == "news":
            articles = body.get("articles")
            if not isinstance(articles, list) or not articles:
                raise _errcode(44003, "empty news data")
            if len(articles) > 1:
                raise _errcode(45008, "article size out of limit")
            if not all(isinstance(a, dict) and a.get("title") for a in articles):
                raise _errcode(47001, "data format error")
            return
        if msgtype == "msgmenu":
            items = body.get("list")
            valid = isinstance(items, list) and all(
                isinstance(i, dict) and i.get("id") and i.get("content") for i in items
            )
            if missing or not valid:
                raise _errcode(47001, "data format error")
            return
        if missing:
            raise _errcode(47001, "data format error")

    # -- OCR

    def _ocr(self, kind: Kind) -> HTTPResponse:
        self._require_token()
        mode = _query("type", "photo")
        if mode not in ("photo", "scan"):
            raise _errcode(40097, "invalid args")
        with self._lock:
            today = self._today()
            if self._ocr_calls[today] >= self.ocr_daily_quota:
                raise _errcode(45009, "reach max api daily quota limit")
            self._ocr_calls[today] += 1
        image = self._ocr_image()
        if not image or len(image) >= OCR_MAX_IMAGE_BYTES:
            raise _errcode(101002, "invalid image data")
        engine = self._ocr_engine()
        try:
            with self._engine_lock:  # OCR engine objects are not thread-safe
                result = engine.recognize(image, kind, "scan" if mode == "scan" else "photo")
        except NoCardFound:
            raise _errcode(101001, "certificate not found") from None
        except ImageError:
            raise _errcode(101002, "invalid image data") from None
        except EngineError:
            raise _errcode(-1, "system error") from None
        if result.kind != kind:
            raise _errcode(101001, "certificate not found")
        return _json(wechat_json(result))

    def _ocr_image(self) -> bytes:
        img_url = _query("img_url") or None
        if img_url is not None:
            # Only the sandbox's own PicUrls: an emulator must not fetch arbitrary URLs.
            media_id = img_url.rsplit("/mmbiz/", 1)[-1] if "/mmbiz/" in img_url else ""
            media = self._find_media(media_id)
            if media is None:
                raise _errcode(101000, "invalid image url")
            return media.data
        image = _form_file("img")
        if image is None:
            raise _errcode(101000, "invalid image url")
        return image

    def _ocr_engine(self) -> Engine:
        with self._engine_lock:
            if self.engine is None and self.engine_factory is not None:
                self.engine = self.engine_factory()
        if self.engine is None:
            raise _errcode(-1, "system error (sandbox has no OCR engine)")
        return self.engine

    # -- control

    def _control_stats(self) -> HTTPResponse:
        with self._lock:
            return _json(
                {
                    "requests": dict(self.requests),
                    "token_requests": self.token_requests,
                    "ocr_calls_today": self._ocr_calls[self._today()],
                    "ocr_daily_quota": self.ocr_daily_quota,
                    "media": len(self._media),
                    "messages": len(self._messages),
                    "faults": len(self.faults),
                    "held": self.held,
                }
            )

    def _control_messages(self) -> HTTPResponse:
        messages = self.messages_for(_query_value("openid"))
        return _json({"messages": [asdict(m) for m in messages]})

    def _control_faults(self) -> HTTPResponse:
        if bottle.request.method == "POST":
            data = _json_body()
            try:
                rule = FaultRule.from_json(data)
            except (TypeError, ValueError) as exc:
                return _plain(400, str(exc))
            self.add_fault(rule)
        elif bottle.request.method == "DELETE":
            self.clear_faults()
        with self._lock:
            return _json({"faults": [asdict(rule) for rule in self.faults]})

    def _control_revoke(self) -> HTTPResponse:
        self.revoke_tokens()
        return _errcode(0, "ok")

    def _control_quota(self) -> HTTPResponse:
        data = _json_body()
        with self._lock:
            if isinstance(data.get("ocr_daily_quota"), int):
                self.ocr_daily_quota = data["ocr_daily_quota"]
            if isinstance(data.get("used_today"), int):
                self._ocr_calls[self._today()] = data["used_today"]
        return self._control_stats()

    def _control_reset(self) -> HTTPResponse:
        self.reset()
        return _errcode(0, "ok")

    def _control_hold(self) -> HTTPResponse:
        data = _json_body()
        path_prefix = data.get("path_prefix", "")
        timeout_s = data.get("timeout_s", 30.0)
        unknown = set(data) - {"path_prefix", "timeout_s"}
        valid_timeout = isinstance(timeout_s, int | float) and not isinstance(timeout_s, bool)
        if unknown or not isinstance(path_prefix, str) or not valid_timeout or timeout_s <= 0:
            return _plain(400, "hold takes path_prefix (string) and timeout_s (positive number)")
        self.hold(path_prefix, float(timeout_s))
        return _errcode(0, "ok")

    def _control_release(self) -> HTTPResponse:
        self.release()
        return _errcode(0, "ok")


def _refuse_large_bodies() -> None:
    if bottle.request.content_length > MAX_BODY_BYTES:
        raise _errcode(40006, "invalid media size")


# ---------------------------------------------------------------- serving


def mounted(prefix: str, app: WSGIApp) -> WSGIApp:
    """``app`` under ``prefix`` (e.g. "/sandbox"), 404 elsewhere."""
    prefix = prefix.rstrip("/")

    def dispatch(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path != prefix and not path.startswith(prefix + "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        environ = dict(environ)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
        environ["PATH_INFO"] = path[len(prefix) :]
        return app(environ, start_response)

    return dispatch


class SandboxServer:
    """The sandbox under ``/sandbox`` on a waitress server in a background thread."""

    def __init__(
        self, app: SandboxApp, *, host: str = "127.0.0.1", port: int = 0, threads: int = 8
    ) -> None:
        from waitress.server import BaseWSGIServer, create_server

        self.app = app
        server = create_server(
            mounted("/sandbox", app),
            host=host,
            port=port,
            threads=threads,
            clear_untrusted_proxy_headers=True,
            # Idle connections are cut by wall-clock age; tests move that clock by days.
            channel_timeout=10**9,
        )
        if not isinstance(server, BaseWSGIServer):
            raise ValueError(f"the sandbox serves one address, not {host!r}")
        self._server = server
        self.host = host
        self.port = int(getattr(server, "effective_port"))  # noqa: B009  (not in the stubs)
        self._thread = threading.Thread(target=self._server.run, name="sandbox", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``wechat.api_base`` should be to talk to this sandbox."""
        return f"{self.url}/sandbox"

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        stop_serving(self._server, self._thread)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def stop_serving(server: Any, thread: threading.Thread) -> None:
    """Stop a waitress ``server`` running ``server.run`` in ``thread`` (the sandbox's, the
    tests' admin server's)."""
    channels: dict[int, Any] = getattr(server, "_map", {})

    def close_everything() -> None:
        # Keep-alive client connections keep waitress's loop running: close them too.
        for channel in list(channels.values()):
            channel.close()

    try:
        # The thunk runs inside the serving loop, which then finds nothing left to serve.
        getattr(server, "trigger").pull_trigger(close_everything)  # noqa: B009
    except OSError:
        # The trigger's pipe already gone (EBADF: seen in CI on 2026-11-30 after a test
        # had passed): close from here; the loop's next poll finds its map empty.
        log.warning("serving loop did not take the stop request; closing directly")
        close_everything()
    thread.join(timeout=5)
    server.task_dispatcher.shutdown()
