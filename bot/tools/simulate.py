"""Play WeChat's servers against our webhook: build, sign and (in safe mode) encrypt messages.

``wxocr simulate IMAGE`` uploads the photo to the sandbox, pushes an image message the
way WeChat does (5 s timeout, 3 tries with the same MsgId) and prints the passive reply
or the customer-service messages the sandbox received afterwards. The tests use the
same helpers to talk to a running server.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from werobot.crypto import MessageCrypt
from werobot.parser import parse_xml
from werobot.utils import get_signature

from bot.chat.replies import MAX_REPLY_MESSAGES
from bot.config import Config
from bot.wxapi.client import TokenApi, WechatClient, WechatError

# WeChat's own behaviour when pushing a message to an official account's server.
WECHAT_TIMEOUT_S = 5.0
WECHAT_TRIES = 3
ACCOUNT_ID = "gh_wxocr_sandbox"


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def message_xml(fields: dict[str, str | int]) -> str:
    """A WeChat push body: ``<xml>`` with one element per field (strings as CDATA)."""
    parts = [
        f"<{name}>{value}</{name}>"
        if isinstance(value, int)
        else f"<{name}>{_cdata(value)}</{name}>"
        for name, value in fields.items()
    ]
    return "<xml>" + "".join(parts) + "</xml>"


def text_fields(openid: str, content: str, msg_id: int) -> dict[str, str | int]:
    return {
        "ToUserName": ACCOUNT_ID,
        "FromUserName": openid,
        "CreateTime": int(time.time()),
        "MsgType": "text",
        "Content": content,
        "MsgId": msg_id,
    }


def image_fields(openid: str, media_id: str, pic_url: str, msg_id: int) -> dict[str, str | int]:
    return {
        "ToUserName": ACCOUNT_ID,
        "FromUserName": openid,
        "CreateTime": int(time.time()),
        "MsgType": "image",
        "PicUrl": pic_url,
        "MediaId": media_id,
        "MsgId": msg_id,
    }


def event_fields(openid: str, event: str) -> dict[str, str | int]:
    return {
        "ToUserName": ACCOUNT_ID,
        "FromUserName": openid,
        "CreateTime": int(time.time()),
        "MsgType": "event",
        "Event": event,
    }


def new_msg_id() -> int:
    """A 64-bit MsgId like WeChat's."""
    return secrets.randbits(62) | (1 << 62)


def _nonce() -> str:
    return "".join(secrets.choice(string.digits) for _ in range(10))


