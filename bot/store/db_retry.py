"""Transient database errors, and the one helper every step of a message's way retries them with.

A PostgreSQL restart or failover, a connection dropped by a proxy (PgBouncer, a cloud load
balancer), a serialization failure or a deadlock fails one transaction; the same
transaction run again a moment later succeeds. :func:`retry_transient` runs a step's
transaction again, with exponential backoff and jitter (so that the workers do not all
come back at the same instant), until it succeeds or the step's time is up: a photo's
passive budget on the request path, the claim's lease in a photo's run, one try per round
in the scheduler jobs (their next round is the retry). Any other error (a bug, a
constraint violation) is raised at once. When the time is up :class:`DatabaseUnavailable`
is raised, so the caller decides what the user gets.

Connections: ``pool_pre_ping`` (bot/store/db.py) tests each pooled connection at checkout, and
when SQLAlchemy sees a disconnect it invalidates every connection of the pool opened
before it, so a restarted server's dead connections are replaced, not tried one by one.

Each error is counted in ``wxocr_db_errors`` (by step) and the current outage is kept in
:data:`DATABASE_HEALTH` for ``/readyz``. Only an error's type and SQLSTATE are logged or
shown: SQLAlchemy's message holds the statement and its parameters.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from bot.metrics import DB_ERRORS

log = logging.getLogger(__name__)

T = TypeVar("T")

# SQLSTATEs after which the same transaction can succeed when run again (class 08:
# connection exceptions, matched by prefix).
TRANSIENT_SQLSTATES = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "40003",  # statement_completion_unknown
        "55P03",  # lock_not_available
        "57P01",  # admin_shutdown: the server is stopping or restarting
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: the server is starting up
        "53300",  # too_many_connections
        "25006",  # read_only_sql_transaction: still connected to a demoted primary
    }
)
FIRST_WAIT_S = 0.05
MAX_WAIT_S = 1.0


class DatabaseUnavailable(Exception):
    """A step's transaction kept failing with transient errors until its time was up.

    The last database error is the ``__cause__``; the message names the step and the
    error's type only.
    """


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error wrapped by SQLAlchemy (psycopg), if it has one."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return str(code) if code else None


def describe(exc: BaseException) -> str:
    """A database error as it may be logged or shown: its type and SQLSTATE, no message."""
    for error in _causes(exc):
        if isinstance(error, DBAPIError):
            code = sqlstate(error)
            return type(error).__name__ + (f" {code}" if code else "")
    return type(exc).__name__


def is_transient(exc: BaseException) -> bool:
    """True for database errors that running the same transaction again can cure.

    Looks through ``__cause__``/``__context__``: the error may reach a step wrapped, e.g.
    the token store's :class:`DatabaseUnavailable` inside a WeChat API call.
    """
    for error in _causes(exc):
        if isinstance(error, DBAPIError):
            return _transient_driver_error(error)
    return False


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _transient_driver_error(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:  # SQLAlchemy's own disconnect detection
        return True
    code = sqlstate(exc)
    if code is not None:
        return code in TRANSIENT_SQLSTATES or code.startswith("08")
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    if isinstance(exc.orig, sqlite3.Error):
        # SQLite's OperationalError also means "no such table" or "disk I/O error";
        # only another process's lock outlasting the busy timeout passes.
        name = getattr(exc.orig, "sqlite_errorname", "")
        return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc.orig)
    # No SQLSTATE: the driver did not get an answer from a server at all (connection
    # refused or reset, server gone mid-statement).
    return True


class DatabaseHealth:
    """This process's view of the database: since when it has been failing, and why.

    ``/readyz`` shows it; the first error of an outage and the recovery are logged once
    each, not once per retry.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.failing_since: float | None = None
        self.last_error = ""
        self.errors_in_outage = 0

    def failed(self, step: str, exc: BaseException) -> None:
        DB_ERRORS.labels(step).inc()
        what = describe(exc)
        with self._lock:
            first = self.failing_since is None
            if first:
                self.failing_since = self.clock()
                self.errors_in_outage = 0
            self.errors_in_outage += 1
            self.last_error = what
        if first:
            log.warning("database unavailable (%s) in step %s: retrying", what, step)

    def succeeded(self) -> None:
        if self.failing_since is None:  # the common case: no lock taken
            return
        with self._lock:
            since, errors = self.failing_since, self.errors_in_outage
            self.failing_since = None
        if since is not None:
            log.warning(
                "database reachable again after %.1f s (%d errors retried or deferred)",
                self.clock() - since,
                errors,
            )

    def outage(self) -> str | None:
        """What /readyz says while the database fails, e.g. "OperationalError 57P03 for 4 s"."""
        with self._lock:
            if self.failing_since is None:
                return None
            return f"{self.last_error} for {self.clock() - self.failing_since:.0f} s"


DATABASE_HEALTH = DatabaseHealth()


def retry_transient(
    step: str,
    work: Callable[[], T],
    *,
    until: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``work()``; after a transient database error run again, with backoff, until ``until``.

    ``until`` is a ``time.monotonic()`` value; ``work`` runs at least once (pass 0 for one
    try). ``work`` must be one whole transaction (open a new session each time): a failed
    one is rolled back by its context manager, and running it again must be safe.
    Raises :class:`DatabaseUnavailable` when time is up, anything else at once.
    """
    wait = FIRST_WAIT_S
    while True:
        try:
            result = work()
        except Exception as exc:
            if not is_transient(exc):
                raise
            DATABASE_HEALTH.failed(step, exc)
            remaining = until - time.monotonic()
            if remaining <= 0:
                raise DatabaseUnavailable(f"{step}: {describe(exc)}") from exc
            sleep(min(remaining, wait * random.uniform(0.5, 1.0)))  # noqa: S311 (jitter)
            wait = min(wait * 2, MAX_WAIT_S)
            continue
        DATABASE_HEALTH.succeeded()
        return result
