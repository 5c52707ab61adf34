"""customer_owners: each customer's relationship manager, from customer events.

Relationship managers see only their own customers' risk, features and history: the
customer service says who owns whom in `customer.created.v1` / `customer.updated.v1`.

Revision ID: scoring_0005
Revises: scoring_0004
"""

from collections.abc import Sequence

from riskwatch_shared.ownership import create_owners_table, drop_owners_table

revision: str = "scoring_0005"
down_revision: str | None = "scoring_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_owners_table()


def downgrade() -> None:
    drop_owners_table()
