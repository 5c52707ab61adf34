"""Configuration as code (issue 23 item 4): `config_audit`, what a configuration import did
directly and by whom (the rule proposals it opens are in `rule_audit`).

Revision ID: alerting_0018_config_audit
Revises: alerting_0017_backtest_jobs
"""

from collections.abc import Sequence

from alembic import op

from riskwatch_shared.db.governance import governance_tables

revision: str = "alerting_0018_config_audit"
down_revision: str | None = "alerting_0017_backtest_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    [(name, columns)] = [
        table for table in governance_tables("config") if table[0].endswith("_audit")
    ]
    op.create_table(name, *columns)


def downgrade() -> None:
    op.drop_table("config_audit")
