"""The schema, the migrations and the data functions, on real SQLite (or PostgreSQL)."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.exc import StatementError

from bot.store.db import (
    SessionFactory,
    alembic_config,
    create_db_engine,
    current_revision,
    head_revision,
    session_factory,
    upgrade_database,
    write_transaction,
)
from bot.store.models import (
    Base,
    Message,
    MessageState,
    Outcome,
    Usage,
    UserPref,
    acquire_lease,
    claim_message,
    count_user_photos,
    get_pref,
    message_key,
    pending_deliveries,
    record_usage,
    release_lease,
    set_pref,
    stale_runs,
)
from ocr.engine import AUTO

pytestmark = pytest.mark.db

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_upgrade_creates_every_table_and_records_head(db_engine: Engine) -> None:
    tables = set(inspect(db_engine).get_table_names())
    assert {"access_token", "message", "user_pref", "usage", "lease"} <= tables
    assert current_revision(db_engine) == head_revision() is not None


def test_migrations_match_the_models(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrade_twice_is_a_no_op(db_engine: Engine) -> None:
    upgrade_database(db_engine)
    assert current_revision(db_engine) == head_revision()


def test_fresh_database_has_no_revision(database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_sqlite_connections_use_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path}/sub/dir/x.db", busy_timeout_ms=1234)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    finally:
        engine.dispose()


def test_times_come_back_as_aware_utc(sessions: SessionFactory) -> None:
    shanghai = datetime(2026, 11, 25, 16, 0, tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    with sessions.begin() as session:
        record_usage(session, openid="u1", outcome=Outcome.OK, now=shanghai)
    with sessions() as session:
        row = session.scalars(select(Usage)).one()
    assert row.created_at == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert row.created_at.tzinfo is UTC


def test_naive_datetimes_are_refused(sessions: SessionFactory) -> None:
    with sessions() as session:
        record_usage(session, openid="u1", outcome="ok", now=datetime(2026, 1, 1))
        with pytest.raises(StatementError, match="naive"):
            session.flush()


def test_message_key_uses_sender_and_msgid_else_sender_and_time() -> None:
    assert message_key("6123", "oUser", "1700000000") == "msg:oUser:6123"
    assert message_key("6123", "oOther", "1700000000") == "msg:oOther:6123"
    assert message_key(None, "oUser", "1700000000") == "event:oUser:1700000000"
    assert message_key("", "oUser", 1700000000) == "event:oUser:1700000000"


def test_claim_message_is_granted_once(sessions: SessionFactory) -> None:
    with sessions.begin() as session:
        first = claim_message(session, "msg:1", "oA", kind_asked="idcard", media_id="m1", now=T0)
    with sessions.begin() as session:
        again = claim_message(session, "msg:1", "oB", now=T0 + timedelta(seconds=5))
    assert first.claimed and not again.claimed
    assert again.message.id == first.message.id
    assert again.message.openid == "oA"  # the first claim's row, untouched
    assert again.message.state == MessageState.CLAIMED
    assert again.message.lease_until == T0 + timedelta(seconds=30)


def test_concurrent_claims_of_one_msgid_grant_exactly_one(sessions: SessionFactory) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def claim() -> None:
        barrier.wait()
        with sessions.begin() as session:
            results.append(claim_message(session, "msg:race", "oA").claimed)

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]


def test_pending_deliveries_and_stale_runs(sessions: SessionFactory) -> None:
    with sessions.begin() as session:
        for key in ("msg:ready", "msg:later", "msg:delivered", "msg:running"):
            claim_message(session, key, "oA", now=T0, lease_s=10)
        session.flush()
        rows = {m.msg_key: m for m in session.scalars(select(Message))}
        for key in ("msg:ready", "msg:later", "msg:delivered"):
            rows[key].state = MessageState.DONE
            rows[key].reply_text = "姓名：张*"
        rows["msg:later"].next_attempt_at = T0 + timedelta(minutes=5)
        rows["msg:delivered"].delivered_at = T0
        rows["msg:running"].state = MessageState.RUNNING
    with sessions() as session:
        due = pending_deliveries(session, now=T0 + timedelta(minutes=1))
        assert [m.msg_key for m in due] == ["msg:ready"]
        due_later = pending_deliveries(session, now=T0 + timedelta(minutes=6))
        assert {m.msg_key for m in due_later} == {"msg:ready", "msg:later"}
        assert stale_runs(session, now=T0 + timedelta(seconds=5)) == []
        stale = stale_runs(session, now=T0 + timedelta(seconds=11))
        assert [m.msg_key for m in stale] == ["msg:running"]


def test_preference_sticks_and_changes(sessions: SessionFactory) -> None:
    with sessions.begin() as session:
        assert get_pref(session, "oA") is None
        set_pref(session, "oA", "bankcard")
    with sessions.begin() as session:
        assert get_pref(session, "oA") == "bankcard"
        set_pref(session, "oA", "idcard")
    with sessions() as session:
        assert get_pref(session, "oA") == "idcard"
        assert get_pref(session, "oB") is None


def test_count_user_photos_skips_limited_and_commands(sessions: SessionFactory) -> None:
    with sessions.begin() as session:
        record_usage(session, openid="oA", outcome=Outcome.OK, now=T0)
        record_usage(session, openid="oA", outcome=Outcome.NO_CARD, now=T0)
        record_usage(session, openid="oA", outcome=Outcome.LIMITED, now=T0)
        record_usage(session, openid="oA", outcome=Outcome.COMMAND, now=T0)
        record_usage(session, openid="oA", outcome=Outcome.OK, now=T0 - timedelta(days=1))
        record_usage(session, openid="oB", outcome=Outcome.OK, now=T0)
    with sessions() as session:
        assert count_user_photos(session, "oA", T0 - timedelta(hours=1)) == 2


def test_lease_is_exclusive_until_released_or_expired(sessions: SessionFactory) -> None:
    with sessions.begin() as session:
        assert acquire_lease(session, "deliver", "w1", 60, now=T0)
    with sessions.begin() as session:
        assert not acquire_lease(session, "deliver", "w2", 60, now=T0 + timedelta(seconds=30))
        assert acquire_lease(session, "deliver", "w1", 60, now=T0 + timedelta(seconds=30))
    with sessions.begin() as session:
        assert acquire_lease(session, "deliver", "w2", 60, now=T0 + timedelta(seconds=91))
        release_lease(session, "deliver", "w2")
    with sessions.begin() as session:
        assert acquire_lease(session, "deliver", "w3", 60, now=T0 + timedelta(seconds=92))


def test_write_transaction_serialises_read_then_write(db_engine: Engine) -> None:
    """Two writers that each read a counter and write it +1 must not lose an update."""
    sessions = session_factory(db_engine)
    with sessions.begin() as session:
        set_pref(session, "counter", AUTO, now=T0)

    def bump() -> None:
        for _ in range(10):
            with write_transaction(sessions) as session:
                statement = text("SELECT updated_at FROM user_pref WHERE openid = 'counter'")
                if session.get_bind().dialect.name == "postgresql":
                    statement = text(statement.text + " FOR UPDATE")
                raw = session.execute(statement).scalar_one()
                seen = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
                seen = seen.replace(tzinfo=UTC)
                set_pref(session, "counter", AUTO, now=seen + timedelta(seconds=1))

    threads = [threading.Thread(target=bump) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with sessions() as session:
        pref = session.get(UserPref, "counter")
        assert pref is not None
        assert pref.updated_at == T0 + timedelta(seconds=30)


def test_plain_sqlalchemy_engine_sees_the_schema(database_url: str) -> None:
    """The migration works for an engine built without our connect events, too."""
    engine = create_engine(database_url)
    try:
        upgrade_database(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_cli_migrates_from_any_working_directory(tmp_path: Path) -> None:
    """The Alembic scripts come from the installed package, not from ./alembic.ini."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXOCR_")}
    env["WXOCR_DATABASE__URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    wxocr = str(Path(sys.executable).parent / "wxocr")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [wxocr, "db", *args],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    before = run("current")
    assert before.returncode == 1 and "needs `wxocr db upgrade`" in before.stdout
    upgraded = run("upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    after = run("current")
    assert after.returncode == 0 and f"current: {head_revision()}" in after.stdout
    assert list(elsewhere.iterdir()) == []  # nothing written where it ran


def test_an_upgrade_is_one_transaction(database_url: str) -> None:
    """The revisions to run are chosen when an upgrade starts, so its lock must span them all.

    Alembic commits after each revision on dialects it thinks lack transactional DDL (SQLite);
    a second `wxocr db upgrade` then got the lock between two revisions and applied the next
    one again ("duplicate column name", CI once in about 40 runs of the test below).
    """
    engine = create_db_engine(database_url)
    commits: list[object] = []
    event.listen(engine, "commit", commits.append)
    upgrade_database(engine)
    assert current_revision(engine) == head_revision()
    assert len(commits) == 1


def test_concurrent_upgrades_of_a_fresh_database_all_succeed(
    database_url: str, tmp_path: Path
) -> None:
    """Processes starting together may all run `wxocr db upgrade` (Alembic is one per process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXOCR_")}
    env["WXOCR_DATABASE__URL"] = database_url
    wxocr = str(Path(sys.executable).parent / "wxocr")
    processes = [
        subprocess.Popen(
            [wxocr, "db", "upgrade"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(process, *process.communicate(timeout=120)) for process in processes]
    for process, out, err in results:
        assert process.returncode == 0, err
        assert f"database at revision {head_revision()}" in out


def test_message_key_migration_adds_the_sender_and_goes_both_ways(database_url: str) -> None:
    """Issue 13: keys were ``msg:<MsgId>``, so two senders' photos shared one claim."""
    engine = create_db_engine(database_url)

    def keys() -> list[tuple[str, str]]:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT msg_key, openid FROM message ORDER BY id"))
            return [(row.msg_key, row.openid) for row in rows]

    def insert(msg_key: str, openid: str) -> None:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO message (msg_key, openid, state, created_at, updated_at,"
                    " delivery_attempts) VALUES (:key, :openid, 'done',"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0)"
                ),
                {"key": msg_key, "openid": openid},
            )

    try:
        upgrade_database(engine, "0002")
        insert("msg:1234567890123456", "o-a")
        insert("msg:77", "o-b")
        insert("event:o-a:1700000000", "o-a")
        upgrade_database(engine)
        assert keys() == [
            ("msg:o-a:1234567890123456", "o-a"),
            ("msg:o-b:77", "o-b"),
            ("event:o-a:1700000000", "o-a"),
        ]
        # Now a second sender may use the same MsgId; the old key holds only the first.
        insert(message_key("1234567890123456", "o-b", 0), "o-b")
        command.downgrade(alembic_config(engine), "0002")
        assert keys() == [
            ("msg:1234567890123456", "o-a"),
            ("msg:77", "o-b"),
            ("event:o-a:1700000000", "o-a"),
        ]
    finally:
        engine.dispose()


def test_postgresql_driver_comes_with_the_normal_install() -> None:
    """Issue 13: a postgresql+psycopg URL needed an extra nobody mentioned (ModuleNotFoundError)."""
    requirements = importlib.metadata.requires("wxocr") or []
    always = [r for r in requirements if r.startswith("psycopg") and "extra ==" not in r]
    assert always, requirements
    engine = create_db_engine("postgresql+psycopg://wxocr@127.0.0.1:1/wxocr")  # no connection
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()
