"""From consumed events to what rules read (pure: no I/O).

Each trigger event becomes an `EvaluationInput`: the event's own fields plus the customer's
latest known features and risk levels (`CustomerSnapshot`, kept by the consumer). The input
is stored, compactly (catalogue fields only, no missing values), in the evaluation history,
so a backtest replays exactly what live evaluation saw.

`scoring.transaction_scored.v2` (typed features, the transaction's fields said once) is the
same fact as v1: rules that name v1 trigger on both, and the input of either is the same
(`RULE_EVENT_TYPE`), so rules, evaluation history and backtests span a rollout unchanged.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import msgspec
import orjson

from riskwatch_alerting.rules.compiler import number_or_none
from riskwatch_alerting.rules.fields import FIELD_CATALOGUE, FieldType
from riskwatch_alerting.rules.windows import GroupKey
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.common import Reason, TransactionData
from riskwatch_shared.events.customer import (
    AccountChanged,
    CreditRecordAdded,
    FinancialProfileUpdated,
    InteractionLogged,
)
from riskwatch_shared.events.scoring import (
    CustomerAssessed,
    CustomerFeatures,
    CustomerRiskLevelChanged,
    CustomerRiskLevels,
    TransactionScored,
    TransactionScoredV2,
    TransactionSignals,
)

NAMESPACE_NAMES: tuple[str, ...] = ("txn", "customer", "risk", "score", "event")

# Event types a rule may trigger on.
TRIGGER_EVENT_TYPES: tuple[str, ...] = (
    "scoring.transaction_scored.v1",
    "scoring.customer_risk_level_changed.v1",
    "scoring.customer_assessed.v1",
    "customer.credit_record_added.v1",
    "customer.financial_profile_updated.v1",
    "customer.interaction_logged.v1",
    "customer.account_changed.v1",
)
# A later version of an event triggers the rules that name its first version, as that type.
RULE_EVENT_TYPE: dict[str, str] = {
    "scoring.transaction_scored.v2": "scoring.transaction_scored.v1",
}
_RISK_KINDS = ("credit", "anomaly", "churn", "overall")
_FIELDS_BY_NAMESPACE: dict[str, dict[str, FieldType]] = {}
for _path, _spec in FIELD_CATALOGUE.items():
    _namespace, _name = _path.split(".", 1)
    _FIELDS_BY_NAMESPACE.setdefault(_namespace, {})[_name] = _spec.type

# What rules can read of a v2 event's typed features: only these are taken out of the event
# (the rest of the customer's state keeps only catalogue fields anyway).
CUSTOMER_FEATURES_READ: tuple[str, ...] = tuple(
    name for name in _FIELDS_BY_NAMESPACE["customer"] if name in CustomerFeatures.__struct_fields__
)
TRANSACTION_SIGNALS_READ: tuple[str, ...] = tuple(
    name for name in _FIELDS_BY_NAMESPACE["txn"] if name in TransactionSignals.__struct_fields__
)


@dataclass
class CustomerSnapshot:
    """What the alerting service knows about one customer between events."""

    features: dict[str, Any] = field(default_factory=dict)
    levels: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    sequence: int = 0


@dataclass
class EvaluationInput:
    """One trigger event as rules see it."""

    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    customer_id: uuid.UUID | None
    transaction_id: uuid.UUID | None
    namespaces: dict[str, dict[str, Any]]
    reasons: list[str] = field(default_factory=list)
    # The event's reasons, each code once (as JSON only when an alert needs them).
    source_reasons: tuple[Reason, ...] = field(default=(), repr=False, compare=False)
    # When the thing happened, when the event says (a credit record's as-of date).
    happened: datetime | None = None
    # The trigger's trace id: the alert events it causes carry it on.
    trace_id: str | None = None
    # The window groups the event reads, computed once (see evaluation.group_keys_of).
    cached_group_keys: list[GroupKey] | None = field(default=None, repr=False, compare=False)

    @property
    def txn(self) -> dict[str, Any]:
        return self.namespaces.get("txn", {})

    @property
    def coded_reasons(self) -> list[dict[str, Any]]:
        """The reasons with their codes, parameters, contributions and advice."""
        return [msgspec.to_builtins(reason) for reason in self.source_reasons]

    @property
    def happened_at(self) -> datetime:
        """When the thing happened: the transaction's time, the record's as-of date, else
        the event's own time."""
        return self.happened or self.occurred_at

    @property
    def is_transaction(self) -> bool:
        return self.transaction_id is not None


