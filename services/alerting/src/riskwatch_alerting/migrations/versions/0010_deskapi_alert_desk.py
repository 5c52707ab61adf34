"""The alert desk: queue indexes, and a change sequence with a NOTIFY for the live stream.

Every insert or update of an alert takes the next `alert_change_seq` (the `change_seq`
column: the SSE stream's event id, so a reconnecting desk resumes where it left off), and each
statement that changed alerts sends `NOTIFY riskwatch_alerts` at commit (one per transaction:
PostgreSQL folds identical notifications), which wakes the streams of every replica.

Revision ID: alerting_0010_deskapi
Revises: alerting_0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alerting_0010_deskapi"
down_revision: str | None = "alerting_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "riskwatch_alerts"
OPEN = sa.text("status <> 'resolved'")
OPEN_CASES = sa.text("status <> 'closed'")


def upgrade() -> None:
    op.execute("CREATE SEQUENCE alert_change_seq AS bigint")
    op.add_column("alerts", sa.Column("change_seq", sa.BigInteger()))
    # Existing alerts in the order they last changed, so a first stream starts after them.
    op.execute(
        "UPDATE alerts SET change_seq = ordered.seq FROM ("
        " SELECT id, nextval('alert_change_seq') AS seq FROM ("
        "  SELECT id FROM alerts ORDER BY updated_at, id) AS by_change) AS ordered"
        " WHERE alerts.id = ordered.id"
    )
    op.alter_column(
        "alerts",
        "change_seq",
        nullable=False,
        server_default=sa.text("nextval('alert_change_seq')"),
    )
    op.execute(
        """
        CREATE FUNCTION alert_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.change_seq := nextval('alert_change_seq');
            RETURN NEW;
        END $$;
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION alerts_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END $$;
        """
    )
    op.execute(
        "CREATE TRIGGER alert_change_seq BEFORE UPDATE ON alerts "
        "FOR EACH ROW EXECUTE FUNCTION alert_changed()"
    )
    op.execute(
        "CREATE TRIGGER alerts_notify AFTER INSERT OR UPDATE ON alerts "
        "FOR EACH STATEMENT EXECUTE FUNCTION alerts_notify()"
    )
    op.create_index("ix_alerts_change_seq", "alerts", ["change_seq"], unique=True)
    # The desk's queues, newest first: mine, my team's, unassigned, by status; and by SLA.
    op.create_index("ix_alerts_assignee_raised_at", "alerts", ["assignee", "raised_at"])
    op.create_index("ix_alerts_team_raised_at", "alerts", ["assignee_team", "raised_at"])
    op.create_index("ix_alerts_status_raised_at", "alerts", ["status", "raised_at"])
    op.create_index(
        "ix_alerts_unassigned_raised_at",
        "alerts",
        ["raised_at"],
        postgresql_where=sa.text("assignee IS NULL"),
    )
    op.create_index("ix_alerts_open_sla_due_at", "alerts", ["sla_due_at"], postgresql_where=OPEN)
    op.create_index("ix_cases_assignee", "cases", ["assignee"], postgresql_where=OPEN_CASES)


def downgrade() -> None:
    op.drop_index("ix_cases_assignee", table_name="cases")
    for name in (
        "ix_alerts_open_sla_due_at",
        "ix_alerts_unassigned_raised_at",
        "ix_alerts_status_raised_at",
        "ix_alerts_team_raised_at",
        "ix_alerts_assignee_raised_at",
        "ix_alerts_change_seq",
    ):
        op.drop_index(name, table_name="alerts")
    op.execute("DROP TRIGGER alerts_notify ON alerts")
    op.execute("DROP TRIGGER alert_change_seq ON alerts")
    op.execute("DROP FUNCTION alerts_notify()")
    op.execute("DROP FUNCTION alert_changed()")
    op.drop_column("alerts", "change_seq")
    op.execute("DROP SEQUENCE alert_change_seq")
