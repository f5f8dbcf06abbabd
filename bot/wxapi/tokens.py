"""The WeChat access token: one per app, kept in the database, shared by every process.

Refreshing takes a lease on the ``access_token`` row under a lock (``BEGIN IMMEDIATE`` on
SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL), then calls WeChat *outside* the lock so
a slow WeChat never blocks other writers. Anyone else who finds the token due meanwhile
sees the lease, waits, and reads the winner's token: N processes starting at once on an
expired token make one token request.

An APScheduler job (:class:`TokenRefresher`) refreshes ahead of expiry; a process that
starts with a stored, still-valid token uses it.

The database may be unavailable for a while: every read and write of the row is retried
(bot/store/db_retry.py) for a few seconds; meanwhile the token this process last saw is used
while it has not expired, and a token fetched from WeChat that cannot be stored is used
from memory (the next refresh stores one).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.metrics import TOKEN_REFRESHES
from bot.store.db import SessionFactory, insert_if_absent, write_transaction
from bot.store.db_retry import DatabaseUnavailable, retry_transient
from bot.store.models import AccessToken, utcnow
from bot.wxapi.client import (
    NO_ANSWER,
    FetchedToken,
    RetryPolicy,
    TokenApi,
    TokenFetcher,
    TokenProvider,
    WechatClient,
    WechatError,
    WechatUnavailable,
    shorten_token,
)

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# A token this close to its end is not handed out: a call could outlive it.
EXPIRY_SAFETY_S = 60
DEFAULT_REFRESH_MARGIN_S = 600
# How long a read or write of the token row is retried when the database fails.
DATABASE_WAIT_S = 3.0


@dataclass(frozen=True)
class StoredToken:
    app_id: str
    token: str
    expires_at: datetime
    refreshed_at: datetime | None

    def seconds_left(self, now: datetime) -> float:
        return (self.expires_at - now).total_seconds()

    def usable(self, now: datetime) -> bool:
        return self.seconds_left(now) > EXPIRY_SAFETY_S

    @property
    def short(self) -> str:
        return shorten_token(self.token)

    def __repr__(self) -> str:  # never print the token itself
        return f"StoredToken({self.app_id!r}, {self.short!r}, expires_at={self.expires_at})"


Due = Callable[[StoredToken | None, datetime], bool]


def _stored(row: AccessToken) -> StoredToken | None:
    if not row.token or row.expires_at is None:
        return None
    return StoredToken(row.app_id, row.token, row.expires_at, row.refreshed_at)


def default_holder() -> str:
    """Unique per store: two stores in one process must not mistake each other's lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class TokenStore:
    """``bot.wxapi.client.TokenProvider`` backed by the database row of ``app_id``."""

    def __init__(
        self,
        sessions: SessionFactory,
        fetcher: TokenFetcher,
        app_id: str,
        *,
        refresh_margin_s: float = DEFAULT_REFRESH_MARGIN_S,
        lease_s: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        holder: str | None = None,
        fetch_without_database: bool = False,
    ) -> None:
        """``fetch_without_database``: when the database is unavailable and this process
        has no token, ask WeChat directly (safe with ``stable_token`` only)."""
        self.sessions = sessions
        self.fetcher = fetcher
        self.app_id = app_id
        self.refresh_margin_s = refresh_margin_s
        self.lease_s = lease_s
        self.clock = clock
        self.sleep = sleep
        self.holder = holder or default_holder()
        self.fetch_without_database = fetch_without_database
        self._cached: StoredToken | None = None
        # The stored token when this store took the lease: a different one by the time
        # ours arrives means someone else refreshed meanwhile.
        self._replacing = ""
        # Threads of one process queue here instead of all polling the database.
        self._local_lock = threading.Lock()

    # -- TokenProvider

    def get_token(self) -> str:
        return self.ensure_valid().token

    def refresh_token(self, stale: str) -> str:
        """WeChat refused ``stale``: replace it, unless another caller already did."""
        replaced = self._refresh(
            lambda current, _now: current is None or current.token == stale, True
        )
        return replaced.token

    # -- reading

    def current(self) -> StoredToken | None:
        """The stored token, valid or not, without fetching."""
        return self._with_database(self._read_stored)

    def _read_stored(self) -> StoredToken | None:
        with self.sessions() as session:
            row = session.get(AccessToken, self.app_id)
            return _stored(row) if row is not None else None

    def _with_database(self, work: Callable[[], _T]) -> _T:
        return retry_transient("token", work, until=time.monotonic() + DATABASE_WAIT_S)

    def ensure_valid(self) -> StoredToken:
        """A usable token: the cached or stored one, else a new one (fetched by one process)."""
        cached = self._cached
        if cached is not None and cached.usable(self.clock()):
            return cached
        try:
            stored = self.current()
        except DatabaseUnavailable:
            # A token near its end still works until it expires; WeChat says so if not.
            if cached is not None and cached.seconds_left(self.clock()) > 0:
                return cached
            if not self.fetch_without_database:
                raise
            # stable_token hands out the current token without ending it: asking WeChat
            # without the row's lease harms no other process.
            return self._keep_in_memory(self.fetcher.fetch())
        if stored is not None and stored.usable(self.clock()):
            self._cached = stored
            return stored
        return self._refresh(lambda current, now: current is None or not current.usable(now))

    # -- refreshing

    def refresh_if_due(self) -> bool:
        """Refresh when less than the margin is left; True when a newer token is stored now
        (fetched by this call or, meanwhile, by another process)."""
        before = self.current()
        if before is not None and before.seconds_left(self.clock()) >= self.refresh_margin_s:
            # Kept in memory: this process's calls then need no database until it is due.
            self._cached = before
            return False
        after = self._refresh(self._due_ahead_of_expiry)
        return before is None or after.refreshed_at != before.refreshed_at

    def _due_ahead_of_expiry(self, current: StoredToken | None, now: datetime) -> bool:
        return current is None or current.seconds_left(now) < self.refresh_margin_s

    def force_refresh(self) -> StoredToken:
        """A new token now (``wxocr token refresh``); concurrent callers share one fetch."""
        asked_at = self.clock()
        return self._refresh(
            lambda current, _now: (
                current is None or current.refreshed_at is None or current.refreshed_at < asked_at
            ),
            True,
        )

    def _refresh(self, due: Due, force: bool = False) -> StoredToken:
        with self._local_lock:
            waited = 0.0
            pause = 0.05
            while True:
                outcome = self._with_database(partial(self._take_lease_or_read, due))
                if isinstance(outcome, StoredToken):
                    self._cached = outcome
                    return outcome
                if outcome == "leased":
                    break
                # Someone else is fetching: wait for their token (or their lease to lapse).
                if waited > self.lease_s * 2:
                    raise WechatUnavailable(NO_ANSWER, "gave up waiting for another refresh")
                self.sleep(pause)
                waited += pause
                pause = min(pause * 2, 0.5)
            return self._fetch_and_store(force)

    def _take_lease_or_read(self, due: Due) -> StoredToken | str:
        """Under the row lock: the current token if not due, else "leased" or "busy"."""
        with write_transaction(self.sessions) as session:
            row = self._locked_row(session)
            now = self.clock()
            current = _stored(row)
            if not due(current, now):
                assert current is not None
                return current
            held_by_other = (
                row.lease_holder not in (None, self.holder)
                and row.lease_until is not None
                and row.lease_until > now
            )
            if held_by_other:
                return "busy"
            row.lease_holder = self.holder
            row.lease_until = now + timedelta(seconds=self.lease_s)
            self._replacing = row.token
            return "leased"

    def _locked_row(self, session: Session) -> AccessToken:
        insert_if_absent(session, AccessToken, {"app_id": self.app_id, "token": "", "failures": 0})
        row = session.scalars(
            select(AccessToken).where(AccessToken.app_id == self.app_id).with_for_update()
        ).one()
        return row

    def _fetch_and_store(self, force: bool) -> StoredToken:
        try:
            fetched = self.fetcher.fetch(force=force)
        except WechatError as exc:
            self._release_after_failure(exc.errcode)
            raise
        except BaseException:
            self._release_after_failure(NO_ANSWER)
            raise
        TOKEN_REFRESHES.labels("ok").inc()
        try:
            return self._with_database(partial(self._store, fetched))
        except DatabaseUnavailable:
            # WeChat's new token may have ended the old one: use it from memory. Our lease
            # on the row lapses, and the next refresh (of any process) stores a token.
            log.warning("access token refreshed but not stored: database unavailable")
            return self._keep_in_memory(fetched)

    def _keep_in_memory(self, fetched: FetchedToken) -> StoredToken:
        expires_at = self.clock() + timedelta(seconds=fetched.expires_in)
        self._cached = StoredToken(self.app_id, fetched.token, expires_at, None)
        return self._cached

    def _store(self, fetched: FetchedToken) -> StoredToken:
        with write_transaction(self.sessions) as session:
            row = self._locked_row(session)
            newer = _stored(row)
            if newer is not None and row.token != self._replacing:
                # Our lease lapsed during a slow fetch and someone else stored a token that
                # WeChat issued after ours: theirs is the latest, keep it.
                if row.lease_holder == self.holder:
                    row.lease_holder = row.lease_until = None
                self._cached = newer
                return newer
            now = self.clock()
            row.token = fetched.token
            row.expires_at = now + timedelta(seconds=fetched.expires_in)
            row.refreshed_at = now
            row.lease_holder = None
            row.lease_until = None
            row.failures = 0
            row.last_errcode = None
            stored = _stored(row)
        assert stored is not None
        log.info(
            "access token refreshed for %s: %s, valid %d s",
            self.app_id,
            stored.short,
            fetched.expires_in,
        )
        self._cached = stored
        return stored

    def _release_after_failure(self, errcode: int) -> None:
        TOKEN_REFRESHES.labels("failed").inc()
        try:
            self._with_database(partial(self._record_failure, errcode))
        except DatabaseUnavailable:
            log.warning("failed token refresh not recorded: database unavailable")

    def _record_failure(self, errcode: int) -> None:
        with write_transaction(self.sessions) as session:
            row = self._locked_row(session)
            if row.lease_holder == self.holder:
                row.lease_holder = None
                row.lease_until = None
            row.failures += 1
            row.last_errcode = errcode