def transaction_fields(txn: TransactionData, features: Mapping[str, Any]) -> dict[str, Any]:
    """The txn namespace: scoring's transaction features, then the exact stored transaction."""
    values: dict[str, Any] = dict(features)
    occurred_at = txn.occurred_at.astimezone(UTC)
    values.update(
        external_id=txn.external_id,
        customer_id=str(txn.customer_id),
        account_id=None if txn.account_id is None else str(txn.account_id),
        direction=txn.direction,
        amount=txn.amount,
        currency=txn.currency,
        channel=txn.channel,
        counterparty_name=txn.counterparty_name,
        counterparty_account=txn.counterparty_account,
        counterparty_bank=txn.counterparty_bank,
        counterparty_country=txn.counterparty_country,
        mcc=txn.merchant_category_code,
        device_id=txn.device_id,
        ip=txn.ip_address,
        country=txn.country,
        status=txn.status,
        occurred_at=occurred_at,
        hour=occurred_at.hour,
        weekday=occurred_at.weekday(),
    )
    return values


def normalise_levels(levels: Mapping[str, Any]) -> dict[str, Any]:
    """`{"credit": "high"}` or `{"credit_level": "high"}` -> `{"credit_level": "high"}`."""
    normalised: dict[str, Any] = {}
    for key, value in levels.items():
        if key in _RISK_KINDS:
            normalised[f"{key}_level"] = value
        elif key.endswith("_level") or key.endswith("_pd") or key.endswith("_probability"):
            normalised[key] = value
    return normalised


def levels_of(levels: CustomerRiskLevels) -> dict[str, Any]:
    """A v2 event's levels as `normalise_levels` names them (`credit_level`...), set ones only."""
    named = {f"{kind}_level": getattr(levels, kind) for kind in _RISK_KINDS}
    return {key: level for key, level in named.items() if level is not None}


def transaction_features_of(event: TransactionScored | TransactionScoredV2) -> Mapping[str, Any]:
    """The event's transaction features (of a v2 event, those rules can read), by name."""
    if isinstance(event, TransactionScored):
        return event.transaction_features
    signals = event.transaction_features
    return {name: getattr(signals, name) for name in TRANSACTION_SIGNALS_READ}


def risk_fields(snapshot: CustomerSnapshot) -> dict[str, Any]:
    values = dict(snapshot.levels)
    if "credit" in snapshot.scores:
        values["credit_pd"] = snapshot.scores["credit"]
    if "churn" in snapshot.scores:
        values["churn_probability"] = snapshot.scores["churn"]
    return values


