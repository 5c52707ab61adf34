"""Cases grouping a customer's alerts, notify's deliveries as alerting learns them, rule
suppressions, and the acting person's name and roles on every timeline entry.

Revision ID: alerting_0008
Revises: alerting_0007_words
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alerting_0008"
down_revision: str | None = "alerting_0007_words"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("group_key", sa.String(120), nullable=False),
        sa.Column("customer_id", sa.Uuid()),
        sa.Column("customer_name", sa.String(300)),
        sa.Column("relationship_manager", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("priority", sa.String(20), nullable=False),
        sa.Column("assignee", sa.String(200)),
        sa.Column("outcome", sa.String(40)),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        _at("opened_at"),
        _at("updated_at"),
        _at("sla_due_at"),
        _at("closed_at", nullable=True),
    )
    op.create_index(
        "uq_cases_open_group",
        "cases",
        ["group_key"],
        unique=True,
        postgresql_where=sa.text("status <> 'closed'"),
    )
    op.create_index("ix_cases_updated_at", "cases", ["updated_at"])
    op.create_index("ix_cases_customer_id", "cases", ["customer_id"])
    op.add_column("alerts", sa.Column("case_id", sa.Uuid()))
    op.create_index("ix_alerts_case_id", "alerts", ["case_id"])
    op.create_table(
        "case_timeline",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column(
            "case_id", sa.Uuid(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
        ),
        _at("at"),
        sa.Column("actor", sa.String(200)),
        sa.Column("actor_name", sa.String(200)),
        sa.Column("actor_roles", sa.String(200)),
        sa.Column("change", sa.String(40), nullable=False),
        sa.Column("detail", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_case_timeline_case_id", "case_timeline", ["case_id"])
    op.add_column("alert_timeline", sa.Column("actor_name", sa.String(200)))
    op.add_column("alert_timeline", sa.Column("actor_roles", sa.String(200)))
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        _at("at"),
        sa.Column("change", sa.String(40), nullable=False),
        sa.Column("detail", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_alert_deliveries_alert_id", "alert_deliveries", ["alert_id"])
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "rule_id", sa.Uuid(), sa.ForeignKey("rules.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("target_kind", sa.String(20), nullable=False),
        sa.Column("target_value", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.Uuid()),
        sa.Column("case_id", sa.Uuid()),
        _at("until"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_by_name", sa.String(200)),
        sa.Column("created_by_roles", sa.String(200)),
        _at("created_at"),
        _at("lifted_at", nullable=True),
        sa.Column("lifted_by", sa.String(200)),
    )
    op.create_index("ix_suppressions_rule_id", "suppressions", ["rule_id"])
    op.create_index("ix_suppressions_customer_id", "suppressions", ["customer_id"])
    op.execute(_BACKFILL_CASES)
    op.execute(_LINK_ALERTS)
    op.execute(
        'INSERT INTO case_timeline (case_id, "at", actor, change, detail) '
        "SELECT id, opened_at, 'system', 'opened', convert_to('{\"backfilled\": true}', 'UTF8') "
        "FROM cases"
    )
    op.execute(
        "INSERT INTO cache_versions (name, version) VALUES ('suppressions', 0) "
        "ON CONFLICT (name) DO NOTHING"
    )


# Alerts still open when cases arrive get theirs, as the event path would have grouped them
# (`cases.domain.DEFAULT_POLICY`: custom rules and alerts without a customer apart).
_GROUP = (
    "CASE WHEN customer_id IS NULL OR rule_type = 'custom' THEN 'alert:' || id "
    "ELSE 'customer:' || customer_id END"
)
_BACKFILL_CASES = f"""
INSERT INTO cases (id, group_key, customer_id, customer_name, relationship_manager, status,
    priority, alert_count, opened_at, updated_at, sla_due_at)
SELECT gen_random_uuid(), group_key, (array_agg(customer_id))[1],
    (array_agg(customer_name ORDER BY raised_at DESC))[1],
    (array_agg(relationship_manager ORDER BY raised_at DESC))[1],
    CASE WHEN bool_or(status <> 'new') THEN 'investigating' ELSE 'open' END,
    (ARRAY['low', 'medium', 'high', 'critical'])[max(
        array_position(ARRAY['low', 'medium', 'high', 'critical'], severity::text)
    )],
    count(*), min(raised_at), max(updated_at), min(sla_due_at)
FROM (SELECT *, {_GROUP} AS group_key FROM alerts WHERE status <> 'resolved') AS open_alerts
GROUP BY group_key
"""
_LINK_ALERTS = """
UPDATE alerts SET case_id = cases.id FROM cases
WHERE alerts.status <> 'resolved' AND cases.group_key = CASE
    WHEN alerts.customer_id IS NULL OR alerts.rule_type = 'custom' THEN 'alert:' || alerts.id
    ELSE 'customer:' || alerts.customer_id END
"""


def downgrade() -> None:
    op.execute("DELETE FROM cache_versions WHERE name = 'suppressions'")
    op.drop_table("suppressions")
    op.drop_table("alert_deliveries")
    op.drop_column("alert_timeline", "actor_roles")
    op.drop_column("alert_timeline", "actor_name")
    op.drop_table("case_timeline")
    op.drop_index("ix_alerts_case_id", table_name="alerts")
    op.drop_column("alerts", "case_id")
    op.drop_table("cases")
