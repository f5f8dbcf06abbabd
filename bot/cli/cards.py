"""``wxocr scan`` and ``wxocr eval``: the OCR engines without WeChat or a database."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.cli.common import (
    KIND_METAVAR,
    ConfigOption,
    app,
    cli_config,
    console,
    err_console,
    parse_kind,
)
from ocr.engine import AUTO

# ---------------------------------------------------------------- card reading (issue 3)
# scan / eval / bench: the OCR engines without WeChat or a database.


@app.command()
def scan(
    images: Annotated[list[Path], typer.Argument(help="Photos of ID cards or bank cards.")],
    kind: Annotated[
        str, typer.Option(parser=parse_kind, metavar=KIND_METAVAR, help="What the photos show.")
    ] = AUTO,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per image.")] = False,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Show unmasked fields (your own cards only).")
    ] = False,
    as_csv: Annotated[
        bool,
        typer.Option(
            "--csv",
            help="A table's cells as CSV (other documents: one field,value row per field).",
        ),
    ] = False,
    config_path: ConfigOption = None,
) -> None:
    """Read cards from image files and print their fields (masked unless --reveal)."""
    from bot.serving.engines import build_engine
    from ocr.errors import OcrError
    from ocr.kinds import mask_result
    from ocr.mask import mask_cells

    config = cli_config(config_path)
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
            fields: dict[str, Any] = dict(result.fields if reveal else mask_result(result))
            if result.cells is not None:
                fields["cells"] = result.cells if reveal else mask_cells(result.cells)
            record.update(
                kind=result.kind,
                engine=result.engine,
                fields=fields,
                checks=result.checks,
                warnings=result.warnings,
            )
            if result.quality is not None:
                record["quality"] = result.quality
        if as_csv:
            _write_csv(record)
        elif as_json:
            console.print_json(json.dumps(record, ensure_ascii=False))
        else:
            _print_scan(record)
    raise typer.Exit(1 if failures else 0)


def _write_csv(record: dict[str, Any]) -> None:
    """A table's rows as CSV on stdout; a document of named fields as field,value rows.
    Errors go to stderr, so stdout stays CSV; several images follow one another."""
    if "error" in record:
        err_console.print(f"{record['image']}: {record['error']} {record['message']}")
        return
    writer = csv.writer(sys.stdout, lineterminator="\n")
    fields = record["fields"]
    if "cells" in fields:
        writer.writerows(fields["cells"])
    else:
        writer.writerows(fields.items())
    sys.stdout.flush()


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
        if name == "cells":
            for number, row in enumerate(value, start=1):
                table.add_row(f"row {number}", " ｜ ".join(row))
        else:
            table.add_row(name, value)
    for name, passed in record["checks"].items():
        table.add_row(f"check {name}", "[green]ok[/green]" if passed else "[red]failed[/red]")
    if record["warnings"]:
        table.add_row("warnings", ", ".join(record["warnings"]))
    if "quality" in record:
        table.add_row("quality", f"{record['quality']}/100")
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

    config = cli_config(config_path)
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
    cer = report.cer()
    if cer is not None:
        console.print(f"character error rate: {cer:.2%}")
    warning_scores = report.warning_scores()
    if warning_scores:
        warned = Table(title="warnings (samples whose label lists them)")
        for column in ("warning", "detected", "total", "false alarms", "clean"):
            warned.add_column(column, justify="left" if column == "warning" else "right")
        for code, counts in warning_scores.items():
            warned.add_row(
                code,
                str(counts.detected),
                str(counts.total),
                str(counts.false_alarms),
                str(counts.clean),
            )
        console.print(warned)
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
