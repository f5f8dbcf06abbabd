"""``wxocr db``: database migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import ConfigOption, app, cli_config, console, open_database

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
    from bot.store.db import current_revision, upgrade_database

    with open_database(cli_config(config_path), "check database.url") as engine:
        upgrade_database(engine, revision)
        console.print(f"database at revision {current_revision(engine)}")


@db_app.command("current")
def db_current(config_path: ConfigOption = None) -> None:
    """Print the database's migration revision and the newest one available."""
    from bot.store.db import current_revision, head_revision

    with open_database(cli_config(config_path), "check database.url") as engine:
        current = current_revision(engine)
    head = head_revision()
    state = "up to date" if current == head else "needs `wxocr db upgrade`"
    console.print(f"current: {current or 'none'}  head: {head}  ({state})")
    raise typer.Exit(0 if current == head else 1)
