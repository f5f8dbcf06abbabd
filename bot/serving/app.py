"""The WSGI application: the WeChat webhook, ``/healthz``, and the sandbox in sandbox mode.

werobot parses messages, runs the safe-mode crypto and renders replies; the checks in
front of it are ours because werobot compares signatures with ``==``, has no timestamp
or body-size limit, and hands any XML to the parser.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.types import StartResponse
from wsgiref.types import WSGIApplication as WSGIApp

from werobot import WeRoBot
from werobot.parser import parse_xml, process_message
from werobot.replies import TextReply
from werobot.utils import get_signature

from bot.chat.handlers import IncomingMessage
from bot.config import Config

log = logging.getLogger(__name__)


# Answering this (or nothing) ends WeChat's retries without showing the user anything.
SUCCESS = "success"
MAX_ECHOSTR_CHARS = 256
# What may come before WeChat's <xml> root: an XML declaration and whitespace. A DTD,
# where entities are declared (XXE, entity-expansion bombs), can only sit there.
_PROLOG = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^<>]*\?>\s*)?<xml[\s/>]", re.IGNORECASE)


class WebhookRejected(Exception):
    """A request that must not reach the bot; ``status`` is the HTTP answer, ``code`` is logged."""

    def __init__(self, status: str, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


ReplyFunction = Callable[[IncomingMessage], str | None]


def signature_matches(token: str, expected: str, *parts: str) -> bool:
    """WeChat's sha1 signature over the sorted parts, compared in constant time."""
    if not (token and expected and all(parts)):
        return False
    return hmac.compare_digest(get_signature(token, *parts).encode(), expected.encode())


def reject_entity_declarations(body: bytes) -> None:
    """Refuse a DTD before parsing; text *inside* a message (a user may type one) is fine."""
    if _PROLOG.match(body):
        return
    if b"<!" in body[: body.lower().find(b"<xml")]:
        raise WebhookRejected("400 Bad Request", "xml_entities")
    raise WebhookRejected("400 Bad Request", "bad_xml")


class Webhook:
    """Verifies and decodes WeChat's requests, and encodes the bot's replies."""

    def __init__(self, config: Config, robot: WeRoBot, reply: ReplyFunction) -> None:
        self.config = config
        self.robot = robot
        self.reply = reply
        self.token = config.wechat.token
        self.safe_mode = bool(config.wechat.encoding_aes_key)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        received_at = time.monotonic()
        method = environ.get("REQUEST_METHOD", "GET")
        query = _query(environ)
        try:
            if method not in ("GET", "POST"):
                raise WebhookRejected("405 Method Not Allowed", "method")
            self._verify_request(query, handshake=method == "GET")
            if method == "GET":
                echo = query.get("echostr", "")[:MAX_ECHOSTR_CHARS]
                return _respond(start_response, "200 OK", echo, "text/plain")
            incoming = self._parse(
                _read_body(environ, self.config.server.max_body_bytes), query, received_at
            )
        except WebhookRejected as exc:
            # REMOTE_ADDR is the client's own address behind a trusted proxy (server.trusted_proxy).
            log.warning(
                "webhook request rejected: %s from %s", exc.code, environ.get("REMOTE_ADDR", "-")
            )
            return _respond(start_response, exc.status, exc.code, "text/plain")
        text = self.reply(incoming)
        if not text:
            return _respond(start_response, "200 OK", SUCCESS, "text/plain")
        body = TextReply(message=incoming.message, content=text).render()
        if incoming.encrypted:
            body = self.robot.crypto.encrypt_message(body)
        return _respond(start_response, "200 OK", body, "application/xml")

    def _verify_request(self, query: dict[str, str], *, handshake: bool = False) -> None:
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not signature_matches(self.token, query.get("signature", ""), timestamp, nonce):
            raise WebhookRejected("403 Forbidden", "bad_signature")
        # A captured request replayed later has a valid signature but an old timestamp.
        try:
            skew = time.time() - int(timestamp)
        except ValueError:
            raise WebhookRejected("403 Forbidden", "bad_timestamp") from None
        tolerance = self.config.server.timestamp_tolerance_s
        if abs(skew) <= tolerance:
            return
        if not handshake:
            raise WebhookRejected("403 Forbidden", "stale_timestamp")
        # The URL check only echoes, so a replay of it gains nothing; refusing it would
        # fail the console's first check with no word of why. Messages stay refused.
        log.warning(
            "URL verification answered, but this server's clock is %d s %s WeChat's (more"
            " than server.timestamp_tolerance_s = %d): every message will be refused as"
            " stale until the clock is set right (NTP)",
            round(abs(skew)),
            "ahead of" if skew > 0 else "behind",
            tolerance,
        )

    def _parse(self, body: bytes, query: dict[str, str], received_at: float) -> IncomingMessage:
        reject_entity_declarations(body)
        fields = _parse_xml(body)
        encrypted = "Encrypt" in fields
        if encrypted:
            fields = _parse_xml(self._decrypt(str(fields["Encrypt"]), query))
        elif self.safe_mode and query.get("encrypt_type") == "aes":
            raise WebhookRejected("400 Bad Request", "missing_encrypt")
        try:
            message = process_message(fields)
        except (KeyError, AttributeError, TypeError):
            raise WebhookRejected("400 Bad Request", "bad_message") from None
        deadline = passive_deadline(
            self.config.pipeline.passive_budget_s, int(query["timestamp"]), received_at, time.time()
        )
        return IncomingMessage(message, encrypted, received_at, deadline)

    def _decrypt(self, encrypt: str, query: dict[str, str]) -> bytes:
        if not self.safe_mode:
            raise WebhookRejected("400 Bad Request", "encryption_not_configured")
        if not signature_matches(
            self.token,
            query.get("msg_signature", ""),
            query.get("timestamp", ""),
            query.get("nonce", ""),
            encrypt,
        ):
            raise WebhookRejected("403 Forbidden", "bad_msg_signature")
        try:
            plain: bytes = self.robot.crypto.prp_crypto.decrypt(
                encrypt, self.robot.config["APP_ID"]
            )
        except Exception:  # any failure of untrusted ciphertext is a bad request
            raise WebhookRejected("400 Bad Request", "bad_ciphertext") from None
        reject_entity_declarations(plain)
        return plain


