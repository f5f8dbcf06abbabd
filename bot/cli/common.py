"""What every command group shares: the app, the consoles, the config option and loading,
the database a command opens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bot.config import Config, ConfigError, load_config
from ocr.engine import AUTO
from ocr.kinds import kind_names

if TYPE_CHECKING:
    from sqlalchemy import Engine as SqlEngine


app = typer.Typer(
    name="wxocr",
    help="WeChat official-account bot that reads ID cards and bank cards.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

# ``--kind``: every registered document kind (ocr/kinds/), or auto (detect it).
KIND_CHOICES = (*kind_names(), AUTO)
KIND_METAVAR = "[" + "|".join(KIND_CHOICES) + "]"


def parse_kind(value: str) -> str:
    """A ``--kind`` value, refused with the choices when it names no kind."""
    if value not in KIND_CHOICES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(KIND_CHOICES)}")
    return value


ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML config file (see config.example.toml).")
]


def cli_config(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        err_console.print(f"[red]config error:[/red] {exc}")
        raise typer.Exit(2) from exc


@contextmanager
def open_database(config: Config, hint: str = "") -> Iterator[SqlEngine]:
    """An Engine on ``database.url``; database failures end the command with a clear message."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.store.db import create_db_engine

    engine = None
    try:
        engine = create_db_engine(config.database.url)
        yield engine
    except SQLAlchemyError as exc:
        # The driver's own first line ("database is locked", "connection refused"): it names
        # the cause, and it holds no statement or bound values (those follow on other lines).
        cause = str(getattr(exc, "orig", None) or "").strip().splitlines()[:1]
        detail = f": {escape(cause[0])}" if cause else ""
        err_console.print(
            f"[red]database error ({type(exc).__name__}{detail})[/red] {hint}".rstrip()
        )
        raise typer.Exit(2) from None
    finally:
        if engine is not None:
            engine.dispose()
