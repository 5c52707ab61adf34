"""The outbox keeps each event's W3C `traceparent`, sent by the relay in the message headers;
a notification keeps its alert's trace id, which its events carry on.

Revision ID: notify_0006
Revises: notify_0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from riskwatch_shared.db.migration_ops import add_outbox_traceparent, drop_outbox_traceparent

revision: str = "notify_0006"
down_revision: str | None = "notify_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_traceparent()
    op.add_column("notifications", sa.Column("trace_id", sa.String(128), nullable=True))


def downgrade() -> None:
    op.drop_column("notifications", "trace_id")
    drop_outbox_traceparent()
