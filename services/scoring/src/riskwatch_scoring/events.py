"""The scoring events one batch stages, built as their event classes (the only encoders of
their payloads), and the fast random ids of the event path."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, cast

from riskwatch_scoring.domain.advice import advice_of, reason_params
from riskwatch_scoring.domain.assessment import Assessment
from riskwatch_scoring.domain.assessment import Reason as DomainReason
from riskwatch_shared.events.common import ModelKind, Reason, RiskLevel, TransactionData
from riskwatch_shared.events.scoring import (
    CustomerAssessed,
    CustomerFeatures,
    CustomerRiskLevelChanged,
    CustomerRiskLevels,
    TransactionScoredV2,
    TransactionSignals,
)

Action = Literal["approve", "review", "block"]
Kind = ModelKind | Literal["overall"]
# The domain names levels, kinds and actions as plain strings (its `Level` enum's values...);
# the casts below only name their Literal types: every consumer's decode checks the values.

# Random (version 4) ids for the event path's events and assessment rows at half the cost of
# `uuid.uuid4()` (one syscall each): 122 random bits from a generator of its own, seeded from
# the OS and reseeded in a forked child, so no two processes share a sequence.
_id_bits = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _id_bits.seed(os.urandom(32)))
_RANDOM_BITS = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)


def new_id() -> uuid.UUID:
    return uuid.UUID(int=(_id_bits.getrandbits(128) & _RANDOM_BITS) | _VERSION_4)


def event_reason(reason: DomainReason) -> Reason:
    """A domain reason as the events carry it: the value as text, parameters and advice."""
    value = reason.value
    return Reason(
        code=reason.code,
        message=reason.message,
        contribution=round(reason.contribution, 6),
        value=None if value is None else str(value),
        params=reason_params(reason),
        advice=advice_of(reason),
    )


def event_reasons(assessment: Assessment) -> list[Reason]:
    """Every reason, strongest first, each once with its code, parameters and advice."""
    return [event_reason(reason) for reason in assessment.reasons]


# The transaction's features the event carries: not those that repeat the transaction itself.
_SIGNALS = frozenset(TransactionSignals.__struct_fields__)
_CUSTOMER_FEATURES = frozenset(CustomerFeatures.__struct_fields__)


def transaction_scored(
    *,
    occurred_at: datetime,
    trace_id: str | None,
    transaction: TransactionData,
    assessment: Assessment,
    recommended_action: str,
    transaction_features: Mapping[str, Any],
    customer_features: Mapping[str, Any],
    risk_levels: Mapping[str, Any],
) -> TransactionScoredV2:
    """`scoring.transaction_scored.v2` from the event path's feature maps (names the event
    does not carry, such as the transaction's own fields, are left out)."""
    signals = {k: v for k, v in transaction_features.items() if k in _SIGNALS}
    features = {k: v for k, v in customer_features.items() if k in _CUSTOMER_FEATURES}
    return TransactionScoredV2(
        id=new_id(),
        occurred_at=occurred_at,
        trace_id=trace_id,
        customer_id=transaction.customer_id,
        transaction=transaction,
        anomaly_score=round(assessment.score, 6),
        anomaly_level=assessment.level.value,
        recommended_action=cast(Action, recommended_action),
        reasons=event_reasons(assessment),
        model_version=assessment.model_version,
        transaction_features=TransactionSignals(**signals),
        customer_features=CustomerFeatures(**features),
        risk_levels=CustomerRiskLevels(**risk_levels),
    )


def customer_assessed(
    *,
    occurred_at: datetime,
    trace_id: str | None,
    customer_id: uuid.UUID,
    trigger_event_type: str,
    trigger_event_id: uuid.UUID | None,
    sequence: int,
    levels: Mapping[str, str],
    assessments: Mapping[str, Assessment],
    customer_features: dict[str, Any],
    happened_at: datetime | None = None,
) -> CustomerAssessed:
    return CustomerAssessed(
        id=new_id(),
        occurred_at=occurred_at,
        trace_id=trace_id,
        customer_id=customer_id,
        trigger_event_type=trigger_event_type,
        trigger_event_id=trigger_event_id,
        sequence=sequence,
        levels=cast(dict[str, RiskLevel], dict(levels)),
        scores={kind: round(a.score, 6) for kind, a in assessments.items()},
        reasons={kind: event_reasons(a) for kind, a in assessments.items()},
        customer_features=customer_features,
        happened_at=happened_at,
    )


def risk_level_changed(
    *,
    occurred_at: datetime,
    trace_id: str | None,
    customer_id: uuid.UUID,
    model_kind: str,
    from_level: str | None,
    to_level: str,
    assessment: Assessment,
    sequence: int,
    model_version: str,
    advice: list[str],
    assessment_id: uuid.UUID | None,
    trigger_event_type: str | None,
    happened_at: datetime | None = None,
) -> CustomerRiskLevelChanged:
    return CustomerRiskLevelChanged(
        id=new_id(),
        occurred_at=occurred_at,
        trace_id=trace_id,
        customer_id=customer_id,
        model_kind=cast(Kind, model_kind),
        from_level=cast(RiskLevel | None, from_level),
        to_level=cast(RiskLevel, to_level),
        score=round(assessment.score, 6),
        sequence=sequence,
        model_version=model_version,
        reasons=event_reasons(assessment),
        advice=advice,
        assessment_id=assessment_id,
        trigger_event_type=trigger_event_type,
        happened_at=happened_at,
    )
