"""A photo's way from WeChat's POST to a reply: claim, download, read, answer or deliver later.

WeChat waits 5 s for the answer to its POST and retries twice with the same MsgId.
So every photo is claimed in the database first (its key is unique): a retry, or the
same POST reaching another worker, finds the claim and never runs the OCR again; it
waits for the first run within its own time budget instead. A result ready within the
budget is the passive reply; a later one goes out as a customer-service message. The
masked reply waits in the ``message`` row until it is delivered, so a restart loses
nothing: the scheduler job :meth:`Pipeline.resume` sends what is due and runs again the
photos whose worker died.

The database may fail for a while (a restart, a failover, a dropped connection): every
step retries its transaction (bot/store/db_retry.py) within the time it has. The claim gets the
passive budget; a photo still unclaimed then is answered ``success`` and kept in this
process, and the scheduler job claims it when the database is back, until WeChat's retry
window is over; then the user is told once that the service is busy. A run stores its
result within the claim's lease (after that another worker runs the photo again), a
delivery records itself within its lease, and the scheduler job's next round is the retry
of everything else.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Literal, Protocol
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.chat import replies
from bot.config import Config
from bot.metrics import DELIVERIES, OCR_SECONDS, PHOTO_OUTCOMES
from bot.store.db import SessionFactory, write_transaction
from bot.store.db_retry import DatabaseUnavailable, describe, retry_transient
from bot.store.models import (
    Delivery,
    Message,
    MessageState,
    Outcome,
    claim_message,
    get_message,
    mark_answered,
    pending_deliveries,
    record_usage,
    set_usage_delivery,
    stale_runs,
    utcnow,
)
from bot.wxapi.client import (
    WechatBadMedia,
    WechatClient,
    WechatError,
    WechatMediaTooLarge,
    wechat_errcode,
)
from ocr.engine import AUTO, CardResult, Engine, Kind
from ocr.errors import EngineError, ImageError, NoCardFound, OcrError
from ocr.image import ImageLimits, decode_image
from ocr.kinds import check_kind

log = logging.getLogger(__name__)

# Waits before the next customer-service attempt after a failed one; then we give up.
DELIVERY_BACKOFF_S = (2.0, 5.0, 15.0, 60.0, 300.0, 900.0)
# WeChat errcodes after which sending again cannot help: invalid openid, user gone,
# reply window closed, too many messages in the window, no permission.
PERMANENT_SEND_ERRCODES = frozenset({40003, 43004, 45015, 45047, 48001})
# A passive answer is kept this long: if WeChat retries, our answer never reached it.
PASSIVE_REPLY_KEPT_S = 60.0
# Claims are kept this long to recognise WeChat's retries (which come within seconds).
MESSAGE_KEPT = timedelta(days=2)
# A fresh result is left to the request waiting for it this long before the scheduler sends it.
PASSIVE_GRACE_S = 5.0
POLL_S = 0.1
# WeChat's three tries of a push span about 15 s: a photo whose claim fails for that long
# (counted from the first try) is given up, and its user told so once.
WECHAT_RETRY_WINDOW_S = 15.0
# Usage rows of photos given up while the database was down, kept until it is back.
MAX_UNRECORDED_USAGE = 10_000
# A long reply's continuations follow its passive part after this long, so that they
# reach the chat after it (WeChat shows the passive reply when our answer reaches it).
CONTINUATION_DELAY_S = 1.0


def repeat_passive_reply(message: Message, now: datetime) -> str | None:
    """The passive answer again for a retry of ``message``, if it was one and is still kept.

    WeChat retries only when our answer did not reach it. Anything else (a result sent
    as a customer-service message, or one still being made) gets ``success``: nothing.
    A long reply's passive answer is its first message; its continuations go out as
    customer-service messages (``delivered_at`` is set once the last has gone).
    """
    if message.delivery != Delivery.PASSIVE or not message.reply_text:
        return None
    if message.delivered_at is None or now - message.delivered_at < timedelta(
        seconds=PASSIVE_REPLY_KEPT_S
    ):
        return replies.split_reply(message.reply_text)[0]
    return None


class MediaSource(Protocol):
    """Where photo bytes come from (WeChat's media/get, PicUrl as a fallback)."""

    def download(self, media_id: str, pic_url: str) -> bytes: ...


class TextSender(Protocol):
    """Sends a customer-service text message; raises an error with ``errcode`` on failure."""

    def send_text(self, openid: str, content: str) -> None: ...


class WechatMedia:
    """Photo bytes by MediaId through media/get; the PicUrl only if that fails.

    A PicUrl arrives inside the (signed) message, but we still fetch it only from the
    configured CDN hosts: the webhook must not become a way to make us fetch any URL.
    """

    def __init__(
        self,
        client: WechatClient,
        http: httpx.Client,
        *,
        picurl_hosts: Collection[str],
        max_bytes: int,
    ) -> None:
        self.client = client
        self.http = http
        self.picurl_hosts = frozenset(host.lower() for host in picurl_hosts)
        self.max_bytes = max_bytes

    @classmethod
    def from_config(cls, config: Config, client: WechatClient, http: httpx.Client) -> WechatMedia:
        hosts = set(config.wechat.picurl_hosts)
        if config.sandbox_mode:
            hosts.add(urlsplit(config.api_base).netloc)  # the sandbox serves PicUrls itself
        return cls(client, http, picurl_hosts=hosts, max_bytes=config.wechat.max_media_bytes)

    def download(self, media_id: str, pic_url: str) -> bytes:
        try:
            if not media_id:
                raise WechatBadMedia(40007, "no MediaId in the message")
            return self.client.get_media(media_id).data
        except WechatMediaTooLarge:
            raise
        except WechatError as exc:
            if not self.allowed(pic_url):
                raise
            log.info("media/get failed (errcode %s), fetching the PicUrl", exc.errcode)
        return self._fetch(pic_url)

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.username or parts.password:
            return False
        return (parts.hostname or "") in self.picurl_hosts or parts.netloc in self.picurl_hosts

    def _fetch(self, url: str) -> bytes:
        with self.http.stream("GET", url, follow_redirects=False) as response:
            if response.status_code != 200:
                raise WechatBadMedia(40007, f"PicUrl answered HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise WechatMediaTooLarge(-4, "PicUrl body over the cap")
                chunks.append(chunk)
        return b"".join(chunks)


@dataclass(frozen=True)
class PhotoRequest:
    key: str  # the message key (models.message_key)
    openid: str
    media_id: str
    pic_url: str
    kind: Kind


@dataclass(frozen=True)
class PhotoResult:
    """What one run produced: the masked reply and the usage figures (no card data)."""

    reply: str
    outcome: Outcome
    error_code: str | None = None
    errcode: int | None = None
    kind_detected: str | None = None
    engine: str | None = None
    image_bytes: int | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Unclaimed:
    """A photo answered ``success`` whose claim failed: the database was unavailable."""

    request: PhotoRequest
    give_up_at: float  # time.monotonic(): WeChat's retry window is over


@dataclass(frozen=True)
class _GivenUp:
    """A photo given up while the database was down: its usage row, written when it is back."""

    request: PhotoRequest
    delivery: Delivery  # how the "service busy" message went
    at: datetime


class _Run:
    """A photo being processed in this process, and the requests waiting for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.waiters = 0


def _locked_message(session: Session, key: str) -> Message | None:
    """The message row, locked until the transaction ends.

    Read-then-write decisions (who answers, who sends) must not interleave. SQLite's
    ``BEGIN IMMEDIATE`` (write_transaction) already serialises them; PostgreSQL needs the
    row lock. SQLAlchemy leaves FOR UPDATE out on SQLite.
    """
    statement = select(Message).where(Message.msg_key == key).with_for_update()
    return session.scalars(statement).one_or_none()


def _errcode(exc: BaseException) -> int | None:
    # The wechat OCR engine raises ocr errors whose cause carries WeChat's errcode.
    return wechat_errcode(exc)


class Pipeline:
    def __init__(
        self,
        config: Config,
        sessions: SessionFactory,
        media: MediaSource,
        sender: TextSender,
        engine_factory: Callable[[], Engine],
        *,
        worker_id: str | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.media = media
        self.sender = sender
        self.engine_factory = engine_factory
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=config.pipeline.lease_s)
        self.limits = ImageLimits(
            max_bytes=config.ocr.max_image_bytes,
            max_pixels=config.ocr.max_pixels,
            max_side=config.ocr.max_side,
        )
        self.timezone = ZoneInfo(config.log.timezone)
        # OCR engines are not thread-safe: one per OCR thread, built on first use there.
        self._ocr_pool = ThreadPoolExecutor(config.ocr.threads, thread_name_prefix="ocr")
        self._engines = threading.local()
        # Downloads and deliveries wait on the network, not the CPU: more threads.
        self._io_pool = ThreadPoolExecutor(
            max(4, 2 * config.server.threads), thread_name_prefix="photo"
        )
        threads = config.server.threads
        self._passive_slots = threading.BoundedSemaphore(max(1, threads - max(2, threads // 4)))
        self._runs: dict[str, _Run] = {}
        self._runs_lock = threading.Lock()
        # Photos and usage rows waiting for the database to come back (see the module doc).
        self._unclaimed: dict[str, _Unclaimed] = {}
        self._unrecorded_usage: list[_GivenUp] = []
        self._waiting_lock = threading.Lock()

    # ------------------------------------------------------------ the request path

    def handle_photo(self, request: PhotoRequest, deadline: float) -> str | None:
        """The passive reply, or None (answer ``success``) when the result comes later.

        ``deadline`` is a ``time.monotonic()`` value: the request must answer by then.
        """
        try:
            claimed, limited_reply = retry_transient(
                "claim", partial(self._claim, request), until=deadline
            )
        except DatabaseUnavailable as exc:
            self._hold_unclaimed(request, deadline, exc)
            return None
        if limited_reply is not None:
            PHOTO_OUTCOMES.labels(Outcome.LIMITED.value).inc()
            log.info("photo refused: daily limit reached")
            return limited_reply
        if not claimed:
            log.info("photo seen before (WeChat's retry or a replay): not run again")
        # A waiting request holds a server thread. Some threads must stay free to answer
        # the queue at once, or in a burst requests would wait in line past WeChat's 5 s.
        if not self._passive_slots.acquire(blocking=False):
            if claimed:
                self._start(request, waiting=False)
            return self._take_passive(request.key, deadline)
        try:
            run = self._start(request, waiting=True) if claimed else None
            return self._await_passive(request.key, deadline, run)
        finally:
            self._passive_slots.release()

    def _claim(self, request: PhotoRequest) -> tuple[bool, str | None]:
        """Claim the photo; (claimed, reply when the user's daily limit is reached)."""
        limit = self.config.pipeline.daily_limit
        now = utcnow()
        with write_transaction(self.sessions) as session:
            if get_message(session, request.key) is not None:
                return False, None
            limited = bool(limit) and self._photos_today(session, request.openid, now) >= limit
            claim = claim_message(
                session,
                request.key,
                request.openid,
                kind_asked=request.kind,
                media_id=None if limited else request.media_id or None,
                worker=self.worker_id,
                lease_s=self.lease.total_seconds(),
                now=now,
            )
            if not claim.claimed:
                return False, None  # another worker took this message meanwhile
            if limited:
                reply = replies.daily_limit(limit)
                usage = record_usage(
                    session,
                    openid=request.openid,
                    outcome=Outcome.LIMITED,
                    kind_asked=request.kind,
                    latency_ms=0,
                    now=now,
                )
                mark_answered(session, claim.message, usage, reply, now=now)
                return False, reply
            claim.message.state = MessageState.RUNNING.value
            return True, None

    def _photos_today(self, session: Session, openid: str, now: datetime) -> int:
        # Counted on claims, not on usage rows: those are written when a run ends, so a
        # burst of photos would all see the same count and pass together. Text commands
        # are claimed too, but are not photos.
        local_today = now.astimezone(self.timezone).date()
        since = datetime(local_today.year, local_today.month, local_today.day, tzinfo=self.timezone)
        statement = select(func.count(Message.id)).where(
            Message.openid == openid,
            Message.created_at >= since.astimezone(UTC),
            (Message.outcome.is_(None))
            | (Message.outcome.not_in([Outcome.LIMITED.value, Outcome.COMMAND.value])),
        )
        return int(session.scalar(statement) or 0)

    def _await_passive(self, key: str, deadline: float, own_run: _Run | None) -> str | None:
        """Wait for the result until ``deadline``; ``own_run`` already counts us as waiting."""
        run = own_run
        if run is None:
            with self._runs_lock:
                run = self._runs.get(key)
            if run is not None:
                with run.lock:
                    run.waiters += 1
        if run is not None:
            try:
                run.done.wait(max(0.0, deadline - time.monotonic()))
            finally:
                with run.lock:
                    run.waiters -= 1
            return self._take_passive(key, deadline)
        # Running in another worker (or finished): watch the row, and ask that worker to
        # leave the result to us until our deadline instead of sending it later.
        until = utcnow() + timedelta(seconds=deadline - time.monotonic())
        try:
            retry_transient("passive", partial(self._hold_for_passive, key, until), until=deadline)
        except DatabaseUnavailable:
            return None  # the result goes out as a customer-service message
        while True:
            remaining = deadline - time.monotonic()
            if not self._still_running(key) or remaining <= 0:
                return self._take_passive(key, deadline)
            time.sleep(min(POLL_S, remaining))

    def _still_running(self, key: str) -> bool:
        # A plain read: polling must not take the database write lock ten times a second.
        try:
            state = retry_transient("passive", partial(self._message_state, key), until=0)
        except DatabaseUnavailable:
            return True  # unknown: keep polling until the deadline
        return state in (MessageState.CLAIMED, MessageState.RUNNING)

    def _message_state(self, key: str) -> str | None:
        with self.sessions() as session:
            return session.scalar(select(Message.state).where(Message.msg_key == key))

    def _hold_for_passive(self, key: str, until: datetime) -> None:
        with write_transaction(self.sessions) as session:
            session.execute(
                update(Message)
                .where(
                    Message.msg_key == key,
                    Message.state.in_([MessageState.CLAIMED.value, MessageState.RUNNING.value]),
                    Message.next_attempt_at.is_(None) | (Message.next_attempt_at < until),
                )
                .values(next_attempt_at=until)
            )

    def _take_passive(self, key: str, deadline: float) -> str | None:
        """Take the result for a passive answer if it is ready and nobody delivered it.

        Retried until ``deadline``: a take whose commit was lost with the connection finds
        the result delivered passively by itself and answers it again. After that, the
        result goes out as a customer-service message. A long reply's first message is
        the passive answer, and its continuations are sent shortly after.
        """
        try:
            reply, continued = retry_transient(
                "passive", partial(self._take_passive_once, key), until=deadline
            )
        except DatabaseUnavailable:
            return None
        if continued:
            self._io_pool.submit(self._deliver_continuation, key)
        return reply

    def _take_passive_once(self, key: str) -> tuple[str | None, bool]:
        """(the passive answer or None, whether continuations are to be sent)."""
        now = utcnow()
        with write_transaction(self.sessions) as session:
            message = _locked_message(session, key)
            if message is None or message.state != MessageState.DONE or not message.reply_text:
                return None, False
            if message.delivered_at is None and not message.parts_sent:
                if message.lease_until is not None and message.lease_until > now:
                    return None, False  # a customer-service send is under way
                parts = replies.split_reply(message.reply_text)
                message.delivery = Delivery.PASSIVE.value
                message.lease_until = None
                set_usage_delivery(session, key, Delivery.PASSIVE)
                if len(parts) == 1:
                    message.delivered_at = now
                    return parts[0], False
                # Not delivered yet: the scheduler's scan sends the rest if we cannot.
                message.parts_sent = 1
                message.next_attempt_at = now + timedelta(seconds=CONTINUATION_DELAY_S)
                return parts[0], True
            return repeat_passive_reply(message, now), False

    def _deliver_continuation(self, key: str) -> None:
        # After the passive answer has had time to reach the chat: the parts must follow it.
        time.sleep(CONTINUATION_DELAY_S)
        self._deliver(key, force=True)

    # ------------------------------------------------------------ running a photo

    def _start(self, request: PhotoRequest, *, waiting: bool) -> _Run:
        """Run the photo in the background; ``waiting``: the caller waits for it passively.

        The caller is counted before the run starts, or a fast run (a bad photo) could end
        before the caller waits and send its result as a customer-service message.
        """
        run = _Run()
        run.waiters = 1 if waiting else 0
        with self._runs_lock:
            self._runs[request.key] = run
        self._io_pool.submit(self._run, request, run)
        return run

    def _run(self, request: PhotoRequest, run: _Run) -> None:
        started = time.monotonic()
        # Our claim stays ours this long without a renewal (renewals need the database).
        lease_end = started + self.lease.total_seconds()
        try:
            result = self._process(request, lease_end)
        except DatabaseUnavailable as exc:
            log.warning("photo run failed: database unavailable (%s)", describe(exc))
            result = PhotoResult(replies.service_busy(), Outcome.ERROR, error_code="db_unavailable")
        except Exception:  # a bug must not leave the photo claimed forever
            log.exception("photo run failed unexpectedly")
            result = PhotoResult(replies.engine_error(), Outcome.ERROR, error_code="internal")
        latency_ms = round((time.monotonic() - started) * 1000)
        try:
            stored = retry_transient(
                "result",
                partial(self._store_result, request, result, latency_ms),
                until=max(lease_end, time.monotonic()),
            )
        except DatabaseUnavailable as exc:
            # The lease lapses meanwhile: the first worker to reach the database runs the
            # photo again, and that run's result is the one delivered.
            log.warning("photo result not stored: database unavailable (%s)", describe(exc))
            stored = "dropped"
        finally:
            run.done.set()
            with self._runs_lock:
                self._runs.pop(request.key, None)
        if stored != "dropped":
            PHOTO_OUTCOMES.labels(result.outcome.value).inc()
            log.info(
                "photo done: outcome=%s error_code=%s errcode=%s image_bytes=%s latency_ms=%d",
                result.outcome.value,
                result.error_code,
                result.errcode,
                result.image_bytes,
                latency_ms,
            )
        with run.lock:
            someone_waits = run.waiters > 0
        # Nobody will answer passively: send it now. (Else the scheduler sends it if the
        # waiting request somehow does not take it.)
        if stored == "free" and not someone_waits:
            self._deliver(request.key, force=True)

    def _process(self, request: PhotoRequest, lease_end: float) -> PhotoResult:
        """Download and read the photo; the WeChat calls may need the token store's database."""
        try:
            data = retry_transient(
                "token",
                partial(self.media.download, request.media_id, request.pic_url),
                until=lease_end,
            )
        except DatabaseUnavailable:
            raise
        except Exception as exc:  # any download failure gets the same answer
            log.warning("photo download failed: %s errcode=%s", type(exc).__name__, _errcode(exc))
            return PhotoResult(
                replies.download_failed(),
                Outcome.ERROR,
                error_code="download_failed",
                errcode=_errcode(exc),
            )
        size = len(data)
        try:
            decode_image(data, self.limits)  # typed ImageError before any engine sees it
            result = retry_transient(
                "token",
                lambda: self._ocr_pool.submit(self._recognize, data, request.kind).result(),
                until=lease_end,
            )
        except ImageError as exc:
            return PhotoResult(
                replies.bad_image(exc), Outcome.BAD_IMAGE, error_code=exc.code, image_bytes=size
            )
        except NoCardFound as exc:
            return PhotoResult(
                replies.no_card(request.kind),
                Outcome.NO_CARD,
                error_code=exc.code,
                image_bytes=size,
            )
        except (EngineError, OcrError) as exc:
            log.warning("OCR engine failed: %s", exc.code)
            return PhotoResult(
                replies.engine_error(),
                Outcome.ERROR,
                error_code=exc.code,
                errcode=_errcode(exc),
                image_bytes=size,
            )
        return PhotoResult(
            replies.card_result(result),
            Outcome.OK,
            kind_detected=result.kind,
            engine=result.engine,
            image_bytes=size,
            warnings=tuple(result.warnings),
        )

    def _recognize(self, data: bytes, kind: Kind) -> CardResult:
        engine: Engine | None = getattr(self._engines, "engine", None)
        if engine is None:
            engine = self.engine_factory()
            self._engines.engine = engine
        with OCR_SECONDS.time():
            return engine.recognize(data, kind)

    def _store_result(
        self, request: PhotoRequest, result: PhotoResult, latency_ms: int
    ) -> Literal["free", "held", "dropped"]:
        """Keep the masked reply until delivered.

        "held": a request in another worker waits to answer with it passively;
        "dropped": our claim was taken over meanwhile (the other run's result counts).
        """
        now = utcnow()
        grace = now + timedelta(seconds=PASSIVE_GRACE_S)
        with write_transaction(self.sessions) as session:
            message = _locked_message(session, request.key)
            if (
                message is None
                or message.worker != self.worker_id
                or message.state not in (MessageState.CLAIMED, MessageState.RUNNING)
            ):
                log.warning("photo result dropped: the claim was taken over by another worker")
                return "dropped"
            held = message.next_attempt_at is not None and message.next_attempt_at > now
            message.state = MessageState.DONE.value
            message.outcome = result.outcome.value
            message.reply_text = result.reply
            message.media_id = None
            message.lease_until = None
            # Not before the grace: a request waiting here takes it first, not the scheduler.
            hold = message.next_attempt_at
            message.next_attempt_at = hold if held and hold is not None and hold > grace else grace
            message.updated_at = now
            usage = record_usage(
                session,
                openid=request.openid,
                outcome=result.outcome,
                kind_asked=request.kind,
                kind_detected=result.kind_detected,
                engine=result.engine,
                error_code=result.error_code,
                errcode=result.errcode,
                latency_ms=latency_ms,
                image_bytes=result.image_bytes,
                warnings=result.warnings,
                now=now,
            )
            # Its delivery is filled in when the reply goes out (set_usage_delivery).
            session.flush()
            message.usage_id = usage.id
        return "held" if held else "free"

    # ------------------------------------------------------------ delivering later

    def _deliver(self, key: str, *, force: bool = False) -> None:
        """Send a finished result as a customer-service message, at most one sender at a time.

        ``force`` skips the wait for ``next_attempt_at`` (used right after the run ends).
        One try to take it: if the database fails, a later round of the scheduler job sends
        it. Once sent, recording that is retried for as long as our delivery lease lasts.
        """
        try:
            taken = retry_transient("delivery", partial(self._take_delivery, key, force), until=0)
        except DatabaseUnavailable:
            return
        if taken is None:
            return
        attempts, openid, text, sent = taken
        # A reply over WeChat's limit goes out as several messages, in order; each is
        # recorded once sent, so a restart resumes with the next (replies.split_reply).
        parts = replies.split_reply(text)
        # Before the lease lapses, or another worker could send the message again.
        lease_end = time.monotonic() + self.lease.total_seconds() * 0.8
        if sent >= len(parts):  # all out already (a count from an older split): done
            with suppress(DatabaseUnavailable):
                retry_transient(
                    "delivery", partial(self._mark_sent, key, sent, sent), until=lease_end
                )
            return
        while sent < len(parts):
            if time.monotonic() >= lease_end:
                # Out of lease: the rest goes in a later round (parts_sent says where).
                with suppress(DatabaseUnavailable):
                    retry_transient("delivery", partial(self._release, key), until=0)
                return
            try:
                self.sender.send_text(openid, parts[sent])
            except Exception as exc:  # every failure is recorded and retried or dropped
                self._delivery_failed(key, attempts, exc, lease_end, sent)
                return
            sent += 1
            try:
                retry_transient(
                    "delivery", partial(self._mark_sent, key, sent, len(parts)), until=lease_end
                )
            except DatabaseUnavailable as exc:
                log.error(
                    "customer-service message sent but not recorded (database unavailable: %s); "
                    "it will be sent again",
                    describe(exc),
                )
                return
            DELIVERIES.labels("sent").inc()

    def _release(self, key: str) -> None:
        with write_transaction(self.sessions) as session:
            session.execute(
                update(Message)
                .where(Message.msg_key == key)
                .values(lease_until=None, next_attempt_at=utcnow())
            )

    def _take_delivery(self, key: str, force: bool) -> tuple[int, str, str, int] | None:
        """Under the row lock: take the delivery lease; (attempt, openid, text, messages
        of it already sent) or None."""
        now = utcnow()
        with write_transaction(self.sessions) as session:
            message = _locked_message(session, key)
            if (
                message is None
                or message.state != MessageState.DONE
                or message.delivered_at is not None
                or not message.reply_text
                or (message.lease_until is not None and message.lease_until > now)
                or (
                    not force
                    and message.next_attempt_at is not None
                    and message.next_attempt_at > now
                )
            ):
                return None
            message.lease_until = now + self.lease
            message.worker = self.worker_id
            message.delivery_attempts += 1
            return (
                message.delivery_attempts,
                message.openid,
                message.reply_text,
                message.parts_sent,
            )

    def _mark_sent(self, key: str, sent: int, total: int) -> None:
        """``sent`` of the reply's ``total`` messages have gone out."""
        with write_transaction(self.sessions) as session:
            message = _locked_message(session, key)
            if message is None:
                return
            passive = message.delivery == Delivery.PASSIVE
            if not passive and message.delivery != Delivery.CUSTOM:
                message.delivery = Delivery.CUSTOM.value
                set_usage_delivery(session, key, Delivery.CUSTOM)
            message.parts_sent = sent
            if sent < total:
                return  # the lease is still ours: the next message follows at once
            message.delivered_at = utcnow()
            message.lease_until = None
            message.next_attempt_at = None
            # A passive answer stays a while for WeChat's retries (see _resume_scan).
            if not passive:
                message.reply_text = None

    def _delivery_failed(
        self, key: str, attempts: int, exc: Exception, lease_end: float, sent: int = 0
    ) -> None:
        errcode = _errcode(exc)
        give_up = errcode in PERMANENT_SEND_ERRCODES or attempts > len(DELIVERY_BACKOFF_S)
        DELIVERIES.labels("gave_up" if give_up else "retry").inc()
        log.warning(
            "customer-service message failed: %s errcode=%s attempt=%d%s",
            type(exc).__name__,
            errcode,
            attempts,
            ", giving up" if give_up else "",
        )
        now = utcnow()
        values: dict[str, object] = {"lease_until": None, "last_errcode": errcode}
        if give_up:
            values.update(state=MessageState.FAILED.value, reply_text=None)
        else:
            values["next_attempt_at"] = now + timedelta(seconds=DELIVERY_BACKOFF_S[attempts - 1])

        def record() -> None:
            with write_transaction(self.sessions) as session:
                session.execute(update(Message).where(Message.msg_key == key).values(**values))
                # A long reply whose first messages went out was delivered, if not whole.
                if give_up and not sent:
                    set_usage_delivery(session, key, Delivery.FAILED)

        # If that fails too, the lease lapses and a later round tries the send again.
        with suppress(DatabaseUnavailable):
            retry_transient("delivery", record, until=lease_end)

    # ------------------------------------------------------------ the scheduler job

    def resume(self) -> None:
        """Claim photos the database refused, renew our claims, send due results, run again
        photos of dead workers, tidy up. One try each: the next round is the retry."""
        self._claim_unclaimed()
        self._record_unrecorded_usage()
        try:
            due, stale = retry_transient("resume", self._resume_scan, until=0)
        except DatabaseUnavailable:
            return
        for key in due:
            self._io_pool.submit(self._deliver, key)
        for key in stale:
            self._take_over(key)

    def _resume_scan(self) -> tuple[list[str], list[str]]:
        """Renew our claims and tidy up; (results due for delivery, photos of dead workers)."""
        now = utcnow()
        with self._runs_lock:
            running = list(self._runs)
        with write_transaction(self.sessions) as session:
            if running:
                # Claims only: a run may store its result (state DONE) between the snapshot
                # above and this UPDATE, and a lease on a stored result would stop its
                # delivery for a whole lease ("a send is under way").
                session.execute(
                    update(Message)
                    .where(
                        Message.msg_key.in_(running),
                        Message.worker == self.worker_id,
                        Message.state.in_([MessageState.CLAIMED.value, MessageState.RUNNING.value]),
                    )
                    .values(lease_until=now + self.lease)
                )
            due = [m.msg_key for m in pending_deliveries(session, now=now, limit=50)]
            stale = [m.msg_key for m in stale_runs(session, now=now, limit=10)]
            # Passive answers are kept only for WeChat's retries; claims for a while longer.
            session.execute(
                update(Message)
                .where(
                    Message.delivery == Delivery.PASSIVE.value,
                    Message.delivered_at < now - timedelta(seconds=PASSIVE_REPLY_KEPT_S),
                    Message.reply_text.is_not(None),
                )
                .values(reply_text=None)
            )
            session.execute(delete(Message).where(Message.created_at < now - MESSAGE_KEPT))
        return due, stale

    def _take_over(self, key: str) -> None:
        """Run a photo again whose worker died (its lease ran out)."""
        try:
            request = retry_transient("resume", partial(self._claim_stale, key), until=0)
        except DatabaseUnavailable:
            return
        if request is not None:
            log.info("resuming a photo whose worker stopped")
            self._start(request, waiting=False)

    def _claim_stale(self, key: str) -> PhotoRequest | None:
        now = utcnow()
        with write_transaction(self.sessions) as session:
            message = _locked_message(session, key)
            if message is None or message.lease_until is None or message.lease_until >= now:
                return None
            if message.state not in (MessageState.CLAIMED, MessageState.RUNNING):
                return None
            message.worker = self.worker_id
            message.lease_until = now + self.lease
            message.state = MessageState.RUNNING.value
            return PhotoRequest(
                key=key,
                openid=message.openid,
                media_id=message.media_id or "",
                pic_url="",
                kind=check_kind(message.kind_asked or AUTO),
            )

    # ------------------------------------------------------------ while the database is down

    def _hold_unclaimed(self, request: PhotoRequest, deadline: float, exc: Exception) -> None:
        """Keep a photo the database refused to claim, for :meth:`_claim_unclaimed`."""
        started = deadline - self.config.pipeline.passive_budget_s
        held = _Unclaimed(request, give_up_at=started + WECHAT_RETRY_WINDOW_S)
        with self._waiting_lock:
            # A WeChat retry of a photo already kept changes nothing.
            self._unclaimed.setdefault(request.key, held)
        log.warning("photo not claimed yet: database unavailable (%s)", describe(exc))

    def _claim_unclaimed(self) -> None:
        """Claim the photos kept while the database was down, or give up those out of time."""
        with self._waiting_lock:
            waiting = list(self._unclaimed.values())
        database_down = False
        for held in waiting:
            request = held.request
            outcome: tuple[bool, str | None] | None = None
            if not database_down:
                try:
                    outcome = retry_transient("claim", partial(self._claim, request), until=0)
                except DatabaseUnavailable:
                    database_down = True  # no use trying the others in this round
            if outcome is None and time.monotonic() < held.give_up_at:
                continue
            with self._waiting_lock:
                self._unclaimed.pop(request.key, None)
            if outcome is None:
                self._io_pool.submit(self._tell_busy, request)
                continue
            claimed, limited_reply = outcome
            if limited_reply is not None:
                self._io_pool.submit(self._send_best_effort, request.openid, limited_reply)
            elif claimed:
                self._start(request, waiting=False)
            # Else another worker (which got a WeChat retry of it) claimed it: theirs.

    def _tell_busy(self, request: PhotoRequest) -> None:
        """The database stayed unavailable past WeChat's retry window: say so, once."""
        log.warning("photo given up: the database stayed unavailable past WeChat's retry window")
        PHOTO_OUTCOMES.labels(Outcome.ERROR.value).inc()
        sent = self._send_best_effort(request.openid, replies.service_busy())
        row = _GivenUp(request, Delivery.CUSTOM if sent else Delivery.FAILED, utcnow())
        with self._waiting_lock:
            if len(self._unrecorded_usage) >= MAX_UNRECORDED_USAGE:
                log.error("usage row dropped: too many waiting for the database")
                return
            self._unrecorded_usage.append(row)

    def _send_best_effort(self, openid: str, text: str) -> bool:
        try:
            self.sender.send_text(openid, text)
        except Exception as exc:  # nothing is kept to send again: say what happened
            log.warning(
                "customer-service message failed: %s errcode=%s", type(exc).__name__, _errcode(exc)
            )
            return False
        return True

    def _record_unrecorded_usage(self) -> None:
        """Write the usage rows of photos given up while the database was down."""
        with self._waiting_lock:
            rows, self._unrecorded_usage = self._unrecorded_usage, []
        if not rows:
            return

        def write() -> None:
            with write_transaction(self.sessions) as session:
                for row in rows:
                    record_usage(
                        session,
                        openid=row.request.openid,
                        outcome=Outcome.ERROR,
                        kind_asked=row.request.kind,
                        error_code="db_unavailable",
                        delivery=row.delivery,
                        now=row.at,
                    )

        try:
            retry_transient("usage", write, until=0)
        except DatabaseUnavailable:
            with self._waiting_lock:
                self._unrecorded_usage[:0] = rows

    def pending_count(self) -> int:
        """Results waiting for delivery (for /healthz)."""
        with self.sessions() as session:
            return int(
                session.scalar(
                    select(func.count(Message.id)).where(
                        Message.state == MessageState.DONE.value,
                        Message.delivered_at.is_(None),
                    )
                )
                or 0
            )

    def close(self) -> None:
        self._io_pool.shutdown(wait=False, cancel_futures=True)
        self._ocr_pool.shutdown(wait=False, cancel_futures=True)