def build_client(config: Config, http: httpx.Client, tokens: TokenProvider) -> WechatClient:
    """The WeChat client for ``config``: the client itself knows only its ``api_base``."""
    return WechatClient(
        http,
        tokens,
        api_base=config.api_base,
        retry=RetryPolicy(max_retries=config.wechat.max_retries),
        max_media_bytes=config.wechat.max_media_bytes,
    )


def build_token_store(
    config: Config, http: httpx.Client, sessions: SessionFactory | None = None
) -> TokenStore:
    """The token store for ``config``: its database, its API base, stable or classic mode."""
    if sessions is None:
        from bot.store.db import create_db_engine, session_factory

        sessions = session_factory(create_db_engine(config.database.url))
    retry = RetryPolicy(max_retries=config.wechat.max_retries)
    fetcher = TokenApi(
        http,
        api_base=config.api_base,
        app_id=config.app_id,
        app_secret=config.app_secret,
        mode=config.wechat.token_mode,
        retry=retry,
    )
    # Long enough for the fetch with all its retries; a crashed holder's lease then lapses.
    lease_s = config.wechat.timeout_s * (retry.max_retries + 1) + retry.max_backoff_s * 2 + 5
    return TokenStore(
        sessions,
        fetcher,
        config.app_id,
        refresh_margin_s=config.wechat.token_refresh_margin_s,
        lease_s=lease_s,
        fetch_without_database=config.wechat.token_mode == "stable",  # noqa: S105 (a mode)
    )


