"""The alert dashboards' covering index: `raised_at` with the columns their per-day
aggregates read (type, severity, status, outcome, rule, acknowledged, resolved, SLA due), so
a period's counts, time to acknowledge, SLA breaches and false positives are index-only
scans of the period instead of reads of the wide alert rows (evidence, summary, reasons).

Revision ID: alerting_0020_dashboards
Revises: alerting_0019_rollout
"""

from collections.abc import Sequence

from alembic import op

revision: str = "alerting_0020_dashboards"
down_revision: str | None = "alerting_0019_rollout"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    "rule_type",
    "severity",
    "status",
    "outcome",
    "rule_id",
    "acknowledged_at",
    "resolved_at",
    "sla_due_at",
]


def upgrade() -> None:
    op.create_index("ix_alerts_dashboard", "alerts", ["raised_at"], postgresql_include=COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_alerts_dashboard", "alerts")
