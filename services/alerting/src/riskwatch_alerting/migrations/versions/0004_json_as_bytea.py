"""The event path's JSON columns become bytea holding orjson's bytes.

Nobody queries inside these columns; as jsonb, PostgreSQL parsed every value on the way in
(per event: customer state, window groups, evaluation history; per hit: alerts, occurrences,
timeline) and printed it back as text on the way out. Existing values are kept as their
jsonb text, which reads back as the same JSON.

The tables the consumer updates in place every batch (customer states, window groups, the
occurrence counts of alerts) leave a fifth of each page free, so an update can stay on its
page (a HOT update: no new index entries).

Revision ID: alerting_0004_json_bytea
Revises: alerting_0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "alerting_0004_json_bytea"
down_revision: str | None = "alerting_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS: dict[str, tuple[str, ...]] = {
    "customer_state": ("features", "levels", "scores"),
    "window_groups": ("state",),
    "evaluation_history": ("context",),
    "alerts": ("evidence", "scores", "reasons", "suggested_actions"),
    "alert_occurrences": ("evidence",),
    "alert_timeline": ("detail",),
}
UPDATED_IN_PLACE = ("customer_state", "window_groups", "alerts")


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        changes = ", ".join(
            f"ALTER COLUMN {column} TYPE bytea USING convert_to({column}::text, 'UTF8')"
            for column in columns
        )
        op.execute(f"ALTER TABLE {table} {changes}")
    for table in UPDATED_IN_PLACE:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = 80)")


def downgrade() -> None:
    for table in UPDATED_IN_PLACE:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    for table, columns in COLUMNS.items():
        changes = ", ".join(
            f"ALTER COLUMN {column} TYPE jsonb USING convert_from({column}, 'UTF8')::jsonb"
            for column in columns
        )
        op.execute(f"ALTER TABLE {table} {changes}")
