"""Operator queries over the ``usage`` table: filters, grouped figures, top users, quota, purge.

Rows are stored in UTC; day and hour buckets are cut in the operator's time zone
(``log.timezone``) inside the SQL, so a grouped query never loads the rows into Python.
Latency percentiles are nearest-rank (the value at rank ``ceil(p * n)``): PostgreSQL
computes them with ``percentile_disc``; SQLite, which has no percentile aggregate, hands
over each group's latencies as one ``group_concat`` text, sorted in numpy: memory holds
the latencies of the groups in one fetched batch, never the rows of the whole range.
"""

from __future__ import annotations

import math
import re
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    ColumnElement,
    Delete,
    Integer,
    MetaData,
    Select,
    Table,
    case,
    delete,
    func,
    literal_column,
    select,
)
from sqlalchemy import (
    cast as sa_cast,
)
from sqlalchemy.orm import Session

from bot.store.db import SessionFactory
from bot.store.models import Outcome, Usage
from ocr.engine import AUTO
from ocr.kinds import KINDS, kind_names

OK = Outcome.OK.value
# Text commands also write usage rows; the figures are about photos unless asked for them.
COMMAND = Outcome.COMMAND.value
# Outcomes that are not failures of the service: a user hitting the daily limit.
NOT_ERRORS = (OK, Outcome.LIMITED.value, COMMAND)
# WeChat counts its API quotas per Beijing day, whatever zone the operators read in.
WECHAT_QUOTA_TIMEZONE = "Asia/Shanghai"
QUOTA_ENGINE = "wechat"

KIND_LABELS = {**{kind.name: kind.title for kind in KINDS}, AUTO: "自动"}
OUTCOME_LABELS = {
    Outcome.OK.value: "成功",
    Outcome.NO_CARD.value: "未识别到证件",
    Outcome.BAD_IMAGE.value: "图片无效",
    Outcome.ERROR.value: "出错",
    Outcome.LIMITED.value: "超出每日次数",
    Outcome.COMMAND.value: "文字命令",
}


class UsageQueryError(ValueError):
    """A filter, time or grouping the operator gave cannot be used; the message says why."""


class GroupBy(StrEnum):
    DAY = "day"
    HOUR = "hour"
    KIND = "kind"
    USER = "user"
    OUTCOME = "outcome"
    ENGINE = "engine"
    DELIVERY = "delivery"  # passive, custom, failed; "" while a reply waits to be sent


DEFAULT_GROUP_BY = (GroupBy.DAY, GroupBy.KIND)
DEFAULT_SINCE = "7d"


