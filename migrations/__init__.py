"""Alembic migrations, run from the installed package (see bot.store.db.alembic_config)."""
