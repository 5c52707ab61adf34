"""customer_state.as_of: the event time each customer's state is current to.

The newest of the customer's transaction, interaction and assessment times (event time, never
the machine clock). Its maximum is the stream's time, the clock of the re-assessment of idle
customers, so a backfill or a replay ages customers as live traffic would. Existing rows start
at their last write. Not indexed, like `updated_at` before it: the column changes with nearly
every write, and an index would turn those HOT updates into full ones for an hourly scan.

Revision ID: scoring_0007
Revises: scoring_0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scoring_0007"
down_revision: str | None = "scoring_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("customer_state", sa.Column("as_of", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE customer_state SET as_of = updated_at")


def downgrade() -> None:
    op.drop_column("customer_state", "as_of")
