"""The scoring events' JSON payloads, built as dicts and encoded once with orjson.

The event path stages one to three events per transaction; building each as its pydantic
model and dumping it cost more than scoring the transaction. These builders write the same
JSON the models in `riskwatch_shared.events.scoring` would (same fields, same datetime,
UUID and float forms: `tests/scoring/unit/test_event_path_golden.py` parses every payload
back through its model and compares), and the incoming transaction is spliced in as the bytes
its own model serialises to.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from riskwatch_scoring.domain.advice import advice_of, reason_params
from riskwatch_scoring.domain.assessment import Assessment
from riskwatch_scoring.domain.assessment import Reason as DomainReason
from riskwatch_shared.events.common import TransactionData
from riskwatch_shared.events.scoring import (
    CustomerAssessed,
    CustomerRiskLevelChanged,
    TransactionScored,
)
from riskwatch_shared.tracing import traceparent_for

SOURCE = "scoring"
TRANSACTION_SCORED: str = TransactionScored.model_fields["type"].default
CUSTOMER_ASSESSED: str = CustomerAssessed.model_fields["type"].default
RISK_LEVEL_CHANGED: str = CustomerRiskLevelChanged.model_fields["type"].default
# UTC datetimes end in "Z", as pydantic writes them.
_OPTIONS = orjson.OPT_UTC_Z
_transaction_json = TransactionData.__pydantic_serializer__.to_json

# {"id": UUID, "subject": str, "payload": bytes, "traceparent": str | None}
StagedEvent = dict[str, Any]

# Random (version 4) ids for the event path's events and assessment rows at half the cost of
# `uuid.uuid4()` (one syscall each): 122 random bits from a generator of its own, seeded from
# the OS and reseeded in a forked child, so no two processes share a sequence.
_id_bits = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _id_bits.seed(os.urandom(32)))
_RANDOM_BITS = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)


def new_id() -> uuid.UUID:
    return uuid.UUID(int=(_id_bits.getrandbits(128) & _RANDOM_BITS) | _VERSION_4)


def event_reason(reason: DomainReason) -> dict[str, Any]:
    """`riskwatch_shared.events.common.Reason` as JSON: the value as text."""
    value = reason.value
    return {
        "code": reason.code,
        "message": reason.message,
        "contribution": round(reason.contribution, 6),
        "value": None if value is None else str(value),
        "params": reason_params(reason),
        "advice": advice_of(reason),
    }


def event_reasons(assessment: Assessment) -> list[dict[str, Any]]:
    """Every reason, strongest first, each once with its code, parameters and advice."""
    return [event_reason(reason) for reason in assessment.reasons]


def _envelope(
    subject: str,
    occurred_at: datetime,
    trace_id: str | None,
    customer_id: uuid.UUID,
) -> tuple[uuid.UUID, dict[str, Any]]:
    event_id = new_id()
    return event_id, {
        "id": event_id,
        "type": subject,
        "occurred_at": occurred_at,
        "source": SOURCE,
        "trace_id": trace_id,
        "customer_id": customer_id,
    }


def _staged(event_id: uuid.UUID, subject: str, payload: dict[str, Any]) -> StagedEvent:
    return {
        "id": event_id,
        "subject": subject,
        "payload": orjson.dumps(payload, option=_OPTIONS),
        "traceparent": traceparent_for(payload["trace_id"]),
    }


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
) -> StagedEvent:
    event_id, payload = _envelope(
        TRANSACTION_SCORED, occurred_at, trace_id, transaction.customer_id
    )
    payload["transaction"] = orjson.Fragment(_transaction_json(transaction))
    payload["anomaly_score"] = round(assessment.score, 6)
    payload["anomaly_level"] = assessment.level.value
    payload["recommended_action"] = recommended_action
    payload["reasons"] = event_reasons(assessment)
    payload["model_version"] = assessment.model_version
    payload["transaction_features"] = transaction_features
    payload["customer_features"] = customer_features
    payload["risk_levels"] = risk_levels
    return _staged(event_id, TRANSACTION_SCORED, payload)


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
    customer_features: Mapping[str, Any],
    happened_at: datetime | None = None,
) -> StagedEvent:
    event_id, payload = _envelope(CUSTOMER_ASSESSED, occurred_at, trace_id, customer_id)
    payload["trigger_event_type"] = trigger_event_type
    payload["trigger_event_id"] = trigger_event_id
    payload["sequence"] = sequence
    payload["levels"] = levels
    payload["scores"] = {kind: round(a.score, 6) for kind, a in assessments.items()}
    payload["reasons"] = {kind: event_reasons(a) for kind, a in assessments.items()}
    payload["customer_features"] = customer_features
    payload["happened_at"] = happened_at
    return _staged(event_id, CUSTOMER_ASSESSED, payload)


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
) -> StagedEvent:
    event_id, payload = _envelope(RISK_LEVEL_CHANGED, occurred_at, trace_id, customer_id)
    payload["model_kind"] = model_kind
    payload["from_level"] = from_level
    payload["to_level"] = to_level
    payload["score"] = round(assessment.score, 6)
    payload["sequence"] = sequence
    payload["model_version"] = model_version
    payload["reasons"] = event_reasons(assessment)
    payload["advice"] = advice
    payload["assessment_id"] = assessment_id
    payload["trigger_event_type"] = trigger_event_type
    payload["happened_at"] = happened_at
    return _staged(event_id, RISK_LEVEL_CHANGED, payload)