@dataclass
class WechatPusher:
    """Signs (and in safe mode encrypts) pushes exactly as WeChat's servers do."""

    url: str
    token: str
    app_id: str = ""
    encoding_aes_key: str = ""
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=WECHAT_TIMEOUT_S))

    @property
    def safe_mode(self) -> bool:
        return bool(self.encoding_aes_key)

    def _crypt(self) -> MessageCrypt:
        return MessageCrypt(self.token, self.encoding_aes_key, self.app_id)

    def signed_request(
        self, xml: str, *, timestamp: int | None = None, openid: str = ""
    ) -> tuple[str, bytes]:
        """The URL (with signature query) and body of one push."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = _nonce()
        query = {
            "signature": get_signature(self.token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
        }
        if openid:
            query["openid"] = openid
        body = xml
        if self.safe_mode:
            encrypt = self._crypt().prp_crypto.encrypt(xml, self.app_id).decode()
            query["encrypt_type"] = "aes"
            query["msg_signature"] = get_signature(self.token, ts, nonce, encrypt)
            body = message_xml({"ToUserName": ACCOUNT_ID, "Encrypt": encrypt})
        return f"{self.url}?{urlencode(query)}", body.encode("utf-8")

    def push(self, fields: dict[str, str | int]) -> httpx.Response:
        """One POST, as WeChat sends it (raises httpx.TimeoutException after 5 s)."""
        url, body = self.signed_request(message_xml(fields), openid=str(fields["FromUserName"]))
        return self.client.post(url, content=body, headers={"Content-Type": "text/xml"})

    def push_with_retries(
        self,
        fields: dict[str, str | int],
        on_try: Callable[[int, str], None] | None = None,
    ) -> PushOutcome:
        """Up to 3 tries with the same message while the server does not answer in 5 s."""
        for attempt in range(1, WECHAT_TRIES + 1):
            started = time.monotonic()
            try:
                response = self.push(fields)
            except httpx.TransportError as exc:
                if on_try:
                    on_try(attempt, type(exc).__name__)
                continue
            elapsed = time.monotonic() - started
            if on_try:
                on_try(attempt, f"HTTP {response.status_code} in {elapsed:.2f} s")
            return PushOutcome(
                tries=attempt,
                status=response.status_code,
                reply=self.reply_content(response) if response.status_code == 200 else None,
                seconds=elapsed,
                body=response.text,
            )
        return PushOutcome(tries=WECHAT_TRIES, status=None, reply=None, seconds=None, body="")

    def reply_content(self, response: httpx.Response) -> str | None:
        """The text of a passive reply, or None for ``success``/empty (nothing shown)."""
        body = response.text.strip()
        if not body or body == "success":
            return None
        fields: dict[str, Any] = parse_xml(body)
        if "Encrypt" in fields:
            if not self.safe_mode:
                raise ValueError("encrypted reply but no encoding_aes_key")
            expected = get_signature(
                self.token, fields["TimeStamp"], fields["Nonce"], fields["Encrypt"]
            )
            if expected != fields.get("MsgSignature"):
                raise ValueError("reply has a bad MsgSignature")
            plain = self._crypt().prp_crypto.decrypt(fields["Encrypt"], self.app_id)
            fields = parse_xml(plain)
        if fields.get("MsgType") != "text":
            raise ValueError(f"unexpected reply type {fields.get('MsgType')!r}")
        return str(fields.get("Content") or "")


@dataclass(frozen=True)
class PushOutcome:
    """What WeChat would have got: after how many tries, which status, which reply."""

    tries: int
    status: int | None  # None: every try timed out or failed to connect
    reply: str | None  # the passive reply's text; None for "success" or no answer
    seconds: float | None  # how long the answered try took
    body: str

    @property
    def answered(self) -> bool:
        return self.status == 200


# ---------------------------------------------------------------- wxocr simulate


# media/upload's answers to a file that is not an image WeChat takes (or too large).
MEDIA_REFUSED_ERRCODES = frozenset({40005, 40009, 40113})


class SimulationError(Exception):
    """The simulation cannot run (no sandbox, unreadable image...); the message says why."""


class _SandboxTokens:
    """The access token for talking to the sandbox, fetched on first use."""

    def __init__(self, api: TokenApi) -> None:
        self.api = api
        self._token = ""

    def get_token(self) -> str:
        if not self._token:
            self._token = self.api.fetch().token
        return self._token

    def refresh_token(self, stale: str) -> str:
        self._token = self.api.fetch(force=True).token
        return self._token


@dataclass
class Simulator:
    """Sends one user's messages to our webhook the way WeChat would, via the sandbox."""

    config: Config
    url: str
    openid: str
    safe: bool = False
    wait_s: float = 30.0
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=WECHAT_TIMEOUT_S))

    def __post_init__(self) -> None:
        if not self.config.sandbox_mode and not self.config.wechat.api_base:
            raise SimulationError(
                "simulate talks to the sandbox: use it with a sandbox-mode config "
                "(empty wechat.app_id) or set wechat.api_base to a sandbox"
            )
        if self.safe and not self.config.wechat.encoding_aes_key:
            raise SimulationError("--safe needs wechat.encoding_aes_key (the server's, too)")
        self.api_base = self.config.api_base
        tokens = _SandboxTokens(
            TokenApi(
                self.http,
                api_base=self.api_base,
                app_id=self.config.app_id,
                app_secret=self.config.app_secret,
                mode=self.config.wechat.token_mode,
            )
        )
        self.client = WechatClient(self.http, tokens, api_base=self.api_base)
        self.pusher = WechatPusher(
            url=self.url,
            token=self.config.wechat.token,
            app_id=self.config.app_id,
            encoding_aes_key=self.config.wechat.encoding_aes_key if self.safe else "",
            client=self.http,
        )

    def say(self, text: str) -> PushOutcome:
        return self.pusher.push_with_retries(text_fields(self.openid, text, new_msg_id()))

    def upload(self, image: bytes) -> tuple[str, str]:
        """Upload to the sandbox like a user's phone does; (MediaId, PicUrl)."""
        try:
            media_id = self.client.upload_media(image)
        except WechatError as exc:
            if exc.errcode in MEDIA_REFUSED_ERRCODES:
                raise SimulationError(
                    f"WeChat refuses this file as a photo (errcode {exc.errcode}): it takes"
                    " JPEG, PNG or GIF images of at most 10 MB"
                ) from exc
            raise
        return media_id, f"{self.api_base}/mmbiz/{media_id}"

    def send_photo(
        self,
        image: bytes,
        *,
        msg_id: int | None = None,
        on_try: Callable[[int, str], None] | None = None,
    ) -> PushOutcome:
        media_id, pic_url = self.upload(image)
        fields = image_fields(self.openid, media_id, pic_url, msg_id or new_msg_id())
        return self.pusher.push_with_retries(fields, on_try)

    def custom_messages(self) -> list[str]:
        """Customer-service texts the sandbox has recorded for this user, oldest first."""
        response = self.http.get(
            f"{self.api_base}/_control/messages", params={"openid": self.openid}
        )
        response.raise_for_status()
        return [str(m["content"]) for m in response.json()["messages"]]

    def wait_for_custom_messages(
        self, already: int, count: int = 1, wait_s: float | None = None
    ) -> list[str]:
        """Wait until ``count`` new customer-service messages arrived (or ``wait_s`` passed)."""
        deadline = time.monotonic() + (self.wait_s if wait_s is None else wait_s)
        while True:
            messages = self.custom_messages()[already:]
            if len(messages) >= count or time.monotonic() >= deadline:
                return messages
            time.sleep(0.2)


