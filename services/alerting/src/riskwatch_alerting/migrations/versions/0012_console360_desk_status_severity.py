"""The desk's status and severity filters together (issue 21): with 100,000 alerts, "high, new"
read every alert twice, once for the page (newest first, filtered) and once for its total,
when few or none match (p95 363 ms on the console's desk). An index on (status, severity,
raised_at) serves both: the page walks it backwards, the total counts it index-only.

Revision ID: alerting_0012_console360
Revises: alerting_0011_deskapi
"""

from collections.abc import Sequence

from alembic import op

revision: str = "alerting_0012_console360"
down_revision: str | None = "alerting_0011_deskapi"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_alerts_status_severity_raised_at", "alerts", ["status", "severity", "raised_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_status_severity_raised_at", table_name="alerts")
