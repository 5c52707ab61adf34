"""This week's top risers from the rollup itself: `customer_risk_current` keeps, beside each
customer's current score per kind, their last score before the current UTC week (ISO, from
Monday) began: `week_of`, `week_score`, `week_level`, `week_score_at`. The trigger keeps them
per batch (the newest pre-week score of the stored row and of the batch wins), so the risers
are one scan of the rollup rather than a probe of the assessments per customer. Backfilled
from the assessments there are.

Revision ID: scoring_0010
Revises: scoring_0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scoring_0010"
down_revision: str | None = "scoring_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Per (customer, kind) of a batch: its newest assessment and, before that one's week began,
# the newest earlier one of the batch; upserted against what is stored.
UPSERT = """
WITH batch AS (
    SELECT customer_id, kind, level, score, assessed_at, id FROM {source} WHERE NOT is_shadow
), latest AS (
    SELECT DISTINCT ON (customer_id, kind) customer_id, kind, level, score, assessed_at,
           date_trunc('week', assessed_at AT TIME ZONE 'UTC') AS week
    FROM batch ORDER BY customer_id, kind, assessed_at DESC, id DESC
), before AS (
    SELECT DISTINCT ON (b.customer_id, b.kind) b.customer_id, b.kind, b.level, b.score,
           b.assessed_at
    FROM batch b JOIN latest l ON l.customer_id = b.customer_id AND l.kind = b.kind
    WHERE (b.assessed_at AT TIME ZONE 'UTC') < l.week
    ORDER BY b.customer_id, b.kind, b.assessed_at DESC, b.id DESC
)
INSERT INTO customer_risk_current AS c (customer_id, kind, level, score, assessed_at, week_of,
                                        week_score, week_level, week_score_at)
SELECT l.customer_id, l.kind, l.level, l.score, l.assessed_at, l.week::date, b.score, b.level,
       b.assessed_at
FROM latest l LEFT JOIN before b ON b.customer_id = l.customer_id AND b.kind = l.kind
ORDER BY l.customer_id, l.kind
ON CONFLICT (customer_id, kind) DO UPDATE SET
    level = EXCLUDED.level, score = EXCLUDED.score, assessed_at = EXCLUDED.assessed_at,
    week_of = EXCLUDED.week_of,
    week_score = CASE
        WHEN EXCLUDED.week_score_at > COALESCE(CASE WHEN c.week_of = EXCLUDED.week_of
             THEN c.week_score_at ELSE c.assessed_at END, '-infinity') THEN EXCLUDED.week_score
        WHEN c.week_of = EXCLUDED.week_of THEN c.week_score ELSE c.score END,
    week_level = CASE
        WHEN EXCLUDED.week_score_at > COALESCE(CASE WHEN c.week_of = EXCLUDED.week_of
             THEN c.week_score_at ELSE c.assessed_at END, '-infinity') THEN EXCLUDED.week_level
        WHEN c.week_of = EXCLUDED.week_of THEN c.week_level ELSE c.level END,
    week_score_at = CASE
        WHEN EXCLUDED.week_score_at > COALESCE(CASE WHEN c.week_of = EXCLUDED.week_of
             THEN c.week_score_at ELSE c.assessed_at END, '-infinity') THEN EXCLUDED.week_score_at
        WHEN c.week_of = EXCLUDED.week_of THEN c.week_score_at ELSE c.assessed_at END
WHERE c.assessed_at <= EXCLUDED.assessed_at
"""

PREVIOUS_UPSERT = """
INSERT INTO customer_risk_current (customer_id, kind, level, score, assessed_at)
SELECT DISTINCT ON (customer_id, kind) customer_id, kind, level, score, assessed_at
FROM new_assessments WHERE NOT is_shadow
ORDER BY customer_id, kind, assessed_at DESC, id DESC
ON CONFLICT (customer_id, kind) DO UPDATE
SET level = EXCLUDED.level, score = EXCLUDED.score, assessed_at = EXCLUDED.assessed_at
WHERE customer_risk_current.assessed_at <= EXCLUDED.assessed_at
"""


def _function(body: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION customer_risk_current_upsert() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$\nBEGIN\n{body};\nRETURN NULL;\nEND $$"
    )


def upgrade() -> None:
    op.add_column("customer_risk_current", sa.Column("week_of", sa.Date(), nullable=True))
    op.add_column("customer_risk_current", sa.Column("week_score", sa.Float(), nullable=True))
    op.add_column("customer_risk_current", sa.Column("week_level", sa.String(16), nullable=True))
    op.add_column(
        "customer_risk_current",
        sa.Column("week_score_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_customer_risk_current_kind_week", "customer_risk_current", ["kind", "week_of"]
    )
    op.execute(_function(UPSERT.format(source="new_assessments")))
    # The backfill: the rollup rebuilt from every assessment, the week baselines with it.
    op.execute("DELETE FROM customer_risk_current")
    op.execute(UPSERT.format(source="assessment"))


def downgrade() -> None:
    op.execute(_function(PREVIOUS_UPSERT))
    op.drop_index("ix_customer_risk_current_kind_week", "customer_risk_current")
    for column in ("week_score_at", "week_level", "week_score", "week_of"):
        op.drop_column("customer_risk_current", column)
