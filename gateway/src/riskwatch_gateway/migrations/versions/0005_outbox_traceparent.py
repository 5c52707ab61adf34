"""The outbox keeps each event's W3C `traceparent`, sent by the relay in the message headers.

Revision ID: gateway_0005
Revises: gateway_0004
"""

from collections.abc import Sequence

from riskwatch_shared.db.migration_ops import add_outbox_traceparent, drop_outbox_traceparent

revision: str = "gateway_0005"
down_revision: str | None = "gateway_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_traceparent()


def downgrade() -> None:
    drop_outbox_traceparent()
