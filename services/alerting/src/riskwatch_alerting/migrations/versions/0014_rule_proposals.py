"""Maker-checker for rules (issue 23 item 1): every rule change is a proposal that someone
other than its author approves or rejects; every step is in the rule's audit history.

Revision ID: alerting_0014_governance
Revises: alerting_0013_warning
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alerting_0014_governance"
down_revision: str | None = "alerting_0013_warning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "rule_proposals",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "rule_id", sa.Uuid(), sa.ForeignKey("rules.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("proposed_by", sa.String(200), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("comment", sa.Text()),
        sa.Column("approval", sa.String(30)),
    )
    op.create_index("ix_rule_proposals_status", "rule_proposals", ["status", "proposed_at"])
    op.create_index("ix_rule_proposals_rule", "rule_proposals", ["rule_id", "version"])
    op.create_table(
        "rule_audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column(
            "rule_id", sa.Uuid(), sa.ForeignKey("rules.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("proposal_id", sa.Uuid()),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer()),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_roles", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False, server_default=_NOW),
    )
    op.create_index("ix_rule_audit_rule", "rule_audit", ["rule_id", "id"])


def downgrade() -> None:
    op.drop_table("rule_audit")
    op.drop_table("rule_proposals")
