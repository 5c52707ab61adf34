"""customer_state blobs stay inline and uncompressed up to ~8 KB (`toast_tuple_target`).

Every transaction rewrites its customer's state (an orjson blob, ~4.5 KB at the median after a
busy day, p99 ~6 KB). Past the default 2 KB target PostgreSQL pglz-compressed every new
version and, since the compressed blob still passed 2 KB, moved it to the TOAST table (two
chunks inserted, the old ones deleted, each with its index entry): ~95 µs of PostgreSQL CPU per
row update. Inline it is ~35 µs, for ~2 KB more WAL per update. Blobs beyond ~8 KB are still
compressed first (storage stays EXTENDED). Applies to rows as they are next written.

Revision ID: scoring_0004
Revises: scoring_0003
"""

from collections.abc import Sequence

from alembic import op

from riskwatch_scoring.models import CUSTOMER_STATE_TOAST_TUPLE_TARGET

revision: str = "scoring_0004"
down_revision: str | None = "scoring_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        f"ALTER TABLE customer_state SET (toast_tuple_target = {CUSTOMER_STATE_TOAST_TUPLE_TARGET})"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE customer_state RESET (toast_tuple_target)")
