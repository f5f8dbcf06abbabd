"""``wxocr usage``: operators' usage queries, purge and forget."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from bot.cli.common import KIND_CHOICES, ConfigOption, app, cli_config, console, err_console
from bot.config import Config

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.operators.usage import UsageFilters


# ---------------------------------------------------------------- operator usage (issue 6)
# usage (grouped figures), usage top / quota / purge / forget. Codes and counts only.

usage_app = typer.Typer(
    help="Usage figures for operators: who uses the bot, how much, how well.",
    invoke_without_command=True,
)
app.add_typer(usage_app, name="usage")

SinceOption = Annotated[
    str,
    typer.Option("--since", help="Start: 7d, 24h, 30m, 2w, today, YYYY-MM-DD[THH:MM]; '' = all."),
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="End (a bare date includes that day).")
]
UserOption = Annotated[str | None, typer.Option("--user", help="Only this openid.")]
KindOption = Annotated[str | None, typer.Option("--kind", help="|".join(KIND_CHOICES))]
OutcomeOption = Annotated[
    str | None,
    typer.Option("--outcome", help="ok|no_card|bad_image|error|limited (command: text commands)"),
]
EngineOption = Annotated[str | None, typer.Option("--engine", help="local|wechat")]
UsageJsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@contextmanager
def _usage_session(config: Config) -> Iterator[Session]:
    """A session on the configured database; database and filter errors end the command."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.operators.usage import UsageQueryError
    from bot.store.db import create_db_engine, session_factory

    engine = create_db_engine(config.database.url)
    try:
        with session_factory(engine)() as session:
            yield session
    except UsageQueryError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    except SQLAlchemyError as exc:
        err_console.print(
            f"[red]database error ({type(exc).__name__})[/red]: is it migrated? "
            "run `wxocr db upgrade`"
        )
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


def _usage_filters(
    config: Config,
    since: str,
    until: str | None,
    user: str | None,
    kind: str | None,
    outcome: str | None,
    engine: str | None,
) -> UsageFilters:
    from bot.operators.usage import UsageQueryError, build_filters, zone

    try:
        return build_filters(
            zone(config.log.timezone),
            since=since or None,
            until=until,
            user=user,
            kind=kind,
            outcome=outcome,
            engine=engine,
        )
    except UsageQueryError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@usage_app.callback()