# ---------------------------------------------------------------- scheduled refresh

JOB_ID = "wxocr-token-refresh"


class TokenRefresher:
    """The scheduler job: refresh ahead of expiry; after failures wait longer each time."""

    def __init__(
        self,
        store: TokenStore,
        *,
        interval_s: float = 30.0,
        max_backoff_s: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.interval_s = interval_s
        self.max_backoff_s = max_backoff_s
        self.monotonic = monotonic
        self.failures = 0
        self._not_before = 0.0

    def run_once(self) -> bool:
        """One job run; True when it fetched a token. Never raises (the scheduler would log
        a traceback); failures are logged with their errcode and retried later."""
        if self.monotonic() < self._not_before:
            return False
        try:
            refreshed = self.store.refresh_if_due()
        except Exception as exc:  # a job must survive any failure and try again later
            self.failures += 1
            delay = min(self.max_backoff_s, self.interval_s * 2 ** (self.failures - 1))
            self._not_before = self.monotonic() + delay
            errcode = exc.errcode if isinstance(exc, WechatError) else type(exc).__name__
            log.warning(
                "access token refresh failed (%s), failure %d in a row, next try in %.0f s",
                errcode,
                self.failures,
                delay,
            )
            return False
        if self.failures:
            log.info("access token refresh works again after %d failures", self.failures)
        self.failures = 0
        self._not_before = 0.0
        return refreshed

    def schedule(self, scheduler: Any) -> None:
        """Add the job to an APScheduler scheduler (e.g. a BackgroundScheduler); first run now."""
        scheduler.add_job(
            self.run_once,
            "interval",
            seconds=self.interval_s,
            id=JOB_ID,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now().astimezone(),
        )


def start_token_refresher(store: TokenStore, *, interval_s: float = 30.0) -> Any:
    """A started BackgroundScheduler running the refresh job; call ``.shutdown()`` to stop."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(daemon=True)
    TokenRefresher(store, interval_s=interval_s).schedule(scheduler)
    scheduler.start()
    return scheduler
