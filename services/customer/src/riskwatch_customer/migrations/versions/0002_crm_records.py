"""CRM records: customers, credit records, financial profiles, accounts, interactions,
transactions, idempotency keys, risk levels, audit log.

Revision ID: customer_0002
Revises: customer_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "customer_0002"
down_revision: str | None = "customer_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(20, 4)


def _now() -> sa.TextClause:
    return sa.text("now()")


def _customer_fk() -> sa.Column[sa.Uuid[object]]:
    return sa.Column("customer_id", sa.Uuid(), sa.ForeignKey("customers.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("document_type", sa.String(40), nullable=False),
        sa.Column("document_number", sa.String(80), nullable=False),
        sa.Column("phone", sa.String(40)),
        sa.Column("email", sa.String(320)),
        sa.Column("address", sa.Text()),
        sa.Column("country", sa.CHAR(2)),
        sa.Column("segment", sa.String(60)),
        sa.Column("kyc_status", sa.String(20), nullable=False),
        sa.Column("relationship_manager", sa.String(120)),
        sa.Column("tags", postgresql.ARRAY(sa.String(60)), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.UniqueConstraint("document_type", "document_number", name="uq_customers_document"),
    )
    op.create_index("ix_customers_created_at_id", "customers", ["created_at", "id"])
    op.create_index("ix_customers_relationship_manager", "customers", ["relationship_manager"])
    op.create_index("ix_customers_phone", "customers", ["phone"])
    op.create_index("ix_customers_segment", "customers", ["segment"])

    op.create_table(
        "credit_records",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _customer_fk(),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("credit_score", sa.Integer()),
        sa.Column("delinquencies_30", sa.Integer(), nullable=False),
        sa.Column("delinquencies_60", sa.Integer(), nullable=False),
        sa.Column("delinquencies_90", sa.Integer(), nullable=False),
        sa.Column("missed_payments", sa.Integer(), nullable=False),
        sa.Column("outstanding_debt", MONEY, nullable=False),
        sa.Column("credit_limit", MONEY, nullable=False),
        sa.Column("utilisation", sa.Numeric(12, 4)),
        sa.Column("defaults", sa.Integer(), nullable=False),
        sa.Column("recent_inquiries", sa.Integer(), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.create_index(
        "ix_credit_records_customer", "credit_records", ["customer_id", "as_of", "created_at"]
    )

    op.create_table(
        "financial_profiles",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _customer_fk(),
        sa.Column("annual_income", MONEY, nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("assets", postgresql.JSONB(), nullable=False),
        sa.Column("liabilities", postgresql.JSONB(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.create_index(
        "ix_financial_profiles_customer",
        "financial_profiles",
        ["customer_id", "as_of", "created_at"],
    )

    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _customer_fk(),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("opened_at", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.Date()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.UniqueConstraint("number", name="uq_accounts_number"),
    )
    op.create_index("ix_accounts_customer", "accounts", ["customer_id", "created_at"])

    op.create_table(
        "interactions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _customer_fk(),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text()),
        sa.Column("staff_member", sa.String(120)),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )
    op.create_index("ix_interactions_customer", "interactions", ["customer_id", "created_at", "id"])

    op.create_table(
        "transactions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("external_id", sa.String(128), nullable=False),
        _customer_fk(),
        sa.Column("account_id", sa.Uuid(), sa.ForeignKey("accounts.id")),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("counterparty_name", sa.String(300)),
        sa.Column("counterparty_account", sa.String(64)),
        sa.Column("counterparty_bank", sa.String(120)),
        sa.Column("counterparty_country", sa.CHAR(2)),
        sa.Column("merchant_category_code", sa.String(4)),
        sa.Column("device_id", sa.String(128)),
        sa.Column("ip_address", sa.String(45)),
        sa.Column("country", sa.CHAR(2)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("external_id", name="uq_transactions_external_id"),
    )
    op.create_index(
        "ix_transactions_customer", "transactions", ["customer_id", "received_at", "id"]
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_fingerprint", sa.CHAR(64), nullable=False),
        sa.Column("transaction_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    )

    op.create_table(
        "customer_risk_levels",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        *(
            column
            for kind in ("credit", "anomaly", "churn", "overall")
            for column in (
                sa.Column(f"{kind}_level", sa.String(10)),
                sa.Column(f"{kind}_sequence", sa.BigInteger()),
            )
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_customer_risk_levels_overall", "customer_risk_levels", ["overall_level"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("entity_type", sa.String(40), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("changes", postgresql.JSONB(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audit_log_customer", "audit_log", ["customer_id", "at", "id"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "customer_risk_levels",
        "idempotency_keys",
        "transactions",
        "interactions",
        "accounts",
        "financial_profiles",
        "credit_records",
        "customers",
    ):
        op.drop_table(table)