# A passive reply this long may be the first of several messages (replies.split_reply:
# WeChat takes 2,048 bytes a message); their continuations come within a few seconds.
LONG_PASSIVE_BYTES = 1024
CONTINUATION_WAIT_S = 5.0


def run_simulation(
    config: Config,
    image: bytes,
    *,
    url: str,
    openid: str,
    command: str | None,
    safe: bool,
    out: Callable[[str], None],
) -> bool:
    """``wxocr simulate``: True when the user got an answer (passive or later)."""
    simulator = Simulator(config, url=url, openid=openid, safe=safe)
    if command:
        said = simulator.say(command)
        out(f"> {command}\n{said.reply or '(no reply)'}")
    before = len(simulator.custom_messages())
    out(f"> [photo, {len(image)} bytes]")
    outcome = simulator.send_photo(image, on_try=lambda n, what: out(f"  try {n}: {what}"))
    if outcome.reply is not None:
        out("passive reply:\n" + outcome.reply)
        if len(outcome.reply.encode("utf-8")) > LONG_PASSIVE_BYTES:
            # Perhaps the first part of a long reply: its continuations follow.
            continued = simulator.wait_for_custom_messages(
                before, count=MAX_REPLY_MESSAGES - 1, wait_s=CONTINUATION_WAIT_S
            )
            for text in continued:
                out("customer-service message (continued):\n" + text)
        return True
    if not outcome.answered:
        out("no answer after 3 tries: WeChat would show 该公众号暂时无法提供服务，请稍后再试")
        return False
    out(f"answered '{outcome.body}'; waiting up to {simulator.wait_s:.0f} s for the result…")
    later = simulator.wait_for_custom_messages(before)
    for text in later:
        out("customer-service message:\n" + text)
    if not later:
        out("no customer-service message arrived")
    return bool(later)
