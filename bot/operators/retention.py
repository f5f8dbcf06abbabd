"""Usage retention: a daily APScheduler job deletes usage rows older than ``retention.usage_days``.

The bot's scheduler setup calls :func:`register_retention_job` once per process. When
several processes (or hosts) share the database, a lease in the database lets one of them
purge and the others skip that day's run; the batches keep each write transaction short.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta

from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config import Config
from bot.operators.usage import PurgeResult, purge_usage, zone
from bot.store.db import SessionFactory
from bot.store.models import acquire_lease

log = logging.getLogger(__name__)

JOB_ID = "usage-retention"
# Early morning in the operators' zone: the quietest hour for a bulk delete.
RUN_AT_HOUR, RUN_AT_MINUTE = 4, 17
BATCH_SIZE = 5000
# Longer than a purge takes and shorter than a day: the other processes' runs that same
# morning find the lease taken; the next morning it has expired.
LEASE_S = 6 * 3600


def purge_expired_usage(
    config: Config, session_factory: SessionFactory, *, now: datetime | None = None
) -> PurgeResult:
    """Delete usage rows older than ``retention.usage_days`` (the job's body)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=config.retention.usage_days)
    result = purge_usage(session_factory, cutoff, batch_size=BATCH_SIZE)
    log.info(
        "usage retention: deleted=%d batches=%d days=%d",
        result.rows,
        result.batches,
        config.retention.usage_days,
    )
    return result


def _run_job(config: Config, session_factory: SessionFactory, holder: str) -> None:
    try:
        with session_factory() as session, session.begin():
            if not acquire_lease(session, JOB_ID, holder, LEASE_S):
                log.info("usage retention: skipped, another process has run it")
                return
        purge_expired_usage(config, session_factory)
    except Exception:
        # The scheduler would log it too, but without saying which job's data is at stake.
        log.exception("usage retention failed; rows are kept until the next run")


def register_retention_job(
    scheduler: BaseScheduler,
    config: Config,
    session_factory: SessionFactory,
    *,
    holder: str | None = None,
) -> Job:
    """Add (or replace) the daily purge on ``scheduler``; returns the job.

    ``holder`` names this process in the lease (default: host name and process id).
    """
    holder = holder or f"{socket.gethostname()}:{os.getpid()}"
    trigger = CronTrigger(
        hour=RUN_AT_HOUR, minute=RUN_AT_MINUTE, timezone=zone(config.log.timezone)
    )
    return scheduler.add_job(
        _run_job,
        trigger,
        args=(config, session_factory, holder),
        id=JOB_ID,
        name="delete old usage rows",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=6 * 3600,
    )
