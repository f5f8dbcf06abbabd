"""Operator usage queries on a real database: filters, groups, time zones, CLI, purge, forget."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app
from bot.operators.usage import (
    GroupBy,
    UsageFilters,
    UsageGroup,
    UsageQueryError,
    build_filters,
    forget_user,
    parse_group_by,
    parse_time,
    purge_usage,
    query_usage,
    quota_today,
    top_users,
    usage_summary_text,
)
from bot.store.db import SessionFactory
from bot.store.models import (
    USAGE_WARNINGS_LENGTH,
    Message,
    Usage,
    UserPref,
    claim_message,
    join_warnings,
    record_usage,
    set_pref,
)

pytestmark = pytest.mark.db

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2026-11-25 10:00 in Shanghai.
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def add(sessions: SessionFactory, *rows: dict[str, Any]) -> None:
    with sessions() as session, session.begin():
        for row in rows:
            values = {"openid": "o-alice", "outcome": "ok", "kind_asked": "idcard"} | row
            record_usage(session, **values)


def groups(
    sessions: SessionFactory,
    filters: UsageFilters,
    group_by: tuple[GroupBy, ...],
    timezone_name: str = "Asia/Shanghai",
) -> list[UsageGroup]:
    with sessions() as session:
        return list(query_usage(session, filters, group_by, timezone_name=timezone_name))


# ---------------------------------------------------------------- times and parsing


def test_relative_times_count_back_from_now() -> None:
    assert parse_time("7d", SHANGHAI, now=NOW) == NOW - timedelta(days=7)
    assert parse_time("24h", SHANGHAI, now=NOW) == NOW - timedelta(hours=24)
    assert parse_time("30m", SHANGHAI, now=NOW) == NOW - timedelta(minutes=30)
    assert parse_time("2w", SHANGHAI, now=NOW) == NOW - timedelta(days=14)


def test_dates_are_days_in_the_operators_zone() -> None:
    # Midnight in Shanghai is 16:00 UTC the day before.
    assert parse_time("2026-11-20", SHANGHAI) == datetime(2026, 11, 19, 16, tzinfo=UTC)
    assert parse_time("2026-11-20", SHANGHAI, end=True) == datetime(2026, 11, 20, 16, tzinfo=UTC)
    assert parse_time("today", SHANGHAI, now=NOW) == datetime(2026, 11, 24, 16, tzinfo=UTC)
    assert parse_time("2026-11-20T08:30", SHANGHAI) == datetime(2026, 11, 20, 0, 30, tzinfo=UTC)
    assert parse_time("2026-11-20T08:30+00:00", SHANGHAI) == datetime(
        2026, 11, 20, 8, 30, tzinfo=UTC
    )


@pytest.mark.parametrize("text", ["last week", "7x", "2026-13-01", ""])
def test_unreadable_times_are_refused_with_a_hint(text: str) -> None:
    with pytest.raises(UsageQueryError, match="cannot read time"):
        parse_time(text, SHANGHAI)


def test_filter_words_are_checked() -> None:
    with pytest.raises(UsageQueryError, match="unknown kind"):
        build_filters(SHANGHAI, kind="nonsense")
    with pytest.raises(UsageQueryError, match="unknown outcome"):
        build_filters(SHANGHAI, outcome="fine")
    with pytest.raises(UsageQueryError, match="before"):
        build_filters(SHANGHAI, since="2026-11-20", until="2026-11-10")
    with pytest.raises(UsageQueryError, match="cannot group by"):
        parse_group_by(["day,week"])
    assert parse_group_by(["day,kind", "day", "user"]) == (GroupBy.DAY, GroupBy.KIND, GroupBy.USER)


# ---------------------------------------------------------------- grouped figures


def test_figures_per_day_and_kind_in_the_operators_zone(sessions: SessionFactory) -> None:
    late_utc = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # 2026-11-25 01:00 in Shanghai
    add(
        sessions,
        *[
            {"now": late_utc, "kind_detected": "idcard", "latency_ms": ms, "outcome": "ok"}
            for ms in range(100, 2001, 100)  # 20 photos: p50 = 10th = 1000, p95 = 19th = 1900
        ],
        {"now": late_utc, "kind_detected": "idcard", "latency_ms": 50, "outcome": "no_card"},
        {"now": late_utc - timedelta(hours=2), "kind_asked": "bankcard", "latency_ms": 700},
    )
    result = groups(sessions, UsageFilters(), (GroupBy.DAY, GroupBy.KIND))
    assert [(g.keys, g.count, g.ok) for g in result] == [
        ({"day": "2026-11-24", "kind": "bankcard"}, 1, 1),
        ({"day": "2026-11-25", "kind": "idcard"}, 21, 20),
    ]
    idcard = result[1]
    # 21 latencies 50, 100..2000: nearest rank 11 and 20.
    assert (idcard.p50_ms, idcard.p95_ms) == (1000.0, 1900.0)
    assert idcard.success_rate == pytest.approx(20 / 21)
    assert idcard.as_json() == {
        "day": "2026-11-25",
        "kind": "idcard",
        "count": 21,
        "ok": 20,
        "p50_ms": 1000.0,
        "p95_ms": 1900.0,
    }


def test_days_follow_daylight_saving_changes(sessions: SessionFactory) -> None:
    # Berlin leaves summer time on 2026-10-25 at 01:00 UTC (UTC+2 -> UTC+1).
    add(
        sessions,
        {"now": datetime(2026, 10, 24, 22, 30, tzinfo=UTC), "latency_ms": 1},  # 10-25 00:30 CEST
        {"now": datetime(2026, 10, 25, 22, 30, tzinfo=UTC), "latency_ms": 1},  # 10-25 23:30 CET
        {"now": datetime(2026, 10, 26, 23, 30, tzinfo=UTC), "latency_ms": 1},  # 10-27 00:30 CET
    )
    since = UsageFilters(since=datetime(2026, 10, 20, tzinfo=UTC))
    for filters in (since, UsageFilters()):
        result = groups(sessions, filters, (GroupBy.DAY,), timezone_name="Europe/Berlin")
        assert [(g.keys["day"], g.count) for g in result] == [("2026-10-25", 2), ("2026-10-27", 1)]


def test_hours_switch_at_the_exact_second_of_a_change(sessions: SessionFactory) -> None:
    # Berlin springs forward on 2026-03-29 at 01:00 UTC: 01:59:59 CET is followed by 03:00 CEST.
    change = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    add(
        sessions,
        {"now": change - timedelta(milliseconds=500), "latency_ms": 1},
        {"now": change, "latency_ms": 2},
    )
    since = UsageFilters(since=datetime(2026, 3, 1, tzinfo=UTC))
    result = groups(sessions, since, (GroupBy.HOUR,), timezone_name="Europe/Berlin")
    assert [(g.keys["hour"], g.p50_ms) for g in result] == [
        ("2026-03-29 01:00", 1.0),
        ("2026-03-29 03:00", 2.0),
    ]


def test_hours_and_other_groupings(sessions: SessionFactory) -> None:
    at = datetime(2026, 11, 25, 1, 15, tzinfo=UTC)  # 09:15 in Shanghai
    add(
        sessions,
        {"now": at, "openid": "o-bob", "engine": "wechat", "latency_ms": 300},
        {"now": at, "openid": "o-bob", "engine": "local", "outcome": "error", "latency_ms": 900},
        {"now": at + timedelta(hours=1), "engine": "local", "outcome": "bad_image"},
    )
    assert [(g.keys, g.count) for g in groups(sessions, UsageFilters(), (GroupBy.HOUR,))] == [
        ({"hour": "2026-11-25 09:00"}, 2),
        ({"hour": "2026-11-25 10:00"}, 1),
    ]
    by_user_engine = groups(sessions, UsageFilters(), (GroupBy.USER, GroupBy.ENGINE))
    assert [(g.keys, g.count, g.ok) for g in by_user_engine] == [
        ({"user": "o-alice", "engine": "local"}, 1, 0),
        ({"user": "o-bob", "engine": "local"}, 1, 0),
        ({"user": "o-bob", "engine": "wechat"}, 1, 1),
    ]
    by_outcome = groups(sessions, UsageFilters(), (GroupBy.OUTCOME,))
    assert {g.keys["outcome"]: g.count for g in by_outcome} == {
        "bad_image": 1,
        "error": 1,
        "ok": 1,
    }
    # A group without latencies has no percentiles rather than made-up ones.
    alice = next(g for g in by_user_engine if g.keys["user"] == "o-alice")
    assert (alice.p50_ms, alice.p95_ms) == (None, None)
    overall = groups(sessions, UsageFilters(), ())
    assert [(g.keys, g.count, g.ok, g.p50_ms, g.p95_ms) for g in overall] == [
        ({}, 3, 1, 300.0, 900.0)
    ]


def test_filters_narrow_the_rows(sessions: SessionFactory) -> None:
    base = datetime(2026, 11, 20, 4, tzinfo=UTC)
    add(
        sessions,
        {"now": base, "openid": "o-a", "kind_asked": "auto", "kind_detected": "bankcard"},
        {"now": base, "openid": "o-b", "kind_asked": "idcard", "engine": "wechat"},
        {"now": base + timedelta(days=2), "openid": "o-b", "outcome": "no_card"},
        {"now": base + timedelta(days=2), "openid": "o-b", "outcome": "command"},
    )

    def total(**words: str) -> int:
        filters = build_filters(SHANGHAI, **{"since": ""} | words)  # type: ignore[arg-type]
        return sum(g.count for g in groups(sessions, filters, ()))

    assert total() == 3  # text commands are not photos
    assert total(outcome="command") == 1
    assert total(user="o-b") == 2
    assert total(kind="bankcard") == 1  # the detected kind wins over "auto"
    assert total(kind="idcard") == 2
    assert total(engine="wechat") == 1
    assert total(outcome="no_card") == 1
    assert total(since="2026-11-21") == 1
    assert total(until="2026-11-20") == 2  # a bare --until date includes that day
    assert total(since="2026-11-21", until="2026-11-21") == 0


def test_top_users_quota_and_summary(sessions: SessionFactory) -> None:
    today = datetime(2026, 11, 25, 1, tzinfo=UTC)  # 09:00 Beijing
    yesterday = datetime(2026, 11, 24, 15, 59, tzinfo=UTC)  # 23:59 Beijing, the day before
    add(
        sessions,
        *[{"now": today, "openid": "o-heavy", "engine": "wechat", "latency_ms": 800}] * 3,
        {"now": today, "openid": "o-light", "engine": "local", "outcome": "no_card"},
        {"now": yesterday, "openid": "o-light", "engine": "wechat", "latency_ms": 900},
        {"now": today, "openid": "o-light", "outcome": "limited"},
    )
    with sessions() as session:
        top = top_users(session, UsageFilters(), limit=2)
        assert [(u.openid, u.count, u.ok) for u in top] == [("o-heavy", 3, 3), ("o-light", 3, 1)]
        assert top[1].last_seen == today

        quota = quota_today(session, 500, now=today + timedelta(hours=3))
        assert [(q.engine, q.calls, q.quota) for q in quota] == [
            ("local", 1, None),
            ("wechat", 3, 500),
        ]

        text = usage_summary_text(session, yesterday - timedelta(hours=1))
    assert "共 6 次，成功 4 次（67%）" in text
    assert "身份证 6" in text
    assert "未识别到证件 1" in text and "超出每日次数 1" in text
    assert "中位 0.8 秒" in text
    with sessions() as session:
        assert "暂无记录" in usage_summary_text(session, today + timedelta(days=1))


# ---------------------------------------------------------------- purge and forget


def test_purge_deletes_old_rows_in_batches(sessions: SessionFactory) -> None:
    cutoff = datetime(2026, 8, 1, tzinfo=UTC)
    add(sessions, *[{"now": cutoff - timedelta(days=d)} for d in range(1, 8)])
    add(sessions, {"now": cutoff}, {"now": cutoff + timedelta(days=1)})

    dry = purge_usage(sessions, cutoff, dry_run=True)
    assert (dry.rows, dry.dry_run) == (7, True)
    result = purge_usage(sessions, cutoff, batch_size=3)
    assert (result.rows, result.batches) == (7, 3)
    with sessions() as session:
        left = session.scalars(select(Usage.created_at).order_by(Usage.created_at)).all()
    assert left == [cutoff, cutoff + timedelta(days=1)]
    assert purge_usage(sessions, cutoff).rows == 0


def test_forget_removes_every_row_naming_the_user(sessions: SessionFactory) -> None:
    add(sessions, {"openid": "o-gone"}, {"openid": "o-gone"}, {"openid": "o-stays"})
    with sessions() as session, session.begin():
        set_pref(session, "o-gone", "bankcard")
        set_pref(session, "o-stays", "idcard")
        claim_message(session, "msg:1", "o-gone")
    with sessions() as session, session.begin():
        result = forget_user(session, "o-gone")
    assert result.rows_by_table["usage"] == 2
    assert result.rows_by_table["user_pref"] == 1
    assert result.rows_by_table["message"] == 1
    with sessions() as session:
        for model in (Usage, UserPref, Message):
            remaining = session.scalar(
                select(func.count()).select_from(model).where(model.openid == "o-gone")
            )
            assert remaining == 0, model.__tablename__
        assert session.scalar(select(func.count()).select_from(Usage)) == 1
        assert session.get(UserPref, "o-stays") is not None


# ---------------------------------------------------------------- the CLI


@pytest.fixture
def cli(
    database_url: str, sessions: SessionFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("WXOCR_") and k != "WXOCR_TEST_DATABASE_URL"]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("WXOCR_DATABASE__URL", database_url)
    return CliRunner()


def test_cli_json_and_csv_follow_the_contract(cli: CliRunner, sessions: SessionFactory) -> None:
    now = datetime.now(UTC)
    add(
        sessions,
        {"now": now - timedelta(hours=1), "kind_detected": "idcard", "latency_ms": 400},
        {"now": now - timedelta(hours=1), "kind_asked": "bankcard", "outcome": "error"},
        {"now": now - timedelta(days=30), "kind_asked": "bankcard"},
    )
    result = cli.invoke(app, ["usage", "--json", "--group-by", "kind"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"kind": "bankcard", "count": 1, "ok": 0, "p50_ms": None, "p95_ms": None},
        {"kind": "idcard", "count": 1, "ok": 1, "p50_ms": 400.0, "p95_ms": 400.0},
    ]
    result = cli.invoke(app, ["usage", "--csv", "--since", "60d", "-g", "kind,outcome"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "kind,outcome,count,ok,p50_ms,p95_ms",
        "bankcard,error,1,0,,",
        "bankcard,ok,1,1,,",
        "idcard,ok,1,1,400.0,400.0",
    ]
    result = cli.invoke(app, ["usage", "--json", "--since", "2d", "--kind", "idcard"])
    assert [row["kind"] for row in json.loads(result.stdout)] == ["idcard"]
    assert set(json.loads(result.stdout)[0]) == {"day", "kind", "count", "ok", "p50_ms", "p95_ms"}


def test_cli_table_top_quota_purge_forget(cli: CliRunner, sessions: SessionFactory) -> None:
    now = datetime.now(UTC)
    add(
        sessions,
        {"now": now - timedelta(minutes=5), "openid": "o-table", "engine": "wechat"},
        {"now": now - timedelta(days=100), "openid": "o-old"},
    )
    table = cli.invoke(app, ["usage"])
    assert table.exit_code == 0, table.output
    assert "day" in table.stdout and "idcard" in table.stdout and "100.0%" in table.stdout

    top = cli.invoke(app, ["usage", "top", "--since", "", "--json"])
    assert [row["user"] for row in json.loads(top.stdout)] == ["o-old", "o-table"]

    quota = cli.invoke(app, ["usage", "quota", "--json"])
    wechat = next(q for q in json.loads(quota.stdout) if q["engine"] == "wechat")
    assert wechat["quota"] == 500 and wechat["calls"] <= 1  # 0 if it is just past midnight

    dry = cli.invoke(app, ["usage", "purge", "--older-than", "90d", "--dry-run"])
    assert dry.exit_code == 0 and "would delete 1 usage rows" in dry.stdout
    done = cli.invoke(app, ["usage", "purge", "--older-than", "90d"])
    assert "deleted 1 usage rows" in done.stdout

    refused = cli.invoke(app, ["usage", "forget", "o-table"], input="n\n")
    assert refused.exit_code != 0
    forgotten = cli.invoke(app, ["usage", "forget", "o-table", "--yes"])
    assert forgotten.exit_code == 0 and "removed 1 rows" in forgotten.stdout
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Usage)) == 0


def test_cli_bad_input_is_a_clear_error(cli: CliRunner) -> None:
    for args, message in [
        (["usage", "--since", "yesterdayish"], "cannot read time"),
        (["usage", "--group-by", "week"], "cannot group by"),
        (["usage", "--outcome", "great"], "unknown outcome"),
        (["usage", "purge", "--older-than", "soon"], "cannot read time"),
    ]:
        result = cli.invoke(app, args)
        assert result.exit_code == 2, args
        assert message in result.output
        assert "Traceback" not in result.output


def test_sqlite_before_unixepoch_gives_the_same_buckets(
    sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(
        sessions,
        *[
            {"now": datetime(2026, 11, 24, 15, 59, 59, tzinfo=UTC) + timedelta(seconds=s)}
            for s in (0, 1)
        ],
    )
    current = groups(sessions, UsageFilters(), (GroupBy.DAY, GroupBy.HOUR))
    assert [g.keys for g in current] == [
        {"day": "2026-11-24", "hour": "2026-11-24 23:00"},
        {"day": "2026-11-25", "hour": "2026-11-25 00:00"},
    ]
    # unixepoch() arrived in SQLite 3.38; older ones get strftime('%s').
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    assert groups(sessions, UsageFilters(), (GroupBy.DAY, GroupBy.HOUR)) == current


def test_warning_codes_are_recorded_and_counted(cli: CliRunner, sessions: SessionFactory) -> None:
    # Issue 16: usage counts the warnings photos got (codes only, no card data).
    now = datetime.now(UTC) - timedelta(hours=1)
    add(
        sessions,
        {"now": now, "kind_detected": "idcard", "warnings": ["blur", "field_missing:addr"]},
        {"now": now, "kind_detected": "idcard", "warnings": ["blur", "blur"]},
        {"now": now, "kind_detected": "bankcard", "warnings": ["glare"]},
        {"now": now, "kind_detected": "bankcard"},
    )
    with sessions() as session:
        stored = sorted(str(row) for row in session.scalars(select(Usage.warnings)))
    assert stored == ["None", "blur", "blur,field_missing:addr", "glare"]
    result = cli.invoke(app, ["usage", "warnings", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"warning": "blur", "count": 2, "photos": 4},
        {"warning": "field_missing:addr", "count": 1, "photos": 4},
        {"warning": "glare", "count": 1, "photos": 4},
    ]
    result = cli.invoke(app, ["usage", "warnings", "--kind", "bankcard"])
    assert result.exit_code == 0, result.output
    assert "glare" in result.stdout and "blur" not in result.stdout


def test_warnings_that_would_not_fit_are_dropped_whole() -> None:
    codes = [f"field_missing:{'x' * 40}{i}" for i in range(20)]
    joined = join_warnings(["blur", *codes])
    assert joined is not None and len(joined) <= USAGE_WARNINGS_LENGTH
    assert all(code in ["blur", *codes] for code in joined.split(","))
    assert join_warnings([]) is None
