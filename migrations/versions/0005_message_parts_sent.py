"""message.parts_sent: how many messages of a long reply have gone out (issue 15)

A reply over WeChat's 2,048-byte text limit goes out as up to five messages (the passive
reply or a first customer-service message, then continuations); the count lets a
restart resume with the next one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 00:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant server default: existing rows read 0 (nothing of a continuation sent),
    # and neither SQLite nor PostgreSQL 11+ rewrites the table for it.
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("parts_sent", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("parts_sent")