def apply_event(snapshot: CustomerSnapshot, event: Event) -> dict[str, Any]:
    """Fold `event` into the customer's snapshot; returns the risk-change flags it implies."""
    flags: dict[str, Any] = {}
    if isinstance(event, TransactionScoredV2):
        features, given = snapshot.features, event.customer_features
        for name in CUSTOMER_FEATURES_READ:
            features[name] = getattr(given, name)
        snapshot.levels.update(levels_of(event.risk_levels))
    elif isinstance(event, TransactionScored):
        snapshot.features.update(event.customer_features)
        snapshot.levels.update(normalise_levels(event.risk_levels))
    elif isinstance(event, CustomerAssessed):
        previous = dict(snapshot.levels)
        snapshot.features.update(event.customer_features)
        if event.sequence >= snapshot.sequence:
            snapshot.levels.update(normalise_levels(event.levels))
            snapshot.scores.update(event.scores)
            snapshot.sequence = event.sequence
        flags = _level_flags(previous, snapshot.levels)
    elif isinstance(event, CustomerRiskLevelChanged):
        key = f"{event.model_kind}_level"
        flags = {f"previous_{key}": event.from_level, f"{event.model_kind}_level_changed": True}
        if event.sequence >= snapshot.sequence:
            snapshot.levels[key] = event.to_level
            snapshot.scores[event.model_kind] = event.score
        flags[key] = event.to_level
    elif isinstance(event, CreditRecordAdded):
        _apply_credit_record(snapshot, event)
    elif isinstance(event, FinancialProfileUpdated):
        _apply_financial_profile(snapshot, event)
    elif isinstance(event, InteractionLogged):
        features = snapshot.features
        features["interactions_90d"] = _int(features.get("interactions_90d")) + 1
        if event.interaction.channel == "complaint":
            features["complaints_90d"] = _int(features.get("complaints_90d")) + 1
        features["days_since_last_interaction"] = 0
    return flags


def _level_flags(previous: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    for kind in ("credit", "churn"):
        key = f"{kind}_level"
        before, after = previous.get(key), current.get(key)
        flags[f"previous_{key}"] = before
        flags[f"{kind}_level_changed"] = before is not None and after != before
    return flags


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float | Decimal) else 0


def _apply_credit_record(snapshot: CustomerSnapshot, event: CreditRecordAdded) -> None:
    record, features = event.credit_record, snapshot.features
    for name in ("delinquencies_30", "delinquencies_60", "delinquencies_90", "missed_payments"):
        features[name] = getattr(record, name)
    if record.utilisation is not None:
        features["utilisation"] = record.utilisation
    elif record.credit_limit > 0:
        features["utilisation"] = record.outstanding_debt / record.credit_limit
    if record.source == "bureau" and record.credit_score is not None:
        previous = features.get("bureau_score")
        if isinstance(previous, int | float | Decimal):
            features["bureau_score_change"] = record.credit_score - Decimal(str(previous))
        features["bureau_score"] = record.credit_score


def _apply_financial_profile(snapshot: CustomerSnapshot, event: FinancialProfileUpdated) -> None:
    profile, features = event.financial_profile, snapshot.features
    liabilities = sum(profile.liabilities.values(), Decimal(0))
    assets = sum(profile.assets.values(), Decimal(0))
    for name, latest in (("income", profile.annual_income), ("liabilities", liabilities)):
        stored = features.get("annual_income" if name == "income" else "total_liabilities")
        if isinstance(stored, int | float | Decimal) and stored:
            previous = Decimal(str(stored))
            features[f"{name}_change_pct"] = (latest - previous) / abs(previous) * 100
    features["annual_income"] = profile.annual_income
    features["total_liabilities"] = liabilities
    features["net_worth"] = assets - liabilities


