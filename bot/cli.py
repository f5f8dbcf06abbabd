"""The ``wxocr`` command line: serve, scan, eval, bench, usage, db, token, simulate, sandbox.

Each concern has its own section below; heavy imports happen inside the commands so
that ``wxocr --help`` stays fast.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bot.config import Config, ConfigError, load_config
from ocr.engine import Kind

if TYPE_CHECKING:
    from sqlalchemy import Engine as SqlEngine
    from sqlalchemy.orm import Session

    from bot.operators.usage import UsageFilters
    from bot.wxapi.tokens import StoredToken

app = typer.Typer(
    name="wxocr",
    help="WeChat official-account bot that reads ID cards and bank cards.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML config file (see config.example.toml).")
]


def _config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        err_console.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from exc


# ---------------------------------------------------------------- card reading (issue 3)
# scan / eval / bench: the OCR engines without WeChat or a database.


@app.command()
def scan(
    images: Annotated[list[Path], typer.Argument(help="Photos of ID cards or bank cards.")],
    kind: Annotated[Kind, typer.Option(help="What the photos show.")] = Kind.AUTO,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per image.")] = False,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Show unmasked fields (your own cards only).")
    ] = False,
    config_path: ConfigOption = None,
) -> None:
    """Read cards from image files and print their fields (masked unless --reveal)."""
    from bot.serving.engines import build_engine
    from ocr.errors import OcrError
    from ocr.mask import mask_result

    config = _config(config_path)
    engine = build_engine(config)
    failures = 0
    for path in images:
        record: dict[str, Any] = {"image": str(path)}
        try:
            result = engine.recognize(path.read_bytes(), kind)
        except OSError as exc:
            failures += 1
            record.update(error="unreadable_file", message=exc.strerror or "cannot read file")
        except OcrError as exc:
            failures += 1
            record.update(error=exc.code, message=str(exc))
        else:
            record.update(
                kind=result.kind,
                engine=result.engine,
                fields=result.fields if reveal else mask_result(result),
                checks=result.checks,
                warnings=result.warnings,
            )
        if as_json:
            console.print_json(json.dumps(record, ensure_ascii=False))
        else:
            _print_scan(record)
    raise typer.Exit(1 if failures else 0)


def _print_scan(record: dict[str, Any]) -> None:
    if "error" in record:
        console.print(
            f"[bold]{record['image']}[/bold]: [red]{record['error']}[/red] {record['message']}"
        )
        return
    table = Table(
        title=f"{record['image']} ({record['kind']}, {record['engine']})", show_header=False
    )
    for name, value in record["fields"].items():
        table.add_row(name, value)
    for name, passed in record["checks"].items():
        table.add_row(f"check {name}", "[green]ok[/green]" if passed else "[red]failed[/red]")
    if record["warnings"]:
        table.add_row("warnings", ", ".join(record["warnings"]))
    console.print(table)


@app.command("eval")
def eval_command(
    directory: Annotated[
        Path, typer.Argument(help="Directory of NAME.jpg|png + NAME.json labels.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    auto_kind: Annotated[
        bool, typer.Option("--auto-kind", help="Do not tell the engine the kind; score detection.")
    ] = False,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Show expected/got values of the worst samples.")
    ] = False,
    config_path: ConfigOption = None,
) -> None:
    """Exact-match accuracy per field and latency over a labelled directory."""
    from bot.serving.engines import build_engine
    from ocr.evaluate import evaluate

    config = _config(config_path)
    engine = build_engine(config)
    try:
        report = evaluate(engine, directory, auto_kind=auto_kind)
    except ValueError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps(report.as_json(), ensure_ascii=False))
        return
    table = Table(title=f"{directory}: {len(report.outcomes)} samples")
    # silent: wrong values returned with no warning at all (what users are hurt by).
    for column in ("field", "correct", "total", "exact match", "silent"):
        table.add_column(column, justify="left" if column == "field" else "right")
    for name, score in sorted(report.fields.items()):
        silent = report.silent.get(name, 0)
        table.add_row(
            name,
            str(score.correct),
            str(score.total),
            f"{score.rate:.1%}",
            f"[red]{silent}[/red]" if silent else "0",
        )
    console.print(table)
    latency = report.latency_ms()
    console.print(f"latency per image: p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms")
    worst = report.worst()
    if worst:
        bad = Table(title="worst samples")
        for column in ("sample", "wrong fields", "silent", "error"):
            bad.add_column(column)
        for outcome in worst:
            if reveal:
                wrong = "; ".join(f"{k}: {e!r} -> {g!r}" for k, (e, g) in outcome.wrong.items())
            else:
                wrong = ", ".join(outcome.wrong)
            unwarned = ", ".join(sorted(outcome.silent))
            bad.add_row(outcome.sample.name, wrong, unwarned, outcome.error or "")
        console.print(bad)


BENCH_SECTIONS = ("engine", "serve", "webhook", "usage")


@app.command()
def bench(
    images: Annotated[
        Path, typer.Option(help="Labelled photos to run (default: the committed fixtures).")
    ] = Path("tests/fixtures/cards"),
    section: Annotated[
        str,
        typer.Option(
            help="engine: the OCR engine alone; serve: wxocr serve with 1 and 2 worker "
            "processes; webhook: text requests/s beside a bare werobot robot; usage: grouped "
            "queries over 1,000,000 usage rows; all: every section (what `make bench` runs)."
        ),
    ] = "engine",
    config_path: ConfigOption = None,
) -> None:
    """Print speed and memory figures. Figures only: nothing here passes or fails."""
    sections = BENCH_SECTIONS if section == "all" else (section,)
    unknown = [name for name in sections if name not in BENCH_SECTIONS]
    if unknown:
        err_console.print(
            f"[red]unknown section {unknown[0]!r}: {', '.join(BENCH_SECTIONS)} or all[/red]"
        )
        raise typer.Exit(2)
    for name in sections:
        if name == "engine":
            _bench_engine(images, _config(config_path))
        elif name == "serve":
            _bench_serve(images)
        elif name == "webhook":
            _bench_webhook(sorted(images.glob("*_*_*.jpg"))[:20], clients=8, seconds=5.0)
        else:
            _bench_usage()


def _bench_engine(images: Path, config: Config) -> None:
    from bot.serving.engines import build_engine
    from ocr.bench import bench_engine

    try:
        result = bench_engine(lambda: build_engine(config), images)
    except ValueError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    table = Table(title=f"OCR engine '{config.ocr.engine}' on {images} ({result.images} images)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("first call (model load + 1 image)", f"{result.first_call_s:.2f} s")
    table.add_row("latency p50", f"{result.latency_ms['p50']:.0f} ms")
    table.add_row("latency p95", f"{result.latency_ms['p95']:.0f} ms")
    for threads, rate in result.images_per_s.items():
        table.add_row(f"images/s with {threads} thread(s)", f"{rate:.2f}")
    table.add_row("peak resident memory", f"{result.peak_rss_mb:.0f} MB")
    table.add_row("images not read (no card / bad image)", str(result.failures))
    console.print(table)


def _bench_usage(rows: int = 1_000_000) -> None:
    from bot.operators.usage import bench_usage_query

    console.print(f"usage: building {rows:,} synthetic usage rows in a fresh SQLite file ...")
    figures = bench_usage_query(rows)
    table = Table(title=f"usage queries over {rows:,} rows (SQLite)")
    table.add_column("query / step")
    table.add_column("seconds", justify="right")
    for name, seconds in figures.items():
        table.add_row(name, f"{seconds:.2f}")
    console.print(table)


def _bench_serve(images: Path, photo_count: int = 16) -> None:
    """``wxocr bench --section serve``: whole servers under load (bot/serving/workers.py)."""
    from bot.tools.workers_bench import bench_workers

    photos = sorted(images.glob("*_photo*.jpg"))[:photo_count]
    if not photos:
        err_console.print(f"[red]no *_photo*.jpg in {images}[/red]")
        raise typer.Exit(2)
    figures = bench_workers([p.read_bytes() for p in photos])
    table = Table(title=f"wxocr serve: {len(photos)} photos from 4 users at once, real OCR")
    table.add_column("set-up")
    text_column = f"text msgs/s ({figures[0].text_clients} clients)" if figures else "text"
    for column in ("photos/s", "passive", "passive p50", "passive p95", text_column):
        table.add_column(column, justify="right")
    for f in figures:
        table.add_row(
            f"gunicorn, {f.workers} worker{'s' if f.workers > 1 else ''}"
            if f.workers
            else "waitress",
            f"{f.photos_per_s:.2f}",
            f"{f.passive} of {f.photos}",
            "-" if f.passive_p50_ms is None else f"{f.passive_p50_ms:.0f} ms",
            "-" if f.passive_p95_ms is None else f"{f.passive_p95_ms:.0f} ms",
            f"{f.text_per_s:.0f}",
        )
    console.print(table)


# ---------------------------------------------------------------- the bot (issue 5)
# serve / simulate: the webhook behind waitress, and WeChat's side of a conversation.


@app.command()
def serve(
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Worker processes (gunicorn, Linux); 0 = one waitress process. "
            "Default: server.workers.",
        ),
    ] = None,
    config_path: ConfigOption = None,
) -> None:
    """Serve the WeChat webhook (and the sandbox in sandbox mode) until Ctrl-C."""
    config = _config(config_path)
    processes = config.server.workers if workers is None else workers
    if processes:
        # Imported first: the metrics directory must be set before prometheus-client loads.
        from bot.serving.workers import WorkersError, check_workers_config, serve_workers

        try:
            check_workers_config(config, processes)
            _require_migrated(config)
            serve_workers(config, processes)
        except WorkersError as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        return
    from bot.serving.server import serve as serve_forever

    _require_migrated(config)
    serve_forever(config)


def _require_migrated(config: Config) -> None:
    """An unmigrated database would fail every request and job: refuse to start instead."""
    from bot.store.db import current_revision, head_revision

    with _database(config) as engine:
        current = current_revision(engine)
    head = head_revision()
    if current != head:
        err_console.print(
            f"[red]the database is at revision {current or '(none)'}, the code needs {head}: "
            "run `wxocr db upgrade` first[/red]"
        )
        raise typer.Exit(2)


@app.command()
def simulate(
    image: Annotated[Path, typer.Argument(help="The photo to send, as a WeChat user would.")],
    command: Annotated[
        str | None, typer.Option(help="A text to send first, e.g. 身份证 or 银行卡.")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="The webhook. Default: from server.host/port/path.")
    ] = None,
    openid: Annotated[str, typer.Option(help="The simulated user.")] = "o_simulated_user",
    safe: Annotated[
        bool, typer.Option("--safe", help="Encrypt like WeChat's safe mode (needs the AES key).")
    ] = False,
    config_path: ConfigOption = None,
) -> None:
    """Send a photo like WeChat does (via the sandbox) and print the bot's answer."""
    import httpx

    from bot.tools.simulate import SimulationError, run_simulation
    from bot.wxapi.client import WechatError

    config = _config(config_path)
    host = "127.0.0.1" if config.server.host in ("0.0.0.0", "::") else config.server.host  # noqa: S104
    webhook = url or f"http://{host}:{config.server.port}{config.server.path}"
    try:
        data = image.read_bytes()
        answered = run_simulation(
            config, data, url=webhook, openid=openid, command=command, safe=safe, out=print
        )
    except OSError as exc:
        err_console.print(f"[red]cannot read {image}: {exc.strerror}[/red]")
        raise typer.Exit(2) from exc
    except SimulationError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    except (httpx.HTTPError, WechatError) as exc:
        err_console.print(f"[red]cannot reach {webhook} or the sandbox: {type(exc).__name__}[/red]")
        raise typer.Exit(1) from exc
    raise typer.Exit(0 if answered else 1)


