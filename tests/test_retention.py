"""Usage retention: the daily APScheduler job deletes rows older than retention.usage_days."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from bot.config import Config, RetentionConfig
from bot.operators.retention import JOB_ID, purge_expired_usage, register_retention_job
from bot.store.db import SessionFactory, create_db_engine, session_factory
from bot.store.models import Usage, acquire_lease, record_usage

pytestmark = pytest.mark.db

CONFIG = Config(retention=RetentionConfig(usage_days=30))


def add_rows(sessions: SessionFactory, *ages_days: float, now: datetime) -> None:
    with sessions() as session, session.begin():
        for age in ages_days:
            record_usage(session, openid="o-1", outcome="ok", now=now - timedelta(days=age))


def remaining_ages(sessions: SessionFactory, now: datetime) -> list[int]:
    with sessions() as session:
        return [
            (now - t).days
            for t in session.scalars(select(Usage.created_at).order_by(Usage.created_at))
        ]


def test_purge_keeps_exactly_the_configured_days(sessions: SessionFactory) -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    add_rows(sessions, 400, 31, 30.01, 29.99, 1, now=now)
    result = purge_expired_usage(CONFIG, sessions, now=now)
    assert result.rows == 3
    assert remaining_ages(sessions, now) == [29, 1]


def test_the_job_is_daily_in_the_operators_zone_and_registered_once(
    sessions: SessionFactory,
) -> None:
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.start(paused=True)
    try:
        register_retention_job(scheduler, CONFIG, sessions)
        job = register_retention_job(scheduler, CONFIG, sessions)
        assert [j.id for j in scheduler.get_jobs()] == [JOB_ID]
        first = job.next_run_time.astimezone(ZoneInfo("Asia/Shanghai"))
        assert (first.hour, first.minute) == (4, 17)
        second = job.trigger.get_next_fire_time(first, first + timedelta(seconds=1))
        assert second - first == timedelta(days=1)
    finally:
        scheduler.shutdown(wait=False)


def test_the_scheduler_runs_the_purge(sessions: SessionFactory) -> None:
    now = datetime.now(UTC)
    add_rows(sessions, 90, 45, 2, now=now)
    finished = threading.Event()
    events: list[JobExecutionEvent] = []

    def on_event(event: JobExecutionEvent) -> None:
        events.append(event)
        finished.set()

    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start(paused=True)
    try:
        job = register_retention_job(scheduler, CONFIG, sessions)
        job.modify(next_run_time=datetime.now(UTC))
        scheduler.resume()
        assert finished.wait(30), "the retention job did not run"
    finally:
        scheduler.shutdown(wait=True)
    assert [e.exception for e in events] == [None]
    assert remaining_ages(sessions, now) == [2]


def test_a_failing_run_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A database that was never migrated: the usage table is missing.
    engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.start(paused=True)
        job = register_retention_job(scheduler, CONFIG, session_factory(engine))
        scheduler.shutdown(wait=False)
        with caplog.at_level(logging.ERROR, logger="bot.operators.retention"):
            job.func(*job.args)
    finally:
        engine.dispose()
    assert "usage retention failed" in caplog.text


def test_only_one_process_purges_per_day(sessions: SessionFactory) -> None:
    now = datetime.now(UTC)
    add_rows(sessions, 60, now=now)
    with sessions() as session, session.begin():
        assert acquire_lease(session, JOB_ID, "other-host:1", 3600)
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.start(paused=True)
    try:
        job = register_retention_job(scheduler, CONFIG, sessions, holder="this-host:2")
    finally:
        scheduler.shutdown(wait=False)
    job.func(*job.args)
    assert remaining_ages(sessions, now) == [60]  # the other process has today's run

    with sessions() as session, session.begin():
        # The other process's lease runs out (e.g. it was yesterday's).
        assert acquire_lease(session, JOB_ID, "other-host:1", -1)
    job.func(*job.args)
    assert remaining_ages(sessions, now) == []
