"""Alerts: the words as codes (message code and parameters), reasons with their codes, and
when the thing happened beside when the alert was raised; rules: their own title and summary.

Revision ID: alerting_0007_words
Revises: alerting_0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alerting_0007_words"
down_revision: str | None = "alerting_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("rules", sa.Column("title_template", sa.String(300)))
    op.add_column("rules", sa.Column("summary_template", sa.Text()))
    op.add_column("alerts", sa.Column("message_code", sa.String(80)))
    op.add_column("alerts", sa.Column("message_params", sa.LargeBinary()))
    op.add_column("alerts", sa.Column("coded_reasons", sa.LargeBinary()))
    op.add_column("alerts", sa.Column("happened_at", sa.DateTime(timezone=True)))
    # Before this, an alert's first occurrence is the best known time of what happened.
    op.execute("UPDATE alerts SET happened_at = first_seen_at")
    op.alter_column("alerts", "happened_at", nullable=False)
    op.create_index("ix_alerts_happened_at", "alerts", ["happened_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_happened_at", table_name="alerts")
    for column in ("happened_at", "coded_reasons", "message_params", "message_code"):
        op.drop_column("alerts", column)
    op.drop_column("rules", "summary_template")
    op.drop_column("rules", "title_template")
