"""The dashboards' rollups: each customer's current level per kind, and who they are.

`customer_risk_current` is kept by a statement-level trigger on `assessment` with a transition
table: one upsert per INSERT or COPY batch (the event path writes assessments by COPY), never a
row trigger on the hot path. The newest assessment wins; a late, older one changes nothing.
Backfilled here from the assessments there are. `customer_directory` (name, segment) is filled
by the customer-event consumer.

Revision ID: scoring_0009
Revises: scoring_0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scoring_0009"
down_revision: str | None = "scoring_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPSERT = """
INSERT INTO customer_risk_current (customer_id, kind, level, score, assessed_at)
SELECT DISTINCT ON (customer_id, kind) customer_id, kind, level, score, assessed_at
FROM {source} WHERE NOT is_shadow
ORDER BY customer_id, kind, assessed_at DESC, id DESC
ON CONFLICT (customer_id, kind) DO UPDATE
SET level = EXCLUDED.level, score = EXCLUDED.score, assessed_at = EXCLUDED.assessed_at
WHERE customer_risk_current.assessed_at <= EXCLUDED.assessed_at
"""


def upgrade() -> None:
    op.create_table(
        "customer_risk_current",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "kind", name="pk_customer_risk_current"),
    )
    op.create_index(
        "ix_customer_risk_current_kind_assessed", "customer_risk_current", ["kind", "assessed_at"]
    )
    op.create_table(
        "customer_directory",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(300), nullable=True),
        sa.Column("segment", sa.String(80), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_customer_directory"),
    )
    op.execute(
        "CREATE FUNCTION customer_risk_current_upsert() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{UPSERT.format(source='new_assessments')};\nRETURN NULL;\nEND $$"
    )
    op.execute(
        "CREATE TRIGGER assessment_current_risk AFTER INSERT ON assessment "
        "REFERENCING NEW TABLE AS new_assessments FOR EACH STATEMENT "
        "EXECUTE FUNCTION customer_risk_current_upsert()"
    )
    op.execute(UPSERT.format(source="assessment"))


def downgrade() -> None:
    op.execute("DROP TRIGGER assessment_current_risk ON assessment")
    op.execute("DROP FUNCTION customer_risk_current_upsert()")
    op.drop_table("customer_directory")
    op.drop_table("customer_risk_current")
