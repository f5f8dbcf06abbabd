"""usage.warnings: the warning codes a photo's result carried, comma-separated (issue 16)

Codes only (``blur``, ``expired``, ``field_missing:addr``...), never card data.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A nullable column without a default: SQLite and PostgreSQL add it in place, no copy.
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warnings", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.drop_column("warnings")
