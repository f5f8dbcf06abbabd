"""One client for the WeChat API (httpx) and the token endpoints; it knows only an ``api_base``.

The ``wechat`` OCR engine built on it is ``bot.wxapi.ocr_engine``.

- Every answer goes through :func:`raise_for_errcode`, the one place that maps WeChat's
  ``errcode`` to a typed exception.
- Network errors, HTTP 5xx and errcode -1 are retried with backoff; permanent errors
  are not. A token error (40001/40014/42001) makes the client ask its token provider for
  a new token once and retry the call once.
- Secrets stay out of logs: the access token and app secret travel in query strings,
  which httpx logs, so a filter on the ``httpx`` logger blanks them.

Local pseudo-errcodes (never sent by WeChat) are negative below -1: -2 no answer
(network error or HTTP 5xx), -3 unusable answer, -4 media too large.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, TypeVar

import httpx

from ocr.engine import Mode

log = logging.getLogger(__name__)

T = TypeVar("T")

NO_ANSWER = -2
BAD_ANSWER = -3
MEDIA_TOO_LARGE = -4

_JSON_CONTENT_TYPES = ("application/json", "text/json", "text/plain")
_SECRET_IN_URL = re.compile(r"((?:access_token|secret|appsecret)=)[^&\s\"']+", re.IGNORECASE)


# ---------------------------------------------------------------- errors


class WechatError(Exception):
    """WeChat answered a non-zero errcode (or did not answer usefully).

    ``str()`` holds the errcode and a short name only: errmsg is kept in ``errmsg`` for
    debugging but never put in messages or logs.
    """

    transient: ClassVar[bool] = False
    name: ClassVar[str] = "wechat error"

    def __init__(self, errcode: int, errmsg: str = "") -> None:
        super().__init__(f"WeChat errcode {errcode} ({self.name})")
        self.errcode = errcode
        self.errmsg = errmsg


class WechatBusy(WechatError):
    transient = True
    name = "system busy"


class WechatUnavailable(WechatError):
    """No answer: network error, timeout, dropped connection, HTTP 5xx."""

    transient = True
    name = "no answer"


class WechatBadResponse(WechatError):
    name = "unusable answer"


class WechatTokenError(WechatError):
    """The access token is invalid, not the latest, or expired."""

    name = "access token rejected"


class WechatCredentialError(WechatError):
    """Wrong app id or secret, or this server's IP is not whitelisted: fix the config."""

    name = "credentials refused"


class WechatQuotaError(WechatError):
    name = "quota reached"


class WechatUnauthorized(WechatError):
    name = "API not authorised for this account"


class WechatBadMedia(WechatError):
    name = "invalid media_id"


class WechatMediaTooLarge(WechatError):
    name = "media too large"


class WechatRecipientError(WechatError):
    name = "invalid recipient"


class WechatReplyWindowClosed(WechatError):
    """More than 48 hours since the user's last message: customer-service messages refused."""

    name = "reply window closed"


class WechatTooManyMessages(WechatError):
    name = "too many messages in the reply window"


class WechatOcrError(WechatError):
    name = "OCR error"


class WechatOcrBadImageUrl(WechatOcrError):
    name = "invalid image URL"


class WechatOcrNoCard(WechatOcrError):
    name = "card not found"


class WechatOcrBadImage(WechatOcrError):
    name = "invalid image data"


_ERRCODE_TYPES: dict[int, type[WechatError]] = {
    -1: WechatBusy,
    40001: WechatTokenError,
    40014: WechatTokenError,
    42001: WechatTokenError,
    40002: WechatCredentialError,
    40013: WechatCredentialError,
    40125: WechatCredentialError,
    40164: WechatCredentialError,
    41002: WechatCredentialError,
    41004: WechatCredentialError,
    45009: WechatQuotaError,
    45011: WechatQuotaError,
    101003: WechatQuotaError,
    48001: WechatUnauthorized,
    40007: WechatBadMedia,
    40003: WechatRecipientError,
    43004: WechatRecipientError,
    45015: WechatReplyWindowClosed,
    45047: WechatTooManyMessages,
    101000: WechatOcrBadImageUrl,
    101001: WechatOcrNoCard,
    101002: WechatOcrBadImage,
}


def error_for(errcode: int, errmsg: str = "") -> WechatError:
    return _ERRCODE_TYPES.get(errcode, WechatError)(errcode, errmsg)


def raise_for_errcode(body: Mapping[str, Any]) -> None:
    """Raise the typed error for a non-zero ``errcode`` (WeChat sends it as int or string)."""
    raw = body.get("errcode", 0)
    try:
        errcode = int(raw)
    except (TypeError, ValueError):
        raise WechatBadResponse(BAD_ANSWER, "errcode is not a number") from None
    if errcode != 0:
        raise error_for(errcode, str(body.get("errmsg", "")))


