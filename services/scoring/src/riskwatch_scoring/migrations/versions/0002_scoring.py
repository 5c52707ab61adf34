"""Customer state, model registry, assessments and outcome labels.

Revision ID: scoring_0002
Revises: scoring_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "scoring_0002"
down_revision: str | None = "scoring_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "customer_state",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("customer_id", name="pk_customer_state"),
    )
    op.create_table(
        "scoring_model",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(80), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("model_json", JSONB(), nullable=False),
        sa.Column("metrics", JSONB(), nullable=True),
        sa.Column("training_fingerprint", sa.String(64), nullable=True),
        sa.Column("features", JSONB(), nullable=False),
        sa.Column("baseline_scores", JSONB(), nullable=True),
        sa.Column("drift_alerted_on", sa.Date(), nullable=True),
        _created_at(),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_scoring_model"),
    )
    op.create_index(
        "uq_scoring_model_kind_version", "scoring_model", ["kind", "version"], unique=True
    )
    op.create_index(
        "uq_scoring_model_one_champion",
        "scoring_model",
        ["kind"],
        unique=True,
        postgresql_where=sa.text("status = 'champion'"),
    )
    op.create_table(
        "assessment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("model_version", sa.String(80), nullable=False),
        sa.Column("inputs_hash", sa.String(64), nullable=False),
        sa.Column("reasons", JSONB(), nullable=False),
        sa.Column("is_shadow", sa.Boolean(), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=True),
        sa.Column("trigger_event_type", sa.String(80), nullable=False),
        sa.Column("trigger_event_id", sa.Uuid(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("features", JSONB(), nullable=True),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assessment"),
    )
    op.create_index("ix_assessment_customer_assessed", "assessment", ["customer_id", "assessed_at"])
    op.create_index("ix_assessment_model_assessed", "assessment", ["model_id", "assessed_at"])
    op.create_table(
        "outcome_label",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("outcome", sa.SmallInteger(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_outcome_label"),
    )
    op.create_index("ix_outcome_label_kind_observed", "outcome_label", ["kind", "observed_at"])


def downgrade() -> None:
    op.drop_table("outcome_label")
    op.drop_table("assessment")
    op.drop_table("scoring_model")
    op.drop_table("customer_state")
