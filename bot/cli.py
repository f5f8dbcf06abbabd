"""The ``wxocr`` command line: serve, scan, eval, bench, usage, db, token, simulate, sandbox.

Each concern has its own section below; heavy imports happen inside the commands so
that ``wxocr --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bot.config import Config, ConfigError, load_config
from ocr.engine import Kind

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
    from bot.engines import build_engine
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
    from bot.engines import build_engine
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
    for column in ("field", "correct", "total", "exact match"):
        table.add_column(column, justify="left" if column == "field" else "right")
    for name, score in sorted(report.fields.items()):
        table.add_row(name, str(score.correct), str(score.total), f"{score.rate:.1%}")
    console.print(table)
    latency = report.latency_ms()
    console.print(f"latency per image: p50 {latency['p50']:.0f} ms, p95 {latency['p95']:.0f} ms")
    worst = report.worst()
    if worst:
        bad = Table(title="worst samples")
        for column in ("sample", "wrong fields", "error"):
            bad.add_column(column)
        for outcome in worst:
            if reveal:
                wrong = "; ".join(f"{k}: {e!r} -> {g!r}" for k, (e, g) in outcome.wrong.items())
            else:
                wrong = ", ".join(outcome.wrong)
            bad.add_row(outcome.sample.name, wrong, outcome.error or "")
        console.print(bad)


@app.command()
def bench(
    images: Annotated[
        Path, typer.Option(help="Labelled photos to run (default: the committed fixtures).")
    ] = Path("tests/fixtures/cards"),
    config_path: ConfigOption = None,
) -> None:
    """Print speed and memory figures: OCR latency, throughput with 1 and 2 threads, peak RSS."""
    from bot.engines import build_engine
    from ocr.bench import bench_engine

    config = _config(config_path)
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


# ---------------------------------------------------------- database, token, sandbox (issue 4)
# db upgrade/current, token show/refresh, sandbox. Secrets never reach the output.

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    config_path: ConfigOption = None,
) -> None:
    """Create or migrate the database tables (safe to run again)."""
    from bot.db import create_db_engine, current_revision, upgrade_database

    config = _config(config_path)
    engine = create_db_engine(config.database.url)
    try:
        upgrade_database(engine, revision)
        console.print(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()


@db_app.command("current")
def db_current(config_path: ConfigOption = None) -> None:
    """Print the database's migration revision and the newest one available."""
    from bot.db import create_db_engine, current_revision, head_revision

    config = _config(config_path)
    engine = create_db_engine(config.database.url)
    try:
        current = current_revision(engine)
    finally:
        engine.dispose()
    head = head_revision()
    state = "up to date" if current == head else "needs `wxocr db upgrade`"
    console.print(f"current: {current or 'none'}  head: {head}  ({state})")
    raise typer.Exit(0 if current == head else 1)