def passive_deadline(
    budget_s: float, signed_timestamp: int, received_at: float, now: float
) -> float:
    """When the passive answer is due (a ``time.monotonic()`` value).

    WeChat's 5 s start when it sends, not when a worker thread picks the request up:
    the budget is shortened by the time since the signed timestamp (``now`` is wall
    time). That timestamp is whole seconds, so WeChat sent at or after it: counting
    from it never gives more time than there is.
    """
    since_sent = max(0.0, now - signed_timestamp)
    return received_at + max(0.0, budget_s - since_sent)


def _parse_xml(body: bytes) -> dict[str, Any]:
    try:
        fields = parse_xml(body)
    except Exception:  # expat and xmltodict raise many types on bad input
        raise WebhookRejected("400 Bad Request", "bad_xml") from None
    if not isinstance(fields, dict):
        raise WebhookRejected("400 Bad Request", "bad_xml")
    return fields


def _read_body(environ: dict[str, Any], limit: int) -> bytes:
    try:
        declared = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise WebhookRejected("400 Bad Request", "bad_content_length") from None
    if declared > limit:
        raise WebhookRejected("413 Payload Too Large", "body_too_large")
    body: bytes = environ["wsgi.input"].read(declared) if declared > 0 else b""
    if not body:
        raise WebhookRejected("400 Bad Request", "empty_body")
    return body


def _query(environ: dict[str, Any]) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))


def _respond(
    start_response: StartResponse, status: str, body: str, content_type: str
) -> list[bytes]:
    data = body.encode("utf-8")
    start_response(
        status,
        [("Content-Type", f"{content_type}; charset=utf-8"), ("Content-Length", str(len(data)))],
    )
    return [data]


def make_robot(config: Config) -> WeRoBot:
    """A werobot robot used for its message classes, crypto and reply rendering."""
    return WeRoBot(
        token=config.wechat.token,
        app_id=config.app_id,
        encoding_aes_key=config.wechat.encoding_aes_key or None,
        # werobot would otherwise create a session SQLite file next to the process.
        SESSION_STORAGE=False,
    )


class Router:
    """Path dispatch: the webhook, ``/healthz``, and mounted sub-applications."""

    def __init__(self, webhook_path: str, webhook: WSGIApp) -> None:
        self.webhook_path = webhook_path.rstrip("/") or "/"
        self.webhook = webhook
        self.mounts: dict[str, WSGIApp] = {}
        self.health: Callable[[], dict[str, Any]] = lambda: {"status": "ok"}

    def mount(self, prefix: str, app: WSGIApp) -> None:
        self.mounts[prefix.rstrip("/")] = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if path.rstrip("/") == self.webhook_path or path == self.webhook_path:
            return self.webhook(environ, start_response)
        if path == "/healthz":
            return _respond(start_response, "200 OK", json.dumps(self.health()), "application/json")
        for prefix, app in self.mounts.items():
            if path == prefix or path.startswith(prefix + "/"):
                environ = dict(environ)
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path[len(prefix) :]
                return app(environ, start_response)
        return _respond(start_response, "404 Not Found", "not found", "text/plain")


def build_app(
    config: Config,
    reply: ReplyFunction,
    *,
    sandbox: WSGIApp | None = None,
    health: Callable[[], dict[str, Any]] | None = None,
) -> Router:
    """The whole WSGI app: webhook at ``server.path``, ``/healthz``, ``/sandbox`` if given."""
    router = Router(config.server.path, Webhook(config, make_robot(config), reply))
    if sandbox is not None:
        router.mount("/sandbox", sandbox)
    if health is not None:
        router.health = health
    return router
