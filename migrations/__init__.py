"""Alembic migrations, run from the installed package (see bot.db.alembic_config)."""
