"""Database tables (SQLAlchemy 2.x typed models) and the small data functions around them.

Data functions take a ``Session``; the caller owns the transaction (commit/rollback).
All times are timezone-aware UTC in Python. On SQLite they are stored as naive UTC text
(``YYYY-MM-DD HH:MM:SS.ffffff``, so string order is time order), on PostgreSQL as
``timestamptz``.

No card data at rest: nothing here holds an image, OCR text or an unmasked field.
``Message.reply_text`` is the reply *after* ``ocr/mask.py`` has masked it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.store.db import insert_if_absent
from ocr.engine import AUTO, Kind
from ocr.kinds import check_kind

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

OPENID_LENGTH = 64
# Room for every warning a result can carry: a few image codes and field_missing ones.
USAGE_WARNINGS_LENGTH = 512
# BIGINT on PostgreSQL, but INTEGER on SQLite where only "INTEGER PRIMARY KEY" autoincrements.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the database keeps; naive input is refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# ---------------------------------------------------------------- access token


class AccessToken(Base):
    """The one shared WeChat access token per app (see bot/wxapi/tokens.py).

    ``lease_holder``/``lease_until`` mark a refresh in progress: taken under the row lock,
    released when the new token is stored, so the HTTP call happens outside the lock.
    """

    __tablename__ = "access_token"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(String(1024), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    refreshed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lease_holder: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Consecutive failed refreshes and the last WeChat errcode (-2: network/HTTP error).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_errcode: Mapped[int | None] = mapped_column(Integer)


# ---------------------------------------------------------------- messages (the pipeline)


class MessageState(StrEnum):
    CLAIMED = "claimed"  # a worker took the MsgId; nothing run yet
    RUNNING = "running"  # OCR in progress (lease_until says until when the worker owns it)
    DONE = "done"  # reply_text ready; delivered once delivered_at is set
    FAILED = "failed"  # given up (e.g. the reply window closed); reply_text may be kept


class Delivery(StrEnum):
    """How a reply reached the user (``message.delivery``, ``usage.delivery``).

    ``usage.delivery`` is None while a result waits to be sent (and on rows older than
    migration 0002, when it was never filled in).
    """

    PASSIVE = "passive"  # the answer to WeChat's POST
    CUSTOM = "custom"  # a customer-service message sent later
    # Given up: WeChat refused the customer-service message for good (e.g. 45015, the
    # 48-hour window closed) or every retry failed. Only on usage rows: the message row
    # says so by its state.
    FAILED = "failed"


class Message(Base):
    """One incoming photo or text command, claimed by its key so it is answered exactly once.

    A text command's row is written already answered (state DONE, delivery PASSIVE) in the
    transaction that applies the command: a retry of it cannot write the row again, so
    its transaction (the command, a second usage row) is undone and it gets the same reply.
    """

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # FromUserName + MsgId, or FromUserName + CreateTime for events (see message_key()).
    msg_key: Mapped[str] = mapped_column(String(128), unique=True)
    openid: Mapped[str] = mapped_column(String(OPENID_LENGTH), index=True)
    state: Mapped[str] = mapped_column(String(16), default=MessageState.CLAIMED)
    kind_asked: Mapped[str | None] = mapped_column(String(16))
    # A handle to WeChat's copy of the photo (expires after 3 days), so a run can resume.
    media_id: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    worker: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(String(32))
    # Masked by ocr/mask.py before it gets here; deleted (set to None) once delivered.
    reply_text: Mapped[str | None] = mapped_column(Text)
    delivery: Mapped[str | None] = mapped_column(String(16))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A reply longer than one WeChat text message goes out as several
    # (``replies.split_reply(reply_text)``): how many of them have gone out, so that a
    # restart between two sends neither repeats nor skips one.
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_errcode: Mapped[int | None] = mapped_column(Integer)
    # The usage row of this message's run, whose ``delivery`` is filled in when the reply
    # goes out (possibly much later). Not a foreign key: retention purges usage on its own.
    usage_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (
        # The scheduler's "what is waiting to be delivered" scan.
        Index("ix_message_state_next_attempt_at", "state", "next_attempt_at"),
    )


def message_key(msg_id: str | int | None, openid: str, create_time: str | int | None) -> str:
    """The dedupe key WeChat's retries keep: FromUserName + MsgId, or + CreateTime for events.

    The sender is part of the key even with a MsgId: WeChat's MsgIds are unique per
    account, but its docs, wechatpy and werobot all use ``1234567890123456`` in their
    samples, and replay tools reuse ids, so one user's photo must never find another
    user's claim (and answer). Migration 0003 moved older ``msg:<MsgId>`` keys.
    """
    if msg_id not in (None, "", 0, "0"):
        return f"msg:{openid}:{msg_id}"
    return f"event:{openid}:{create_time}"


@dataclass(frozen=True)
class Claim:
    message: Message
    claimed: bool  # True: this caller inserted the row and must process the message


def claim_message(
    session: Session,
    msg_key: str,
    openid: str,
    *,
    kind_asked: str | None = None,
    media_id: str | None = None,
    worker: str | None = None,
    lease_s: float = 30.0,
    now: datetime | None = None,
) -> Claim:
    """Claim ``msg_key``; ``claimed`` is False when another request or worker already has it.

    Concurrent callers with the same key: exactly one gets ``claimed=True`` (unique key).
    """
    now = now or utcnow()
    inserted = insert_if_absent(
        session,
        Message,
        {
            "msg_key": msg_key,
            "openid": openid,
            "state": MessageState.CLAIMED.value,
            "kind_asked": kind_asked,
            "media_id": media_id,
            "worker": worker,
            "lease_until": now + timedelta(seconds=lease_s),
            "created_at": now,
            "updated_at": now,
            "delivery_attempts": 0,
        },
    )
    message = session.scalars(select(Message).where(Message.msg_key == msg_key)).one()
    return Claim(message=message, claimed=inserted)


def get_message(session: Session, msg_key: str) -> Message | None:
    return session.scalars(select(Message).where(Message.msg_key == msg_key)).one_or_none()


def pending_deliveries(
    session: Session, *, now: datetime | None = None, limit: int = 100
) -> list[Message]:
    """Results ready but not delivered whose next attempt is due, oldest first."""
    now = now or utcnow()
    statement = (
        select(Message)
        .where(
            Message.state == MessageState.DONE.value,
            Message.delivered_at.is_(None),
            (Message.next_attempt_at.is_(None)) | (Message.next_attempt_at <= now),
        )
        .order_by(Message.created_at)
        .limit(limit)
    )
    return list(session.scalars(statement))


def stale_runs(session: Session, *, now: datetime | None = None, limit: int = 100) -> list[Message]:
    """Claimed or running messages whose worker's lease ran out (it died or hung)."""
    now = now or utcnow()
    statement = (
        select(Message)
        .where(
            Message.state.in_([MessageState.CLAIMED.value, MessageState.RUNNING.value]),
            Message.lease_until < now,
        )
        .order_by(Message.created_at)
        .limit(limit)
    )
    return list(session.scalars(statement))


