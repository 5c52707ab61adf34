"""customer_owners: each customer's relationship manager, from the alerts raised about them.

Relationship managers see only their own customers' alert notifications and inbox items.
Filled at once from the alerts notify already holds (the newest alert of each customer).

Revision ID: notify_0004
Revises: notify_0003
"""

from collections.abc import Sequence

from alembic import op

from riskwatch_shared.ownership import create_owners_table, drop_owners_table

revision: str = "notify_0004"
down_revision: str | None = "notify_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_owners_table()
    op.execute(
        "INSERT INTO customer_owners (customer_id, relationship_manager, as_of) "
        "SELECT DISTINCT ON (customer_id) customer_id, payload->>'relationship_manager', "
        "raised_at FROM ("
        "  SELECT (payload->>'customer_id')::uuid AS customer_id, payload, raised_at"
        "  FROM alerts WHERE payload->>'customer_id' IS NOT NULL"
        ") AS raised ORDER BY customer_id, raised_at DESC"
    )


def downgrade() -> None:
    drop_owners_table()
