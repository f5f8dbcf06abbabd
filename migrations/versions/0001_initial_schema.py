"""initial schema: access_token, message, user_pref, usage, lease

Revision ID: 0001
Revises:
Create Date: 2026-11-25 13:51:13.722521
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_token",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=1024), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_holder", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_errcode", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_access_token")),
    )
    op.create_table(
        "lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_lease")),
    )
    op.create_table(
        "message",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("msg_key", sa.String(length=128), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("kind_asked", sa.String(length=16), nullable=True),
        sa.Column("media_id", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("delivery", sa.String(length=16), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_errcode", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint("msg_key", name=op.f("uq_message_msg_key")),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_openid"), ["openid"], unique=False)
        batch_op.create_index(
            "ix_message_state_next_attempt_at", ["state", "next_attempt_at"], unique=False
        )

    op.create_table(
        "usage",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("kind_asked", sa.String(length=16), nullable=True),
        sa.Column("kind_detected", sa.String(length=16), nullable=True),
        sa.Column("engine", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("image_bytes", sa.Integer(), nullable=True),
        sa.Column("delivery", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage")),
    )
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usage_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            "ix_usage_created_at_kind_detected", ["created_at", "kind_detected"], unique=False
        )
        batch_op.create_index("ix_usage_engine_created_at", ["engine", "created_at"], unique=False)
        batch_op.create_index("ix_usage_openid_created_at", ["openid", "created_at"], unique=False)
        batch_op.create_index(
            "ix_usage_outcome_created_at", ["outcome", "created_at"], unique=False
        )

    op.create_table(
        "user_pref",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("openid", name=op.f("pk_user_pref")),
    )


def downgrade() -> None:
    op.drop_table("user_pref")
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_outcome_created_at")
        batch_op.drop_index("ix_usage_openid_created_at")
        batch_op.drop_index("ix_usage_engine_created_at")
        batch_op.drop_index("ix_usage_created_at_kind_detected")
        batch_op.drop_index(batch_op.f("ix_usage_created_at"))

    op.drop_table("usage")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_state_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_message_openid"))

    op.drop_table("message")
    op.drop_table("lease")
    op.drop_table("access_token")