@app.command("bench-webhook")
def bench_webhook_command(
    images: Annotated[
        list[Path] | None, typer.Argument(help="Photos to send. Default: the fixture cards.")
    ] = None,
    clients: Annotated[int, typer.Option(help="Concurrent text senders.")] = 8,
    seconds: Annotated[float, typer.Option(help="Length of each text run.")] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Text requests/s beside a bare werobot echo robot, and photo answer latency."""
    paths = images or sorted(Path("tests/fixtures/cards").glob("*_*_*.jpg"))[:20]
    if not paths:
        err_console.print("[red]no photos: pass IMAGE files[/red]")
        raise typer.Exit(2)
    if as_json:
        from bot.tools.webhook_bench import bench_webhook

        result = bench_webhook([p.read_bytes() for p in paths], clients=clients, seconds=seconds)
        print(result.as_json())
        return
    _bench_webhook(paths, clients=clients, seconds=seconds)


def _bench_webhook(paths: list[Path], *, clients: int, seconds: float) -> None:
    from bot.tools.webhook_bench import bench_webhook

    result = bench_webhook([p.read_bytes() for p in paths], clients=clients, seconds=seconds)
    table = Table(title="webhook benchmark", show_header=False)
    table.add_row(f"text messages/s, wxocr ({clients} clients)", f"{result.text_rps:.0f}")
    table.add_row(
        f"text messages/s, bare werobot echo ({clients} clients)", f"{result.echo_text_rps:.0f}"
    )
    table.add_row("photos answered passively", f"{result.passive} of {result.photos}")
    for name, value in (("p50", result.passive_p50_ms), ("p95", result.passive_p95_ms)):
        table.add_row(f"passive photo answer {name}", "-" if value is None else f"{value:.0f} ms")
    table.add_row("any first answer p95", f"{result.answer_p95_ms:.0f} ms")
    console.print(table)


# ---------------------------------------------------------- database, token, sandbox (issue 4)
# db upgrade/current, token show/refresh, sandbox. Secrets never reach the output.

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@contextmanager
def _database(config: Config, hint: str = "") -> Iterator[SqlEngine]:
    """An Engine on ``database.url``; database failures end the command with a clear message."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.store.db import create_db_engine

    engine = None
    try:
        engine = create_db_engine(config.database.url)
        yield engine
    except SQLAlchemyError as exc:
        err_console.print(f"[red]database error ({type(exc).__name__})[/red] {hint}".rstrip())
        raise typer.Exit(2) from None
    finally:
        if engine is not None:
            engine.dispose()


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    config_path: ConfigOption = None,
) -> None:
    """Create or migrate the database tables (safe to run again)."""
    from bot.store.db import current_revision, upgrade_database

    with _database(_config(config_path), "check database.url") as engine:
        upgrade_database(engine, revision)
        console.print(f"database at revision {current_revision(engine)}")


