"""What the bot answers to each kind of message: text is a command, a photo goes to the pipeline.

Handlers are chosen by werobot's message type, but called by :meth:`Handlers.reply`
rather than ``robot.get_reply``: werobot passes a handler only the message, while a
photo needs the request's deadline too, and werobot turns a handler's exception into
an empty answer where we want to apologise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werobot.messages.events import WeChatEvent

from bot.chat import replies
from bot.chat.commands import Command, CommandName, is_operator, parse_command
from bot.chat.pipeline import PhotoRequest, Pipeline, repeat_passive_reply
from bot.config import Config
from bot.operators.usage import usage_summary_text
from bot.store.db import SessionFactory, write_transaction
from bot.store.db_retry import DatabaseUnavailable, is_transient, retry_transient
from bot.store.models import (
    Message,
    Outcome,
    get_message,
    get_pref,
    mark_answered,
    message_key,
    record_usage,
    set_pref,
    utcnow,
)
from ocr.engine import AUTO, Kind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingMessage:
    """A verified, parsed message and when it must be answered."""

    message: Any  # a werobot message or event
    encrypted: bool
    received_at: float  # time.monotonic() when the request arrived
    deadline: float  # time.monotonic() by which the passive answer must be sent


Handler = Callable[[IncomingMessage], str | None]
# The message types WeChat documents (werobot passes any other MsgType through as is).
WECHAT_MESSAGE_TYPES = frozenset(
    {"text", "image", "voice", "video", "shortvideo", "location", "link", "file"}
)


class Handlers:
    def __init__(self, config: Config, sessions: SessionFactory, pipeline: Pipeline) -> None:
        self.config = config
        self.sessions = sessions
        self.pipeline = pipeline
        self.by_type: dict[str, Handler] = {
            "text": self.on_text,
            "image": self.on_image,
            "subscribe_event": self.on_subscribe,
        }

    def reply(self, incoming: IncomingMessage) -> str | None:
        """The text to answer with, or None to answer ``success`` (nothing shown)."""
        message_type = str(getattr(incoming.message, "type", "unknown"))
        handler = self.by_type.get(message_type)
        if handler is None:
            # Other events (unsubscribe, menu views, location reports) need no answer.
            if isinstance(incoming.message, WeChatEvent):
                return None
            # An unknown MsgType is the sender's own text: logged only by a known name.
            shown = message_type if message_type in WECHAT_MESSAGE_TYPES else "other"
            log.info("unsupported message type: %s", shown)
            return replies.unsupported_message()
        try:
            return handler(incoming)
        except DatabaseUnavailable:
            log.warning("%s message not handled: the database stayed unavailable", message_type)
            return replies.service_busy()
        except Exception as exc:
            if is_transient(exc):
                log.warning("%s message not handled: database unavailable", message_type)
                return replies.service_busy()
            log.exception("handler for %s failed", message_type)
            return replies.engine_error()

    # ------------------------------------------------------------ handlers

    def on_subscribe(self, incoming: IncomingMessage) -> str:
        return replies.welcome()

    def on_text(self, incoming: IncomingMessage) -> str | None:
        openid = str(incoming.message.source or "")
        command = parse_command(str(getattr(incoming.message, "content", "") or ""))
        if command is None:
            # Writes nothing, so a retry may simply be answered again.
            return replies.help_text(self._kind_of(openid, incoming.deadline))
        key = _message_key(incoming.message, openid)
        # Retried within the passive budget; a retry after a commit whose answer was lost
        # with the connection finds the message answered and repeats the answer.
        return retry_transient(
            "command",
            partial(self._apply_command, key, openid, command),
            until=incoming.deadline,
        )

    def _apply_command(self, key: str, openid: str, command: Command) -> str | None:
        chosen = command.kind
        now = utcnow()
        # One transaction per command: the database is most of a text message's cost. It
        # takes the write lock first: a read-then-write transaction on SQLite fails at once
        # ("database is locked") instead of waiting while another process writes.
        try:
            with write_transaction(self.sessions) as session:
                text = self._run_command(session, openid, command)
                usage = record_usage(
                    session, openid=openid, outcome=Outcome.COMMAND, kind_asked=chosen, now=now
                )
                answered = Message(msg_key=key, openid=openid, kind_asked=chosen)
                mark_answered(session, answered, usage, text, now=now)
        except IntegrityError:
            # The message's key is taken: WeChat's retry of a message answered before (or
            # being answered alongside). Everything this transaction did is void; looking
            # first would cost every command a query to spare a rare retry its work.
            with self.sessions() as session:
                seen = get_message(session, key)
            if seen is None:
                raise
            return self._seen_before(seen, now)
        return text

    def _seen_before(self, message: Message, now: datetime) -> str | None:
        log.info("text command seen before (WeChat's retry or a replay): answered as before")
        return repeat_passive_reply(message, now)

    def _run_command(self, session: Session, openid: str, command: Command) -> str:
        if command.kind is not None:
            set_pref(session, openid, command.kind)
            return replies.kind_chosen(command.kind)
        if command.name == CommandName.USAGE and is_operator(openid, self.config.operators.openids):
            return self._usage_report(session, command.days)
        # HELP, and USAGE from someone who is not an operator (who is not told it exists).
        return replies.help_text(get_pref(session, openid) or AUTO)

    def on_image(self, incoming: IncomingMessage) -> str | None:
        message = incoming.message
        openid = str(message.source or "")
        # werobot's ImageMessage exposes only PicUrl; MediaId is in the raw fields.
        fields = message.__dict__
        request = PhotoRequest(
            key=_message_key(message, openid),
            openid=openid,
            media_id=str(fields.get("MediaId") or ""),
            pic_url=str(fields.get("PicUrl") or ""),
            kind=self._kind_of(openid, incoming.deadline),
        )
        return self.pipeline.handle_photo(request, incoming.deadline)

    # ------------------------------------------------------------ helpers

    def _kind_of(self, openid: str, deadline: float) -> Kind:
        """The user's chosen kind; AUTO (detect it) when the database does not answer in time."""
        try:
            return retry_transient("preference", partial(self._stored_kind, openid), until=deadline)
        except DatabaseUnavailable:
            return AUTO

    def _stored_kind(self, openid: str) -> Kind:
        with self.sessions() as session:
            return get_pref(session, openid) or AUTO

    def _usage_report(self, session: Session, days: int) -> str:
        tz = ZoneInfo(self.config.log.timezone)
        first_day = datetime.now(tz).date() - timedelta(days=days - 1)
        since = datetime(first_day.year, first_day.month, first_day.day, tzinfo=tz)
        return usage_summary_text(session, since, timezone_name=self.config.log.timezone)


def _message_key(message: Any, openid: str) -> str:
    """The key WeChat's retries of ``message`` share (werobot keeps MsgId in the raw fields)."""
    fields = message.__dict__
    return message_key(fields.get("MsgId"), openid, fields.get("CreateTime"))
