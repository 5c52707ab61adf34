"""`scoring.transaction_scored.v2` beside v1 during a rollout: the same transaction in either
version gives rules the same input, and every field the catalogue offers still reaches them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from riskwatch_alerting.domain.evaluation_input import (
    CustomerSnapshot,
    EvaluationInput,
    apply_event,
    build_input,
)
from riskwatch_alerting.pipeline import _lock_names
from riskwatch_alerting.rules.fields import FIELD_CATALOGUE
from riskwatch_shared.events.base import Event, parse_event
from riskwatch_shared.events.common import TransactionData
from riskwatch_shared.events.scoring import (
    CustomerFeatures,
    CustomerRiskLevels,
    TransactionScored,
    TransactionScoredV2,
    TransactionSignals,
)

_AT = datetime(2026, 11, 2, 3, 15, tzinfo=UTC)
_CUSTOMER = uuid.UUID(int=7)
_TRANSACTION = TransactionData(
    transaction_id=uuid.UUID(int=8),
    external_id="ext-8",
    customer_id=_CUSTOMER,
    account_id=uuid.UUID(int=9),
    direction="outbound",
    amount=Decimal("9400.50"),
    currency="EUR",
    channel="transfer",
    counterparty_name="ACME",
    counterparty_account="DE1",
    counterparty_bank="BANKDEFF",
    counterparty_country="IR",
    merchant_category_code="6011",
    device_id="dev-1",
    ip_address="203.0.113.9",
    country="DE",
    occurred_at=_AT,
    received_at=_AT,
)
# Catalogue fields that come from elsewhere than a scored transaction's features.
_NOT_FROM_SCORING = {"customer.segment"}


def _signals() -> TransactionSignals:
    return TransactionSignals(
        is_cross_border=True,
        is_new_country=True,
        is_new_device=True,
        is_new_counterparty=True,
        history_count=41,
        history_days=12.5,
        amount_to_avg_30d=7.25,
        amount_zscore=3.5,
        velocity_1h=2,
        velocity_24h=4,
        amount_sum_1h=9900.5,
        amount_sum_24h=10400.5,
    )


def _customer_features() -> CustomerFeatures:
    """Every feature set, each to a value of its own type that differs from its default."""
    values: dict[str, Any] = {}
    for number, field in enumerate(msgspec.structs.fields(CustomerFeatures), start=1):
        if field.name == "currency":
            values[field.name] = "EUR"
        elif field.type is int or field.type == int | None:
            values[field.name] = number
        else:
            values[field.name] = number + 0.5
    return CustomerFeatures(**values)


def _both_versions() -> tuple[TransactionScored, TransactionScoredV2]:
    signals, features = _signals(), _customer_features()
    levels = CustomerRiskLevels(credit="high", churn="low", anomaly="medium", sequence=3)
    common: dict[str, Any] = {
        "customer_id": _CUSTOMER,
        "occurred_at": _AT,
        "transaction": _TRANSACTION,
        "anomaly_score": 0.42,
        "anomaly_level": "medium",
        "recommended_action": "review",
        "model_version": "anomaly-test",
    }
    v1 = TransactionScored(
        **common,
        # v1 repeated the transaction's fields among its features, and the bureau score's aliases.
        transaction_features={
            **msgspec.structs.asdict(signals),
            "transaction_id": str(_TRANSACTION.transaction_id),
            "amount": 9400.5,
            "direction": "outbound",
            "hour": 3,
        },
        customer_features={**msgspec.structs.asdict(features), "credit_score": 11},
        risk_levels={"credit": "high", "churn": "low", "anomaly": "medium", "sequence": 3},
    )
    v2 = TransactionScoredV2(
        **common, transaction_features=signals, customer_features=features, risk_levels=levels
    )
    return v1, v2


def _input(event: Event) -> tuple[EvaluationInput, CustomerSnapshot]:
    wire = parse_event(event.type, event.to_json_bytes())  # as the consumer receives it
    snapshot = CustomerSnapshot()
    return build_input(wire, snapshot, apply_event(snapshot, wire)), snapshot


def test_both_versions_give_rules_the_same_input_under_the_type_rules_name() -> None:
    v1, v2 = _both_versions()
    (from_v1, snapshot_v1), (from_v2, snapshot_v2) = _input(v1), _input(v2)
    assert from_v2.namespaces == from_v1.namespaces
    assert from_v2.event_type == from_v1.event_type == "scoring.transaction_scored.v1"
    assert from_v2.namespaces["event"] == {"type": "scoring.transaction_scored.v1"}
    assert (from_v2.transaction_id, from_v2.occurred_at) == (_TRANSACTION.transaction_id, _AT)
    assert (
        snapshot_v2.levels
        == snapshot_v1.levels
        == {
            "credit_level": "high",
            "churn_level": "low",
            "anomaly_level": "medium",
        }
    )


def test_every_catalogue_field_of_a_transaction_reaches_the_rules_from_v2() -> None:
    _, v2 = _both_versions()
    item, _ = _input(v2)
    offered = {
        path for path in FIELD_CATALOGUE if path.split(".", 1)[0] in ("txn", "customer", "score")
    }
    reached = {f"{ns}.{name}" for ns, values in item.namespaces.items() for name in values}
    assert offered - _NOT_FROM_SCORING <= reached


def test_v2_is_smaller_than_v1_for_the_same_transaction() -> None:
    v1, v2 = _both_versions()
    assert len(v2.to_json_bytes()) < len(v1.to_json_bytes())


def test_v2_locks_the_same_window_groups_as_v1() -> None:
    v1, v2 = _both_versions()
    group_bys = frozenset({"customer", "account", "counterparty", "device"})
    assert (
        _lock_names([v2], group_bys)
        == _lock_names([v1], group_bys)
        == [
            f"customer:{_CUSTOMER}",
            f"account:{uuid.UUID(int=9)}",
            "counterparty:DE1",
            "device:dev-1",
        ]
    )