@db_app.command("current")
def db_current(config_path: ConfigOption = None) -> None:
    """Print the database's migration revision and the newest one available."""
    from bot.store.db import current_revision, head_revision

    with _database(_config(config_path), "check database.url") as engine:
        current = current_revision(engine)
    head = head_revision()
    state = "up to date" if current == head else "needs `wxocr db upgrade`"
    console.print(f"current: {current or 'none'}  head: {head}  ({state})")
    raise typer.Exit(0 if current == head else 1)


token_app = typer.Typer(help="The shared WeChat access token.", no_args_is_help=True)
app.add_typer(token_app, name="token")


def _print_token(stored: StoredToken, config: Config) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC)
    local = stored.expires_at.astimezone(ZoneInfo(config.log.timezone))
    console.print(f"app_id:     {stored.app_id}")
    console.print(f"token:      {stored.short}")
    console.print(f"expires_at: {stored.expires_at:%Y-%m-%d %H:%M:%S} UTC ({local:%H:%M:%S %Z})")
    console.print(f"expires_in: {max(0, int(stored.seconds_left(now)))} s")


def _with_token_store(config_path: Path | None, action: str) -> None:
    import httpx

    from bot.store.db import session_factory
    from bot.wxapi.client import WechatError
    from bot.wxapi.tokens import build_token_store

    config = _config(config_path)
    with _database(config, "(check database.url; is it migrated? `wxocr db upgrade`)") as engine:
        try:
            with httpx.Client(timeout=config.wechat.timeout_s) as http:
                store = build_token_store(config, http, session_factory(engine))
                stored = store.force_refresh() if action == "refresh" else store.ensure_valid()
        except WechatError as exc:
            err_console.print(f"[red]WeChat API call failed:[/red] {exc}")
            raise typer.Exit(1) from None
    _print_token(stored, config)


