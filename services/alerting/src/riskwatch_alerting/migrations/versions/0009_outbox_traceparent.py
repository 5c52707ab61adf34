"""The outbox keeps each event's W3C `traceparent`, sent by the relay in the message headers.

Revision ID: alerting_0009
Revises: alerting_0008
"""

from collections.abc import Sequence

from riskwatch_shared.db.migration_ops import add_outbox_traceparent, drop_outbox_traceparent

revision: str = "alerting_0009"
down_revision: str | None = "alerting_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_traceparent()


def downgrade() -> None:
    drop_outbox_traceparent()