def build_input(
    event: Event, snapshot: CustomerSnapshot, flags: Mapping[str, Any]
) -> EvaluationInput:
    """The evaluation input of a trigger event, after `apply_event` updated the snapshot."""
    txn: dict[str, Any] = {}
    score: dict[str, Any] = {}
    given: list[Reason] = []
    transaction_id = None
    happened: datetime | None = None
    if isinstance(event, TransactionScored | TransactionScoredV2):
        txn = transaction_fields(event.transaction, transaction_features_of(event))
        score = {"anomaly": event.anomaly_score, "anomaly_level": event.anomaly_level}
        given = list(event.reasons)
        transaction_id = event.transaction.transaction_id
    elif isinstance(event, CustomerRiskLevelChanged):
        given, happened = list(event.reasons), event.happened_at
    elif isinstance(event, CustomerAssessed):
        ranked = (reason for group in event.reasons.values() for reason in group)
        given = sorted(ranked, key=lambda reason: -reason.contribution)
        happened = event.happened_at
    elif isinstance(event, CreditRecordAdded):
        happened = _midnight(event.credit_record.as_of)
    elif isinstance(event, FinancialProfileUpdated):
        happened = _midnight(event.financial_profile.as_of)
    elif isinstance(event, InteractionLogged):
        happened = event.interaction.occurred_at
    elif isinstance(event, AccountChanged):
        txn = {"account_id": str(event.account.account_id), "customer_id": str(event.customer_id)}
    coded = _coded(given)
    event_type = RULE_EVENT_TYPE.get(event.type, event.type)
    risk = {**risk_fields(snapshot), **flags}
    namespaces = {
        "txn": txn,
        "customer": snapshot.features,  # compact copies
        "risk": risk,
        "score": score,
        "event": {"type": event_type},
    }
    occurred_at = None
    if isinstance(event, TransactionScored | TransactionScoredV2):
        occurred_at = event.transaction.occurred_at
    return EvaluationInput(
        event_id=event.id,
        event_type=event_type,
        # Event time: windows and cooldowns run on the stream's time, so a replay of the past
        # raises what live traffic raised; the publication time only when no other is known.
        occurred_at=(occurred_at or happened or event.occurred_at).astimezone(UTC),
        customer_id=event.customer_id,
        transaction_id=transaction_id,
        namespaces=compact(namespaces),
        reasons=[reason_sentence(reason) for reason in coded],
        source_reasons=coded,
        happened=None if happened is None else happened.astimezone(UTC),
        trace_id=event.trace_id,
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _coded(reasons: list[Reason]) -> tuple[Reason, ...]:
    """Each reason code once (the first, strongest)."""
    seen: set[str] = set()
    kept = []
    for reason in reasons:
        if reason.code not in seen:
            seen.add(reason.code)
            kept.append(reason)
    return tuple(kept)


def reason_sentence(reason: Reason) -> str:
    """ "missed payments 3 — contact the customer and agree a repayment schedule"."""
    return f"{reason.message} — {reason.advice}" if reason.advice else reason.message


def compact(namespaces: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Only the values a rule can read (catalogue fields and group ids), none missing."""
    return {
        namespace: compact_namespace(namespace, namespaces.get(namespace, _NOTHING))
        for namespace in NAMESPACE_NAMES
    }


_NOTHING: Mapping[str, Any] = {}
_NUMBER = FieldType.NUMBER


def compact_namespace(namespace: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """One namespace of `compact`: floats become the Decimal of their shortest repr once here,
    not in every rule."""
    known = _FIELDS_BY_NAMESPACE.get(namespace, _NOTHING)
    kept: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        field_type = known.get(name)
        if field_type is None:
            continue
        if field_type is _NUMBER and isinstance(value, float):
            value = number_or_none(value)
        kept[name] = value
    return kept


_PLAIN = (str, int, float, bool, type(None))


def to_json(value: Any) -> Any:
    """JSON-safe form: Decimal -> str, datetime -> ISO text, UUID -> str."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json(item) for item in value]
    return value


def json_bytes(value: Any) -> bytes:
    """`to_json(value)` as JSON (UTF-8 bytes), encoded by orjson (the standard library for
    what orjson refuses, such as integers past 64 bits): what the bytea JSON columns hold."""
    try:
        return orjson.dumps(value, default=_orjson_default)
    except TypeError:
        return json.dumps(to_json(value)).encode()


def _orjson_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return list(value)
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def namespaces_from_json(stored: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Undo `to_json` using the catalogue's types: numbers back to Decimal, times to datetime."""
    restored: dict[str, dict[str, Any]] = {}
    for namespace, values in stored.items():
        types = _FIELDS_BY_NAMESPACE.get(namespace, {})
        restored[namespace] = {
            name: _restore(types.get(name), value) for name, value in values.items()
        }
    return restored


def _restore(field_type: FieldType | None, value: Any) -> Any:
    if isinstance(value, str):
        if field_type is FieldType.NUMBER:
            return Decimal(value)
        if field_type is FieldType.TIMESTAMP:
            return datetime.fromisoformat(value)
    return value
