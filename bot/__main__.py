"""``python -m bot`` runs the ``wxocr`` command line."""

from bot.cli import app

app()
