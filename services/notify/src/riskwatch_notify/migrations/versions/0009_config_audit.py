"""Configuration as code (issue 23 item 4): `config_audit`, what a configuration import
changed (teams, recipients, subscriptions, escalation policies) and by whom.

Revision ID: notify_0009_config_audit
Revises: notify_0008
"""

from collections.abc import Sequence

from alembic import op

from riskwatch_shared.db.governance import governance_tables

revision: str = "notify_0009_config_audit"
down_revision: str | None = "notify_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    [(name, columns)] = [
        table for table in governance_tables("config") if table[0].endswith("_audit")
    ]
    op.create_table(name, *columns)


def downgrade() -> None:
    op.drop_table("config_audit")
