"""Delivery attempts keep the remote status code, never the remote body (bodies already
stored are cut back to `HTTP <code>`); alerts record why planning their notifications failed.

Revision ID: notify_0005
Revises: notify_0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notify_0005"
down_revision: str | None = "notify_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What classify_http_response used to write: "HTTP <code>: <first 500 characters of the body>".
_WITH_BODY = r"^HTTP [0-9]{3}: "


def upgrade() -> None:
    op.add_column("delivery_attempts", sa.Column("remote_status", sa.SmallInteger()))
    op.add_column("alerts", sa.Column("planning_error", sa.Text()))
    op.execute(
        f"""
        UPDATE delivery_attempts
           SET remote_status = substring(detail from 6 for 3)::smallint,
               detail = substring(detail from 1 for 8)
         WHERE detail ~ '{_WITH_BODY}'
        """
    )
    op.execute(
        f"""
        UPDATE notifications
           SET last_error = substring(last_error from 1 for 8)
         WHERE last_error ~ '{_WITH_BODY}'
        """
    )


def downgrade() -> None:
    op.drop_column("alerts", "planning_error")
    op.drop_column("delivery_attempts", "remote_status")