@token_app.command("show")
def token_show(config_path: ConfigOption = None) -> None:
    """Print the token's expiry (fetching one first if none valid is stored); never the secret."""
    _with_token_store(config_path, "show")


@token_app.command("refresh")
def token_refresh(config_path: ConfigOption = None) -> None:
    """Fetch a new access token now and store it for every process."""
    _with_token_store(config_path, "refresh")


@app.command("sandbox")
def sandbox_command(
    host: Annotated[str | None, typer.Option(help="Default: server.host.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: server.port.")] = None,
    config_path: ConfigOption = None,
) -> None:
    """Serve the WeChat API emulator alone (under /sandbox), with waitress."""
    import waitress

    from bot.sandbox.emulator import SandboxApp, mounted

    config = _config(config_path)
    host = host or config.server.host
    port = config.server.port if port is None else port
    app_ = mounted("/sandbox", SandboxApp.from_config(config))
    err_console.print(
        f"WeChat API sandbox: api_base = http://{host}:{port}/sandbox "
        f"(app_id {config.sandbox.app_id}); control endpoints under /sandbox/_control/"
    )
    waitress.serve(app_, host=host, port=port, threads=config.server.threads)


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
KindOption = Annotated[str | None, typer.Option("--kind", help="idcard|bankcard|auto")]
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

    config = _config(config_path)
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

    config = _config(config_path)
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


@usage_app.command("quota")
def usage_quota(as_json: UsageJsonOption = False, config_path: ConfigOption = None) -> None:
    """Today's requests per engine (Beijing day) against WeChat's daily OCR quota."""
    from bot.operators.usage import quota_today

    config = _config(config_path)
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

    config = _config(config_path)
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

    config = _config(config_path)
    if not yes:
        typer.confirm(f"delete every stored row of {openid}?", abort=True)
    with _usage_session(config) as session:
        result = forget_user(session, openid)
        session.commit()
    details = ", ".join(f"{table}: {rows}" for table, rows in sorted(result.rows_by_table.items()))
    console.print(f"removed {result.total} rows ({details})")