def wechat_errcode(exc: BaseException) -> int | None:
    """The WeChat errcode behind ``exc`` (itself or a cause), e.g. for the usage row."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, WechatError):
            return seen.errcode
        seen = seen.__cause__
    return None


class _RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_IN_URL.sub(r"\1***", str(arg)) if _SECRET_IN_URL.search(str(arg)) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _SECRET_IN_URL.sub(r"\1***", record.msg)
        return True


def _install_log_redaction() -> None:
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactSecrets) for f in logger.filters):
            logger.addFilter(_RedactSecrets())


_install_log_redaction()


# ---------------------------------------------------------------- HTTP with retries


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of transient failures: ``backoff_s * 2**n`` with jitter, capped."""

    max_retries: int = 2
    backoff_s: float = 0.2
    max_backoff_s: float = 2.0

    def delay(self, retry: int) -> float:
        base = min(self.max_backoff_s, self.backoff_s * (2.0**retry))
        return base * (0.5 + random.random() / 2)  # noqa: S311  (jitter, not crypto)


class _Api:
    """Sends one logical call: retries transient failures, turns answers into typed errors."""

    def __init__(
        self,
        http: httpx.Client,
        api_base: str,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.api_base = api_base.rstrip("/")
        self.retry = retry
        self.sleep = sleep

    def url(self, path: str) -> str:
        return f"{self.api_base}{path}"

    def with_retries(self, path: str, attempt: Callable[[], T]) -> T:
        for retry in range(self.retry.max_retries + 1):
            try:
                return attempt()
            except WechatError as exc:
                if not exc.transient or retry == self.retry.max_retries:
                    raise
                delay = self.retry.delay(retry)
                log.warning(
                    "WeChat %s: errcode %s, retry %d/%d in %.2f s",
                    path,
                    exc.errcode,
                    retry + 1,
                    self.retry.max_retries,
                    delay,
                )
                self.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    def json_call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str],
        json_body: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        """One request answered with JSON; returns the body after the errcode check."""
        content = None
        headers: dict[str, str] = {}
        if json_body is not None:
            # UTF-8 as is: WeChat shows \\uXXXX escapes literally in some APIs.
            content = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            response = self.http.request(
                method,
                self.url(path),
                params=dict(params),
                content=content,
                files=dict(files) if files else None,
                headers=headers,
            )
        except httpx.TransportError as exc:
            raise WechatUnavailable(NO_ANSWER, type(exc).__name__) from exc
        _raise_for_status(response)
        body = _json_body(response.content)
        raise_for_errcode(body)
        return body


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code >= 500:
        raise WechatUnavailable(NO_ANSWER, f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise WechatBadResponse(BAD_ANSWER, f"HTTP {response.status_code}")


def _json_body(data: bytes) -> dict[str, Any]:
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise WechatBadResponse(BAD_ANSWER, "answer is not JSON") from None
    if not isinstance(body, dict):
        raise WechatBadResponse(BAD_ANSWER, "answer is not a JSON object")
    return body


# ---------------------------------------------------------------- access token endpoints


@dataclass(frozen=True)
class FetchedToken:
    token: str
    expires_in: int  # seconds

    def __repr__(self) -> str:  # never print the token itself
        return f"FetchedToken(token={shorten_token(self.token)!r}, expires_in={self.expires_in})"


def shorten_token(token: str) -> str:
    """Enough of a token to tell two apart in a log or a terminal, not enough to use it."""
    return f"{token[:6]}…{token[-4:]}" if len(token) > 16 else "…"


class TokenFetcher(Protocol):
    def fetch(self, *, force: bool = False) -> FetchedToken: ...


class TokenApi:
    """Gets a new access token: ``stable_token`` (POST JSON) or classic ``token`` (GET)."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        api_base: str,
        app_id: str,
        app_secret: str,
        mode: Literal["stable", "classic"] = "stable",
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api = _Api(http, api_base, retry or RetryPolicy(), sleep)
        self.app_id = app_id
        self._secret = app_secret
        self.mode = mode

    def __repr__(self) -> str:
        return f"TokenApi(app_id={self.app_id!r}, mode={self.mode!r})"

    def fetch(self, *, force: bool = False) -> FetchedToken:
        """A token; ``force`` asks stable_token for a new one (classic always gives a new one)."""
        if self.mode == "classic":
            path = "/cgi-bin/token"
            params = {
                "grant_type": "client_credential",
                "appid": self.app_id,
                "secret": self._secret,
            }
            body = self._api.with_retries(
                path, lambda: self._api.json_call("GET", path, params=params)
            )
        else:
            path = "/cgi-bin/stable_token"
            request = {
                "grant_type": "client_credential",
                "appid": self.app_id,
                "secret": self._secret,
                "force_refresh": force,
            }
            body = self._api.with_retries(
                path, lambda: self._api.json_call("POST", path, params={}, json_body=request)
            )
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int):
            raise WechatBadResponse(BAD_ANSWER, "token answer without access_token/expires_in")
        if expires_in <= 0:
            raise WechatBadResponse(BAD_ANSWER, "token answer with expires_in <= 0")
        return FetchedToken(token=token, expires_in=expires_in)


# ---------------------------------------------------------------- the client


class TokenProvider(Protocol):
    def get_token(self) -> str:
        """A token believed valid (stored, or fetched if none is)."""
        ...

    def refresh_token(self, stale: str) -> str:
        """WeChat refused ``stale``: a newer token (someone else's refresh, or a new one)."""
        ...


@dataclass(frozen=True)
class Media:
    data: bytes
    content_type: str


def image_content_type(data: bytes) -> str:
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data.startswith(b"BM"):
        return "image/bmp"
    return "application/octet-stream"


class WechatClient:
    """The WeChat API calls the bot makes, all with the shared access token."""

    def __init__(
        self,
        http: httpx.Client,
        tokens: TokenProvider,
        *,
        api_base: str,
        retry: RetryPolicy | None = None,
        max_media_bytes: int = 10 * 1024 * 1024,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api = _Api(http, api_base, retry or RetryPolicy(), sleep)
        self.tokens = tokens
        self.max_media_bytes = max_media_bytes

    @property
    def api_base(self) -> str:
        return self._api.api_base

    def _with_token(self, path: str, call: Callable[[str], T]) -> T:
        """Run ``call(token)`` with retries; on a token error refresh once and retry once."""
        token = self.tokens.get_token()
        try:
            return self._api.with_retries(path, lambda: call(token))
        except WechatTokenError as exc:
            log.info("WeChat %s: errcode %s, refreshing the access token once", path, exc.errcode)
            fresh = self.tokens.refresh_token(token)
            return self._api.with_retries(path, lambda: call(fresh))

    def _json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        def call(token: str) -> dict[str, Any]:
            query = {**(params or {}), "access_token": token}
            return self._api.json_call(method, path, params=query, json_body=json_body, files=files)

        return self._with_token(path, call)

    # -- messages

    def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message (allowed within 48 h of the user's last message)."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        self._json("POST", "/cgi-bin/message/custom/send", json_body=body)

    # -- media

    def upload_media(self, data: bytes, *, media_type: str = "image") -> str:
        """Upload temporary media; returns its media_id (used by ``wxocr simulate``)."""
        content_type = image_content_type(data)
        files = {"media": ("upload." + content_type.rsplit("/", 1)[-1], data, content_type)}
        body = self._json("POST", "/cgi-bin/media/upload", params={"type": media_type}, files=files)
        media_id = body.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WechatBadResponse(BAD_ANSWER, "upload answer without media_id")
        return media_id

    def get_media(self, media_id: str) -> Media:
        """Download temporary media. WeChat answers errors as JSON with HTTP 200: told apart
        from a file by content type and first byte; downloads over the cap are refused."""
        path = "/cgi-bin/media/get"

        def call(token: str) -> Media:
            params = {"access_token": token, "media_id": media_id}
            try:
                with self._api.http.stream("GET", self._api.url(path), params=params) as response:
                    _raise_for_status(response)
                    content_type = response.headers.get("content-type", "")
                    data = self._read_capped(response)
            except httpx.TransportError as exc:
                raise WechatUnavailable(NO_ANSWER, type(exc).__name__) from exc
            media_type = content_type.split(";")[0].strip().lower()
            if media_type in _JSON_CONTENT_TYPES or data.lstrip()[:1] == b"{":
                body = _json_body(data)
                raise_for_errcode(body)
                raise WechatBadResponse(BAD_ANSWER, "media/get answered JSON, not a file")
            if not data:
                raise WechatBadResponse(BAD_ANSWER, "media/get answered an empty file")
            return Media(data=data, content_type=media_type or image_content_type(data))

        return self._with_token(path, call)

    def _read_capped(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_media_bytes:
            raise WechatMediaTooLarge(MEDIA_TOO_LARGE, "declared length over the cap")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_media_bytes:
                raise WechatMediaTooLarge(MEDIA_TOO_LARGE, "body over the cap")
            chunks.append(chunk)
        return b"".join(chunks)

    # -- OCR

    def ocr(
        self,
        path: str,
        image: bytes | None = None,
        *,
        mode: Mode = "photo",
        img_url: str | None = None,
    ) -> dict[str, Any]:
        """One of WeChat's cv/ocr APIs (``path``: a document kind's ``wechat_path``): its JSON."""
        if (image is None) == (img_url is None):
            raise ValueError("pass exactly one of image and img_url")
        params = {"type": mode}
        if img_url is not None:
            return self._json("POST", path, params={**params, "img_url": img_url})
        assert image is not None
        files = {"img": ("image", image, image_content_type(image))}
        return self._json("POST", path, params=params, files=files)