@dataclass(frozen=True)
class UsageFilters:
    """Which rows to count. Times are aware UTC; ``until`` is exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    openid: str | None = None
    kind: str | None = None
    outcome: str | None = None
    engine: str | None = None


@dataclass(frozen=True)
class UsageGroup:
    """The figures of one group: ``keys`` maps each group-by name to its value."""

    keys: dict[str, str]
    count: int
    ok: int
    p50_ms: float | None
    p95_ms: float | None

    @property
    def success_rate(self) -> float:
        return self.ok / self.count if self.count else 0.0

    def as_json(self) -> dict[str, Any]:
        """The ``wxocr usage --json`` shape from ARCHITECTURE.md."""
        return {
            **self.keys,
            "count": self.count,
            "ok": self.ok,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
        }


@dataclass(frozen=True)
class UserTotal:
    openid: str
    count: int
    ok: int
    last_seen: datetime  # aware UTC


@dataclass(frozen=True)
class QuotaLine:
    engine: str
    calls: int
    quota: int | None  # None: the engine has no daily quota (the local engine)


@dataclass(frozen=True)
class ErrorRow:
    created_at: datetime  # aware UTC
    openid: str
    kind: str
    engine: str
    outcome: str
    error_code: str  # ours (ocr/errors.py codes), "" when none
    errcode: int | None  # WeChat's, when the WeChat API was involved
    latency_ms: float | None


@dataclass(frozen=True)
class PurgeResult:
    rows: int
    batches: int
    dry_run: bool


@dataclass
class ForgetResult:
    rows_by_table: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows_by_table.values())


# ---------------------------------------------------------------- times and zones


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageQueryError(f"unknown time zone {name!r} (log.timezone)") from exc


_RELATIVE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_time(
    text: str, tz: ZoneInfo, *, now: datetime | None = None, end: bool = False
) -> datetime:
    """``7d``/``24h``/``30m``/``2w`` ago, ``today``, a date or a date-time in ``tz``; -> aware UTC.

    With ``end`` a bare date means the end of that day, so ``--until 2026-11-20`` includes it.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    value = text.strip().lower()
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return now - timedelta(seconds=amount * _UNIT_SECONDS[unit])
    if value in ("today", "yesterday"):
        day = now.astimezone(tz).date() - timedelta(days=1 if value == "yesterday" else 0)
        return local_midnight(day + timedelta(days=1 if end else 0), tz)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        return local_midnight(day + timedelta(days=1 if end else 0), tz)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise UsageQueryError(
            f"cannot read time {text!r}: use 7d, 24h, 30m, 2w, today, YYYY-MM-DD "
            "or YYYY-MM-DDTHH:MM"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    """Database drivers hand back naive UTC (SQLite) or aware (PostgreSQL) datetimes."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def build_filters(
    tz: ZoneInfo,
    *,
    since: str | None = DEFAULT_SINCE,
    until: str | None = None,
    user: str | None = None,
    kind: str | None = None,
    outcome: str | None = None,
    engine: str | None = None,
    now: datetime | None = None,
) -> UsageFilters:
    """Filters from the operator's words (CLI options, admin query string)."""
    start = parse_time(since, tz, now=now) if since else None
    stop = parse_time(until, tz, now=now, end=True) if until else None
    if start and stop and start >= stop:
        raise UsageQueryError("--since must be before --until")
    if kind and kind not in KIND_LABELS:
        raise UsageQueryError(f"unknown kind {kind!r}: use {'|'.join(KIND_LABELS)}")
    if outcome and outcome not in OUTCOME_LABELS:
        raise UsageQueryError(f"unknown outcome {outcome!r}: use {'|'.join(OUTCOME_LABELS)}")
    return UsageFilters(
        since=start,
        until=stop,
        openid=user or None,
        kind=kind or None,
        outcome=outcome or None,
        engine=engine or None,
    )


def parse_group_by(values: Sequence[str]) -> tuple[GroupBy, ...]:
    """``["day,kind"]`` or ``["day", "kind"]`` -> groupings, in order, without repeats."""
    names = [part.strip().lower() for value in values for part in value.split(",") if part.strip()]
    groups: list[GroupBy] = []
    for name in names:
        try:
            group = GroupBy(name)
        except ValueError as exc:
            choices = "|".join(g.value for g in GroupBy)
            raise UsageQueryError(f"cannot group by {name!r}: use {choices}") from exc
        if group not in groups:
            groups.append(group)
    return tuple(groups)


# ---------------------------------------------------------------- SQL building blocks


def kind_column() -> ColumnElement[str]:
    """What the photo was: the detected kind, else what the user asked for."""
    return func.coalesce(Usage.kind_detected, Usage.kind_asked, "")


def _where(filters: UsageFilters, *, table_scan: bool = False) -> list[ColumnElement[bool]]:
    """The filters as SQL conditions; ``table_scan`` hides the time range from the planner."""
    created_at: ColumnElement[datetime] = Usage.created_at.expression
    if table_scan:
        # SQLite's "+column" idiom: same value, but no index on created_at is used for it.
        created_at = literal_column(
            f"+{Usage.__tablename__}.created_at", type_=Usage.created_at.type
        )
    conditions: list[ColumnElement[bool]] = []
    if filters.since is not None:
        conditions.append(created_at >= filters.since)
    if filters.until is not None:
        conditions.append(created_at < filters.until)
    if filters.openid is not None:
        conditions.append(Usage.openid == filters.openid)
    if filters.kind is not None:
        conditions.append(kind_column() == filters.kind)
    if filters.outcome is not None:
        conditions.append(Usage.outcome == filters.outcome)
    else:
        conditions.append(Usage.outcome != COMMAND)
    if filters.engine is not None:
        conditions.append(Usage.engine == filters.engine)
    return conditions


def _offset_segments(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(UTC instant from which it applies, UTC offset in seconds) over [start, end].

    Zones change offset at most a few times a year, so a daily walk finds each change
    and a bisection pins it to the second.
    """

    def offset(moment: datetime) -> int:
        delta = moment.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    segments = [(start, offset(start))]
    step = timedelta(days=1)
    cursor = start
    while cursor < end:
        following = min(cursor + step, end)
        if offset(following) != segments[-1][1]:
            low, high = cursor, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if offset(middle) == segments[-1][1]:
                    low = middle
                else:
                    high = middle
            # Zones change on whole seconds: the change lies in (low, high], under 1 s long.
            change = high.replace(microsecond=0)
            segments.append((change, offset(change)))
        cursor = following
    return segments


def _sqlite_local_seconds(segments: list[tuple[datetime, int]]) -> ColumnElement[int]:
    """Seconds since 1970-01-01 00:00 *local time* of ``created_at``, as an integer.

    Integer arithmetic is a third cheaper per row than strftime() text formatting, and
    integer keys sort faster; the labels are made in Python, once per group.
    """
    if sqlite3.sqlite_version_info >= (3, 38):
        epoch: ColumnElement[int] = func.unixepoch(Usage.created_at)
    else:
        epoch = sa_cast(func.strftime("%s", Usage.created_at), Integer)
    if len(segments) == 1:
        return epoch + _integer(segments[0][1])
    whens = [
        (Usage.created_at < boundary, _integer(previous[1]))
        for previous, (boundary, _) in pairwise(segments)
    ]
    return epoch + case(*whens, else_=_integer(segments[-1][1]))


def _integer(value: int) -> ColumnElement[int]:
    # Inlined, not bound: SQLite then sees the GROUP BY and SELECT expressions as one
    # and computes the bucket once per row.
    return literal_column(str(int(value)), type_=Integer)


_EPOCH = datetime(1970, 1, 1)
_BUCKET_SECONDS = {GroupBy.DAY: 86400, GroupBy.HOUR: 3600}


def _bucket_label(group: GroupBy, value: Any) -> str:
    """The label of a time bucket: SQLite gives its number, PostgreSQL the text itself."""
    if isinstance(value, str):
        return value
    start = _EPOCH + timedelta(seconds=int(value) * _BUCKET_SECONDS[group])
    return f"{start:%Y-%m-%d}" if group is GroupBy.DAY else f"{start:%Y-%m-%d %H:00}"


def _time_bucket(
    session: Session, group: GroupBy, tz: ZoneInfo, filters: UsageFilters
) -> ColumnElement[Any]:
    """The local day or hour of ``created_at``: text on PostgreSQL, a number on SQLite."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pattern = "YYYY-MM-DD" if group is GroupBy.DAY else "YYYY-MM-DD HH24:00"
        moment: ColumnElement[Any] = Usage.created_at.expression
        if not getattr(Usage.__table__.c.created_at.type, "timezone", False):
            moment = func.timezone("UTC", moment)
        return func.to_char(func.timezone(tz.key, moment), pattern)
    start = filters.since
    if start is None:
        earliest = session.scalar(select(func.min(Usage.created_at)).where(*_where(filters)))
        start = as_utc(earliest) if earliest is not None else datetime.now(UTC)
    end = filters.until or datetime.now(UTC)
    local_seconds = _sqlite_local_seconds(_offset_segments(tz, start, max(start, end)))
    return local_seconds // _integer(_BUCKET_SECONDS[group])


def _prefer_table_scan(session: Session, filters: UsageFilters) -> bool:
    """On SQLite, whether a time range covers so much of the table that a scan beats the index.

    SQLite has no statistics on how many rows a time range holds and always takes the
    created_at index, which then reads the rows in random order; over most of a large
    table that is several times slower than reading it straight through. Two index-only
    counts answer the question cheaply. PostgreSQL's planner has statistics for this.
    """
    if session.get_bind().dialect.name != "sqlite" or filters.openid is not None:
        return False
    if filters.since is None and filters.until is None:
        return False
    time_range = UsageFilters(since=filters.since, until=filters.until)
    in_range = session.scalar(select(func.count()).select_from(Usage).where(*_where(time_range)))
    total = session.scalar(select(func.count()).select_from(Usage))
    return bool(total) and (in_range or 0) * 4 > (total or 0)


def _key_label(group: GroupBy, value: Any) -> str:
    if value is None:
        return ""
    if group in _BUCKET_SECONDS:
        return _bucket_label(group, value)
    return str(value)


def _group_column(
    session: Session, group: GroupBy, tz: ZoneInfo, filters: UsageFilters
) -> ColumnElement[Any]:
    if group in (GroupBy.DAY, GroupBy.HOUR):
        return _time_bucket(session, group, tz, filters)
    columns: dict[GroupBy, ColumnElement[Any]] = {
        GroupBy.KIND: kind_column(),
        # coalesce() also keeps SQLite from walking an index in key order to skip a sort,
        # which fetches every row from the table in random order: far slower than a scan.
        GroupBy.USER: func.coalesce(Usage.openid, ""),
        GroupBy.OUTCOME: func.coalesce(Usage.outcome, ""),
        GroupBy.ENGINE: func.coalesce(Usage.engine, ""),
        GroupBy.DELIVERY: func.coalesce(Usage.delivery, ""),
    }
    return columns[group]


def nearest_rank(ordered: Sequence[float] | npt.NDArray[np.float64], pct: float) -> float:
    """The value at rank ceil(pct/100 * n) of sorted values (what percentile_disc returns)."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


def _percentile_columns(session: Session) -> list[ColumnElement[Any]]:
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no percentile aggregate: it hands over each group's latencies as one
        # text, which numpy parses and sorts (faster than a Python aggregate per row).
        return [func.group_concat(Usage.latency_ms)]
    return [
        func.percentile_disc(0.5).within_group(Usage.latency_ms),
        func.percentile_disc(0.95).within_group(Usage.latency_ms),
    ]


def _read_percentiles(values: Sequence[Any]) -> tuple[float | None, float | None]:
    if len(values) == 1:  # SQLite: "120,95,3010,..." or None when the group has no latency
        if not values[0]:
            return None, None
        ordered = np.sort(np.fromstring(str(values[0]), dtype=np.float64, sep=","))
        return nearest_rank(ordered, 50), nearest_rank(ordered, 95)
    return (
        float(values[0]) if values[0] is not None else None,
        float(values[1]) if values[1] is not None else None,
    )


# ---------------------------------------------------------------- queries


def query_usage(
    session: Session,
    filters: UsageFilters,
    group_by: Sequence[GroupBy] = DEFAULT_GROUP_BY,
    *,
    timezone_name: str = "Asia/Shanghai",
    latency: bool = True,
) -> Iterator[UsageGroup]:
    """Count, successes and p50/p95 latency per group, ordered by the group keys.

    Groups arrive one by one from a streaming cursor: any range is answered without
    holding its rows (or all its groups) in memory.
    """
    tz = zone(timezone_name)
    keys = [_group_column(session, group, tz, filters).label(group.value) for group in group_by]
    figures: list[ColumnElement[Any]] = [
        func.count().label("count"),
        func.coalesce(func.sum(case((Usage.outcome == OK, 1), else_=0)), 0).label("ok"),
    ]
    if latency:
        figures += _percentile_columns(session)
    table_scan = _prefer_table_scan(session, filters)
    statement: Select[Any] = select(*keys, *figures).where(*_where(filters, table_scan=table_scan))
    if keys:
        statement = statement.group_by(*keys).order_by(*keys)
    result = session.execute(statement.execution_options(yield_per=500))
    for row in result:
        count = int(row[len(keys)])
        if not count:
            continue  # an aggregate without GROUP BY answers one row even with no data
        p50, p95 = _read_percentiles(row[len(keys) + 2 :]) if latency else (None, None)
        yield UsageGroup(
            keys={
                group.value: _key_label(group, value)
                for group, value in zip(group_by, row, strict=False)
            },
            count=count,
            ok=int(row[len(keys) + 1]),
            p50_ms=p50,
            p95_ms=p95,
        )


def top_users(session: Session, filters: UsageFilters, limit: int = 10) -> list[UserTotal]:
    """The heaviest users in the range, most requests first."""
    count = func.count().label("count")
    statement = (
        select(
            Usage.openid,
            count,
            func.coalesce(func.sum(case((Usage.outcome == OK, 1), else_=0)), 0),
            func.max(Usage.created_at),
        )
        .where(*_where(filters))
        .group_by(Usage.openid)
        .order_by(count.desc(), Usage.openid)
        .limit(limit)
    )
    return [
        UserTotal(openid=openid, count=int(n), ok=int(ok), last_seen=as_utc(last))
        for openid, n, ok, last in session.execute(statement)
    ]


@dataclass(frozen=True)
class WarningCount:
    code: str
    count: int  # photos whose result carried the code
    photos: int  # photos read in the range (with or without warnings)


def warning_counts(session: Session, filters: UsageFilters) -> list[WarningCount]:
    """How many photos got each warning code in the range, most frequent first.

    Rows with warnings are a small share and carry a few short codes each; they are read
    in batches and counted here, since a comma-joined list has no portable SQL split.
    """
    photos = session.scalar(select(func.count()).where(*_where(filters), Usage.outcome == OK))
    counts: dict[str, int] = {}
    statement = (
        select(Usage.warnings)
        .where(*_where(filters), Usage.warnings.is_not(None))
        .execution_options(yield_per=1000)
    )
    for (joined,) in session.execute(statement):
        for code in str(joined).split(","):
            counts[code] = counts.get(code, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [WarningCount(code, n, int(photos or 0)) for code, n in ordered]


def quota_today(
    session: Session, daily_quota: int, *, now: datetime | None = None
) -> list[QuotaLine]:
    """Requests per engine since midnight Beijing time, beside WeChat's daily OCR quota."""
    now = now or datetime.now(UTC)
    tz = zone(WECHAT_QUOTA_TIMEZONE)
    since = local_midnight(now.astimezone(tz).date(), tz)
    statement = (
        select(Usage.engine, func.count())
        .where(Usage.created_at >= since, Usage.engine.is_not(None), Usage.engine != "")
        .group_by(Usage.engine)
    )
    calls = {str(engine): int(n) for engine, n in session.execute(statement)}
    calls.setdefault(QUOTA_ENGINE, 0)
    return [
        QuotaLine(
            engine=name, calls=calls[name], quota=daily_quota if name == QUOTA_ENGINE else None
        )
        for name in sorted(calls)
    ]


def latest_errors(session: Session, filters: UsageFilters, limit: int = 20) -> list[ErrorRow]:
    statement = (
        select(
            Usage.created_at,
            Usage.openid,
            kind_column(),
            Usage.engine,
            Usage.outcome,
            Usage.error_code,
            Usage.errcode,
            Usage.latency_ms,
        )
        .where(*_where(filters), Usage.outcome.not_in(NOT_ERRORS))
        .order_by(Usage.created_at.desc(), Usage.id.desc())
        .limit(limit)
    )
    rows = session.execute(statement)
    return [
        ErrorRow(
            created_at=as_utc(created_at),
            openid=openid,
            kind=kind or "",
            engine=engine or "",
            outcome=outcome,
            error_code=error_code or "",
            errcode=errcode,
            latency_ms=float(latency) if latency is not None else None,
        )
        for created_at, openid, kind, engine, outcome, error_code, errcode, latency in rows
    ]


# ---------------------------------------------------------------- retention and forgetting


def purge_usage(
    session_factory: SessionFactory,
    older_than: datetime,
    *,
    batch_size: int = 5000,
    dry_run: bool = False,
) -> PurgeResult:
    """Delete usage rows created before ``older_than``, one committed batch at a time.

    Small batches keep each write transaction short, so the bot keeps logging usage
    (SQLite has one writer) while a large backlog is deleted.
    """
    if batch_size < 1:
        raise UsageQueryError("batch size must be at least 1")
    old = Usage.created_at < older_than
    if dry_run:
        with session_factory() as session:
            rows = session.scalar(select(func.count()).select_from(Usage).where(old)) or 0
        return PurgeResult(rows=int(rows), batches=0, dry_run=True)
    total = batches = 0
    while True:
        batch = select(Usage.id).where(old).order_by(Usage.id).limit(batch_size)
        with session_factory() as session, session.begin():
            deleted = _rowcount(session, delete(Usage).where(Usage.id.in_(batch.scalar_subquery())))
        if deleted == 0:
            break
        total += deleted
        batches += 1
        if deleted < batch_size:
            break
    return PurgeResult(rows=total, batches=batches, dry_run=False)


def forget_user(session: Session, openid: str) -> ForgetResult:
    """Remove every row that names ``openid``: usage, preferences and anything else keyed by it.

    Every table with an ``openid`` column is included, so a table added later is not
    silently left holding the user's identifier. The caller commits.
    """
    if not openid.strip():
        raise UsageQueryError("an openid is required")
    result = ForgetResult()
    for table in _tables_with_openid(Usage.metadata):
        deleted = _rowcount(session, delete(table).where(table.c.openid == openid))
        result.rows_by_table[table.name] = deleted
    return result


def _tables_with_openid(metadata: MetaData) -> list[Any]:
    # Children first, so foreign keys never block a delete.
    return [table for table in reversed(metadata.sorted_tables) if "openid" in table.c]


def _rowcount(session: Session, statement: Delete) -> int:
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------- chat summary


def usage_summary_text(
    session: Session,
    since: datetime,
    *,
    timezone_name: str = "Asia/Shanghai",
    until: datetime | None = None,
) -> str:
    """A short Chinese summary for operators asking 用量/usage in chat (codes and counts only)."""
    tz = zone(timezone_name)
    filters = UsageFilters(since=as_utc(since), until=as_utc(until) if until else None)
    start = filters.since.astimezone(tz) if filters.since else None
    period = f"自 {start:%m-%d %H:%M} 起" if start else "全部"
    overall = next(query_usage(session, filters, (), timezone_name=tz.key), None)
    if overall is None:
        return f"用量（{period}）：暂无记录。"
    lines = [
        f"用量（{period}）：共 {overall.count} 次，成功 {overall.ok} 次"
        f"（{overall.success_rate:.0%}）。"
    ]
    kinds = list(
        query_usage(session, filters, (GroupBy.KIND,), timezone_name=tz.key, latency=False)
    )
    lines.append(
        "，".join(
            f"{KIND_LABELS.get(g.keys['kind'], g.keys['kind'] or '未知')} {g.count}" for g in kinds
        )
        + "。"
    )
    failures = [
        g
        for g in query_usage(
            session, filters, (GroupBy.OUTCOME,), timezone_name=tz.key, latency=False
        )
        if g.keys["outcome"] != OK
    ]
    if failures:
        lines.append(
            "未成功："
            + "，".join(
                f"{OUTCOME_LABELS.get(g.keys['outcome'], g.keys['outcome'])} {g.count}"
                for g in failures
            )
            + "。"
        )
    if overall.p50_ms is not None and overall.p95_ms is not None:
        lines.append(
            f"耗时：中位 {overall.p50_ms / 1000:.1f} 秒，P95 {overall.p95_ms / 1000:.1f} 秒。"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- benchmark


def bench_usage_query(
    rows: int = 1_000_000, *, days: int = 180, users: int = 5000
) -> dict[str, float]:
    """Seconds for the grouped queries over ``rows`` synthetic usage rows in a fresh SQLite file.

    The schema comes from the real migrations (indexes included). Returns wall and CPU
    seconds by query name, plus ``insert_s`` for building the data set.
    """
    import random

    from bot.store.db import create_db_engine, session_factory, upgrade_database

    rng = random.Random(20261125)  # noqa: S311  (synthetic data, not security)
    with tempfile.TemporaryDirectory(prefix="wxocr-bench-") as directory:
        engine = create_db_engine(f"sqlite:///{Path(directory) / 'bench.db'}")
        upgrade_database(engine)
        sessions = session_factory(engine)
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        # Core inserts: the ORM's bulk path would spend the time on objects we never use.
        usage_table = cast(Table, Usage.__table__)
        # Rows arrive in time order, as the bot writes them.
        first, step_s = now - timedelta(days=days), days * 86400 / rows
        kinds = kind_names()
        outcomes = (OK,) * 16 + ("no_card", "bad_image", "error", "limited")
        chunk: list[dict[str, Any]] = []
        with sessions() as session, session.begin():
            for index in range(rows):
                kind = rng.choice(kinds)
                chunk.append(
                    {
                        "created_at": first + timedelta(seconds=index * step_s),
                        "openid": f"o{rng.randrange(users):06d}",
                        "kind_asked": rng.choice((kind, "auto")),
                        "kind_detected": kind,
                        "engine": rng.choice(("local", "local", "wechat")),
                        "outcome": rng.choice(outcomes),
                        "errcode": None,
                        "latency_ms": rng.randrange(150, 4000),
                        "image_bytes": rng.randrange(20_000, 2_000_000),
                    }
                )
                if len(chunk) == 50_000 or index == rows - 1:
                    session.execute(usage_table.insert(), chunk)
                    chunk = []
        timings = {"insert_s": time.perf_counter() - started}
        queries: dict[str, tuple[UsageFilters, tuple[GroupBy, ...]]] = {
            "all rows by day+kind": (UsageFilters(), DEFAULT_GROUP_BY),
            "all rows by outcome+engine": (UsageFilters(), (GroupBy.OUTCOME, GroupBy.ENGINE)),
            "last 7 days by day+kind": (
                UsageFilters(since=now - timedelta(days=7)),
                DEFAULT_GROUP_BY,
            ),
        }
        for name, (filters, group_by) in queries.items():
            with sessions() as session:
                started, cpu_started = time.perf_counter(), time.process_time()
                groups = sum(1 for _ in query_usage(session, filters, group_by))
                # CPU time too: on a shared machine the wall time says more about the neighbours.
                timings[f"{name} ({groups} groups) s"] = time.perf_counter() - started
                timings[f"{name} ({groups} groups) cpu s"] = time.process_time() - cpu_started
        engine.dispose()
        return timings