# ---------------------------------------------------------------- user preferences


class UserPref(Base):
    """The card kind a user chose (身份证/银行卡/自动); it sticks until changed."""

    __tablename__ = "user_pref"

    openid: Mapped[str] = mapped_column(String(OPENID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default=AUTO)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


def get_pref(session: Session, openid: str) -> Kind | None:
    """The user's chosen kind, or None when they never chose."""
    kind = session.scalar(select(UserPref.kind).where(UserPref.openid == openid))
    return check_kind(kind) if kind is not None else None


def set_pref(session: Session, openid: str, kind: Kind, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    values = {"openid": openid, "kind": check_kind(kind), "updated_at": now}
    if not insert_if_absent(session, UserPref, values):
        session.execute(
            update(UserPref).where(UserPref.openid == openid).values(kind=kind, updated_at=now)
        )


def delete_pref(session: Session, openid: str) -> None:
    pref = session.get(UserPref, openid)
    if pref is not None:
        session.delete(pref)


# ---------------------------------------------------------------- usage


class Outcome(StrEnum):
    OK = "ok"
    NO_CARD = "no_card"
    BAD_IMAGE = "bad_image"
    ERROR = "error"
    LIMITED = "limited"  # the user's daily limit was reached
    COMMAND = "command"  # a text command, not a photo


class Usage(Base):
    """One row per request: who, when, what was asked and found, how it went. No card data."""

    __tablename__ = "usage"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    openid: Mapped[str] = mapped_column(String(OPENID_LENGTH))
    kind_asked: Mapped[str | None] = mapped_column(String(16))
    kind_detected: Mapped[str | None] = mapped_column(String(16))
    engine: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    # Our stable error code (ocr/errors.py ``code``, e.g. "image_too_large"); None when ok.
    error_code: Mapped[str | None] = mapped_column(String(64))
    # WeChat's errcode when the WeChat API was involved in the failure.
    errcode: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    image_bytes: Mapped[int | None] = mapped_column(Integer)
    delivery: Mapped[str | None] = mapped_column(String(16))
    # The result's warning codes joined by commas (``blur,field_missing:addr``): codes
    # only, never card data. None when there were none.
    warnings: Mapped[str | None] = mapped_column(String(USAGE_WARNINGS_LENGTH))

    __table_args__ = (
        Index("ix_usage_created_at_kind_detected", "created_at", "kind_detected"),
        Index("ix_usage_openid_created_at", "openid", "created_at"),
        Index("ix_usage_engine_created_at", "engine", "created_at"),
        Index("ix_usage_outcome_created_at", "outcome", "created_at"),
    )


def record_usage(
    session: Session,
    *,
    openid: str,
    outcome: Outcome | str,
    kind_asked: str | None = None,
    kind_detected: str | None = None,
    engine: str | None = None,
    error_code: str | None = None,
    errcode: int | None = None,
    latency_ms: int | None = None,
    image_bytes: int | None = None,
    delivery: Delivery | str | None = None,
    warnings: Sequence[str] = (),
    now: datetime | None = None,
) -> Usage:
    row = Usage(
        created_at=now or utcnow(),
        openid=openid,
        outcome=str(outcome),
        kind_asked=kind_asked,
        kind_detected=kind_detected,
        engine=engine,
        error_code=error_code,
        errcode=errcode,
        latency_ms=latency_ms,
        image_bytes=image_bytes,
        delivery=str(delivery) if delivery is not None else None,
        warnings=join_warnings(warnings),
    )
    session.add(row)
    return row


def join_warnings(codes: Sequence[str]) -> str | None:
    """The codes as one column value; None for none. Codes that would not fit are
    dropped whole (a cut code would count as another), the order kept."""
    kept: list[str] = []
    for code in dict.fromkeys(codes):
        if "," in code or len(",".join([*kept, code])) > USAGE_WARNINGS_LENGTH:
            continue
        kept.append(code)
    return ",".join(kept) or None


def mark_answered(
    session: Session, message: Message, usage: Usage, reply_text: str, *, now: datetime
) -> None:
    """``message`` was answered by its own request's passive reply, recorded by ``usage``.

    ``message`` may be a claimed row or a new one (added here: one INSERT writes it). The
    reply stays on the row for a while (see ``pipeline.PASSIVE_REPLY_KEPT_S``) so a WeChat
    retry gets it again. No ``usage_id``: this delivery is final, nothing fills it in later.
    """
    usage.delivery = Delivery.PASSIVE.value
    message.state = MessageState.DONE.value
    message.outcome = usage.outcome
    message.reply_text = reply_text
    message.delivery = Delivery.PASSIVE.value
    message.delivered_at = now
    message.lease_until = None
    message.created_at = message.created_at or now
    message.updated_at = now
    message.delivery_attempts = message.delivery_attempts or 0
    session.add(message)


def set_usage_delivery(session: Session, msg_key: str, delivery: Delivery) -> None:
    """Record on the usage row of the message ``msg_key`` how its reply went out."""
    usage_id = select(Message.usage_id).where(Message.msg_key == msg_key).scalar_subquery()
    session.execute(update(Usage).where(Usage.id == usage_id).values(delivery=delivery.value))


def count_user_photos(session: Session, openid: str, since: datetime) -> int:
    """Photo requests of one user since ``since`` (for the per-user daily limit)."""
    statement = select(func.count(Usage.id)).where(
        Usage.openid == openid,
        Usage.created_at >= since,
        Usage.outcome.not_in([Outcome.LIMITED.value, Outcome.COMMAND.value]),
    )
    return int(session.scalar(statement) or 0)


# ---------------------------------------------------------------- leases


class Lease(Base):
    """A named lease: "only one worker runs this scheduler job right now"."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


def acquire_lease(
    session: Session, name: str, holder: str, ttl_s: float, *, now: datetime | None = None
) -> bool:
    """Take or renew the lease ``name`` for ``holder``; False when someone else holds it.

    Atomic: a conditional UPDATE (expired or already ours), else an INSERT if absent.
    """
    now = now or utcnow()
    expires_at = now + timedelta(seconds=ttl_s)
    taken = session.execute(
        update(Lease)
        .where(Lease.name == name, (Lease.expires_at <= now) | (Lease.holder == holder))
        .values(holder=holder, expires_at=expires_at)
        .returning(Lease.name)
    ).first()
    if taken is not None:
        return True
    return insert_if_absent(
        session, Lease, {"name": name, "holder": holder, "expires_at": expires_at}
    )


def release_lease(session: Session, name: str, holder: str) -> None:
    session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC))
    )
