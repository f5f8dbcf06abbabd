"""``wxocr bench`` and ``wxocr bench-webhook``: engine, serving, webhook and usage-query figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import ConfigOption, app, cli_config, console, err_console
from bot.config import Config

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
            _bench_engine(images, cli_config(config_path))
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
