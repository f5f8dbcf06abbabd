"""The ``wxocr`` command line: serve, scan, eval, bench, usage, db, token, simulate, sandbox."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="wxocr",
    help="WeChat official-account bot that reads ID cards and bank cards.",
    no_args_is_help=True,
    add_completion=False,
)
