"""message.msg_key: the sender is part of a MsgId's key (``msg:<openid>:<MsgId>``)

Keys were ``msg:<MsgId>``, so a photo from one user that carried another user's MsgId
(sample and replay tools reuse ``1234567890123456``) was answered with the other user's
result. Events were already keyed on ``event:<openid>:<CreateTime>`` and stay as they are.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 18:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# "||" and substr() mean the same on SQLite and PostgreSQL; keys are plain strings.
_OLD_PREFIX_LENGTH = len("msg:")


def upgrade() -> None:
    # Old keys were unique by MsgId alone, so (openid, MsgId) keys are unique too.
    op.execute(
        sa.text(
            "UPDATE message SET msg_key = 'msg:' || openid || ':' || substr(msg_key, :start)"
            " WHERE msg_key LIKE 'msg:%'"
        ).bindparams(start=_OLD_PREFIX_LENGTH + 1)
    )


def downgrade() -> None:
    # Two senders may now share a MsgId; the old key can hold only one of them. Message
    # rows are short-lived claims (usage rows are untouched), so the later one goes.
    # The MsgId of "msg:<openid>:<MsgId>" starts after the prefix, the openid and ":".
    op.execute(
        sa.text(
            "DELETE FROM message WHERE msg_key LIKE 'msg:%' AND EXISTS ("
            " SELECT 1 FROM message AS earlier WHERE earlier.msg_key LIKE 'msg:%'"
            " AND substr(earlier.msg_key, length(earlier.openid) + :start)"
            " = substr(message.msg_key, length(message.openid) + :start)"
            " AND earlier.id < message.id)"
        ).bindparams(start=_OLD_PREFIX_LENGTH + 2)
    )
    op.execute(
        sa.text(
            "UPDATE message SET msg_key = 'msg:' || substr(msg_key, length(openid) + :start)"
            " WHERE msg_key LIKE 'msg:%'"
        ).bindparams(start=_OLD_PREFIX_LENGTH + 2)
    )