def usage(
    ctx: typer.Context,
    since: SinceOption = "7d",
    until: UntilOption = None,
    user: UserOption = None,
    kind: KindOption = None,
    outcome: OutcomeOption = None,
    engine: EngineOption = None,
    group_by: Annotated[
        list[str] | None,
        typer.Option(
            "--group-by",
            "-g",
            help="day|hour|kind|user|outcome|engine|delivery; repeat or comma-separate.",
        ),
    ] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    as_json: UsageJsonOption = False,
    config_path: ConfigOption = None,
) -> None:
    """Count, success rate and p50/p95 latency per group (default: last 7 days by day and kind)."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.operators.usage import DEFAULT_GROUP_BY, UsageQueryError, parse_group_by, query_usage

    config = cli_config(config_path)
    filters = _usage_filters(config, since, until, user, kind, outcome, engine)
    try:
        groups_by = parse_group_by(group_by or []) if group_by else DEFAULT_GROUP_BY
    except UsageQueryError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    names = [g.value for g in groups_by]
    with _usage_session(config) as session:
        groups = query_usage(session, filters, groups_by, timezone_name=config.log.timezone)
        # Output is written group by group: a long range never waits in memory.
        if as_json:
            # "[" only after the first group: a failing query must not leave half a list.
            wrote = False
            for group in groups:
                sys.stdout.write(("," if wrote else "[") + json.dumps(group.as_json()))
                wrote = True
            sys.stdout.write("]\n" if wrote else "[]\n")
        elif as_csv:
            writer = csv.writer(sys.stdout)
            writer.writerow([*names, "count", "ok", "p50_ms", "p95_ms"])
            for group in groups:
                row = group.as_json()
                writer.writerow([row[name] for name in (*names, "count", "ok", "p50_ms", "p95_ms")])
        else:
            table = Table(title=_usage_title(config, filters))
            for name in [*names, "count", "ok", "success", "p50 ms", "p95 ms"]:
                table.add_column(name, justify="left" if name in names else "right")
            for group in groups:
                table.add_row(
                    *[group.keys[name] for name in names],
                    str(group.count),
                    str(group.ok),
                    f"{group.success_rate:.1%}",
                    _ms(group.p50_ms),
                    _ms(group.p95_ms),
                )
            console.print(table)


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def _usage_title(config: Config, filters: UsageFilters) -> str:
    from bot.operators.usage import zone

    tz = zone(config.log.timezone)
    start = f"{filters.since.astimezone(tz):%Y-%m-%d %H:%M}" if filters.since else "the start"
    end = f"{filters.until.astimezone(tz):%Y-%m-%d %H:%M}" if filters.until else "now"
    return f"usage from {start} to {end} ({tz.key})"


@usage_app.command("top")
def usage_top(
    since: SinceOption = "7d",
    until: UntilOption = None,
    kind: KindOption = None,
    outcome: OutcomeOption = None,
    engine: EngineOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many users.")] = 10,
    as_json: UsageJsonOption = False,
    config_path: ConfigOption = None,
) -> None:
    """The heaviest users: requests, successes and when they were last seen."""
    from bot.operators.usage import top_users, zone

    config = cli_config(config_path)
    filters = _usage_filters(config, since, until, None, kind, outcome, engine)
    tz = zone(config.log.timezone)
    with _usage_session(config) as session:
        users = top_users(session, filters, limit)
    if as_json:
        rows = [
            {"user": u.openid, "count": u.count, "ok": u.ok, "last_seen": u.last_seen.isoformat()}
            for u in users
        ]
        print(json.dumps(rows))
        return
    table = Table(title=f"top users, {_usage_title(config, filters)}")
    for column in ("user", "count", "ok", "success", "last seen"):
        table.add_column(column, justify="left" if column in ("user", "last seen") else "right")
    for u in users:
        table.add_row(
            u.openid,
            str(u.count),
            str(u.ok),
            f"{u.ok / u.count:.1%}",
            f"{u.last_seen.astimezone(tz):%Y-%m-%d %H:%M}",
        )
    console.print(table)


@usage_app.command("warnings")
def usage_warnings(
    since: SinceOption = "7d",
    until: UntilOption = None,
    kind: KindOption = None,
    engine: EngineOption = None,
    as_json: UsageJsonOption = False,
    config_path: ConfigOption = None,
) -> None:
    """How many photos got each warning code (blur, glare, expired, field_missing:addr...)."""
    from bot.operators.usage import warning_counts

    config = cli_config(config_path)
    filters = _usage_filters(config, since, until, None, kind, None, engine)
    with _usage_session(config) as session:
        counts = warning_counts(session, filters)
    if as_json:
        print(
            json.dumps([{"warning": c.code, "count": c.count, "photos": c.photos} for c in counts])
        )
        return
    table = Table(title=f"warnings, {_usage_title(config, filters)}")
    for column in ("warning", "photos", "share of photos read"):
        table.add_column(column, justify="left" if column == "warning" else "right")
    for c in counts:
        table.add_row(c.code, str(c.count), f"{c.count / c.photos:.1%}" if c.photos else "—")
    console.print(table)


@usage_app.command("quota")
def usage_quota(as_json: UsageJsonOption = False, config_path: ConfigOption = None) -> None:
    """Today's requests per engine (Beijing day) against WeChat's daily OCR quota."""
    from bot.operators.usage import quota_today

    config = cli_config(config_path)
    with _usage_session(config) as session:
        lines = quota_today(session, config.ocr.wechat_daily_quota)
    if as_json:
        print(json.dumps([{"engine": q.engine, "calls": q.calls, "quota": q.quota} for q in lines]))
        return
    table = Table(title="today's OCR calls (Beijing time)")
    for column in ("engine", "calls", "daily quota", "left"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    for q in lines:
        left = "" if q.quota is None else str(max(0, q.quota - q.calls))
        style = "red" if q.quota is not None and q.calls >= q.quota else ""
        table.add_row(
            q.engine, str(q.calls), "—" if q.quota is None else str(q.quota), left, style=style
        )
    console.print(table)


@usage_app.command("purge")
def usage_purge(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Age like 90d (or a date): older rows go.")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count them.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per transaction.")] = 5000,
    config_path: ConfigOption = None,
) -> None:
    """Delete usage rows older than the given age, in batches."""
    from bot.operators.usage import UsageQueryError, parse_time, purge_usage, zone
    from bot.store.db import create_db_engine, session_factory

    config = cli_config(config_path)
    try:
        cutoff = parse_time(older_than, zone(config.log.timezone))
    except UsageQueryError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    engine = create_db_engine(config.database.url)
    try:
        result = purge_usage(
            session_factory(engine), cutoff, batch_size=batch_size, dry_run=dry_run
        )
    finally:
        engine.dispose()
    verb = "would delete" if dry_run else "deleted"
    console.print(f"{verb} {result.rows} usage rows created before {cutoff:%Y-%m-%d %H:%M} UTC")


@usage_app.command("forget")
def usage_forget(
    openid: Annotated[str, typer.Argument(help="The user's openid.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    config_path: ConfigOption = None,
) -> None:
    """Remove everything stored about one user: usage rows, preferences, pending messages."""
    from bot.operators.usage import forget_user

    config = cli_config(config_path)
    if not yes:
        typer.confirm(f"delete every stored row of {openid}?", abort=True)
    with _usage_session(config) as session:
        result = forget_user(session, openid)
        session.commit()
    details = ", ".join(f"{table}: {rows}" for table, rows in sorted(result.rows_by_table.items()))
    console.print(f"removed {result.total} rows ({details})")
