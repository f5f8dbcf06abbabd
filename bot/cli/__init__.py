"""The ``wxocr`` command line, one module per command group: ``cards`` (scan, eval),
``bench`` (bench, bench-webhook), ``serve`` (serve, simulate), ``database`` (db),
``wechat`` (token, sandbox), ``usage`` (usage). ``common`` holds the app they register on.

Heavy imports happen inside the commands, so that ``wxocr --help`` stays fast.
"""

# Importing a group's module registers its commands on the app, in this order in --help.
from bot.cli import cards, bench, serve, database, wechat, usage  # noqa: F401, I001
from bot.cli.common import app

__all__ = ["app"]
