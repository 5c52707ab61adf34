"""The field catalogue: every `namespace.field` a rule may read, with its type."""

from dataclasses import dataclass
from enum import StrEnum


class FieldType(StrEnum):
    NUMBER = "number"
    STRING = "string"
    BOOL = "bool"
    # A risk level: compared with == / in like a string, ordered by LEVEL_RANK with < >.
    LEVEL = "level"
    TIMESTAMP = "timestamp"
    # Only produced by list("name") and tuple literals; valid on the right of `in`.
    STRING_SET = "string-set"
    NUMBER_SET = "number-set"


NAMESPACES: tuple[str, ...] = ("txn", "customer", "risk", "score", "event")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    path: str
    type: FieldType
    description: str


_N, _S, _B, _L, _T = (
    FieldType.NUMBER,
    FieldType.STRING,
    FieldType.BOOL,
    FieldType.LEVEL,
    FieldType.TIMESTAMP,
)

_CATALOGUE_ROWS: tuple[tuple[str, FieldType, str], ...] = (
    ("txn.external_id", _S, "the bank's own transaction id"),
    ("txn.customer_id", _S, "customer id"),
    ("txn.account_id", _S, "account id"),
    ("txn.direction", _S, "inbound or outbound"),
    ("txn.amount", _N, "amount in the transaction currency (Decimal)"),
    ("txn.currency", _S, "ISO 4217 code"),
    ("txn.channel", _S, "card, transfer, atm, online or mobile"),
    ("txn.counterparty_name", _S, "counterparty name"),
    ("txn.counterparty_account", _S, "counterparty account (IBAN or number)"),
    ("txn.counterparty_bank", _S, "counterparty bank (BIC)"),
    ("txn.counterparty_country", _S, "counterparty country, ISO 3166 alpha-2"),
    ("txn.mcc", _S, "merchant category code"),
    ("txn.device_id", _S, "device id"),
    ("txn.ip", _S, "client IP address"),
    ("txn.country", _S, "country where the transaction took place, ISO 3166 alpha-2"),
    ("txn.status", _S, "transaction status"),
    ("txn.occurred_at", _T, "when the transaction happened (UTC)"),
    ("txn.hour", _N, "0-23, UTC hour of occurred_at"),
    ("txn.weekday", _N, "0-6, Monday is 0"),
    ("txn.is_new_country", _B, "first transaction of the customer in this country"),
    ("txn.is_new_device", _B, "first transaction of the customer from this device"),
    ("txn.is_new_counterparty", _B, "first transaction of the customer to this counterparty"),
    ("txn.amount_to_avg_30d", _N, "amount / the customer's 30-day average amount"),
    ("txn.history_count", _N, "the customer's transactions before this one"),
    ("txn.history_days", _N, "days from the customer's first transaction to this one"),
    ("score.anomaly", _N, "anomaly score, 0..1"),
    ("score.anomaly_level", _L, "low, medium, high or critical"),
    ("customer.avg_amount_30d", _N, "average transaction amount over 30 days"),
    ("customer.txn_count_24h", _N, "transactions in the last 24 hours"),
    ("customer.txn_count_30d", _N, "transactions in the last 30 days"),
    ("customer.days_since_last_activity", _N, "days since the last activity"),
    ("customer.balance_trend_90d", _N, "-1..1, balance trend over 90 days"),
    ("customer.activity_trend_90d", _N, "-1..1, activity trend over 90 days"),
    ("customer.inflow_trend_90d", _N, "-1..1, inflows per day: last 30 days against the 60 before"),
    ("customer.outflow_ratio_30d", _N, "0..1, outflows' share of the 30-day turnover"),
    ("customer.complaints_90d", _N, "complaints in 90 days"),
    ("customer.interactions_90d", _N, "interactions in 90 days"),
    ("customer.dormant_accounts", _N, "accounts without activity"),
    ("customer.debt_to_income", _N, "debt-to-income ratio"),
    ("customer.utilisation", _N, "credit utilisation, 0..1"),
    ("customer.delinquencies_30", _N, "payments 30+ days late"),
    ("customer.delinquencies_60", _N, "payments 60+ days late"),
    ("customer.delinquencies_90", _N, "payments 90+ days late"),
    ("customer.missed_payments", _N, "missed payments"),
    ("customer.bureau_score", _N, "credit bureau score"),
    ("customer.bureau_score_change", _N, "change of the bureau score since the last report"),
    ("customer.annual_income", _N, "annual income"),
    ("customer.income_change_pct", _N, "income change in percent"),
    ("customer.total_liabilities", _N, "total liabilities"),
    ("customer.liabilities_change_pct", _N, "liabilities change in percent"),
    ("customer.net_worth", _N, "net worth"),
    ("customer.inflow_sum_30d", _N, "money received in the last 30 days"),
    ("customer.inflow_sum_90d", _N, "money received in the last 90 days"),
    ("customer.inflow_count_30d", _N, "incoming payments in the last 30 days"),
    ("customer.inflow_count_90d", _N, "incoming payments in the last 90 days"),
    ("customer.returned_payments_90d", _N, "outgoing payments failed or reversed in 90 days"),
    ("customer.days_past_due", _N, "days the oldest unpaid instalment is overdue (internal)"),
    ("customer.monthly_instalment", _N, "instalments due per month"),
    ("customer.instalment_to_income", _N, "monthly instalments over monthly income"),
    (
        "customer.instalment_to_income_change",
        _N,
        "change of instalment-to-income since the previous record",
    ),
    ("customer.utilisation_change", _N, "change of utilisation since the previous record"),
    (
        "customer.external_delinquency_days",
        _N,
        "worst delinquency other lenders report to the bureau, days (0, 30, 60, 90)",
    ),
    ("customer.segment", _S, "customer segment"),
    ("risk.credit_level", _L, "current credit risk level"),
    ("risk.anomaly_level", _L, "current anomaly level"),
    ("risk.churn_level", _L, "current churn risk level"),
    ("risk.overall_level", _L, "overall risk level"),
    ("risk.credit_pd", _N, "probability of default, 0..1"),
    ("risk.churn_probability", _N, "churn probability, 0..1"),
    ("risk.credit_level_changed", _B, "the credit level changed with this event"),
    ("risk.churn_level_changed", _B, "the churn level changed with this event"),
    ("risk.previous_credit_level", _L, "credit level before this event"),
    ("risk.previous_churn_level", _L, "churn level before this event"),
    ("event.type", _S, "the triggering event's type"),
)

FIELD_CATALOGUE: dict[str, FieldSpec] = {
    path: FieldSpec(path, field_type, description)
    for path, field_type, description in _CATALOGUE_ROWS
}

# The transaction field each aggregate `by=` groups on.
GROUP_BY_FIELDS: dict[str, str] = {
    "customer": "customer_id",
    "account": "account_id",
    "counterparty": "counterparty_account",
    "device": "device_id",
}
