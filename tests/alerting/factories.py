"""Plain factories of the events the alerting service consumes, and rule helpers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_alerting import service
from riskwatch_alerting.models import Rule
from riskwatch_alerting.pipeline import AlertPipeline, BatchOutcome
from riskwatch_alerting.schemas import ListCreate, ListEntryIn, RuleCreate, TemplateInstantiate
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.common import Reason, TransactionData
from riskwatch_shared.events.scoring import (
    CustomerAssessed,
    CustomerRiskLevelChanged,
    TransactionScored,
)

BASE_TIME = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
ACTOR = "tester"


def transaction_scored(
    customer_id: uuid.UUID,
    *,
    at: datetime = BASE_TIME,
    amount: str | Decimal = "100.00",
    direction: str = "outbound",
    channel: str = "transfer",
    anomaly_score: float = 0.05,
    anomaly_level: str = "low",
    counterparty_account: str | None = None,
    counterparty_country: str | None = "DE",
    country: str | None = "DE",
    device_id: str | None = "device-1",
    features: dict[str, Any] | None = None,
    customer_features: dict[str, Any] | None = None,
    risk_levels: dict[str, Any] | None = None,
    reasons: list[Reason] | None = None,
) -> TransactionScored:
    transaction = TransactionData(
        transaction_id=uuid.uuid4(),
        external_id=f"ext-{uuid.uuid4().hex[:8]}",
        customer_id=customer_id,
        account_id=uuid.uuid4(),
        direction=direction,  # type: ignore[arg-type]
        amount=Decimal(amount),
        currency="EUR",
        channel=channel,  # type: ignore[arg-type]
        counterparty_name="Counterparty",
        counterparty_account=counterparty_account or f"DE{uuid.uuid4().int % 10**18}",
        counterparty_country=counterparty_country,
        device_id=device_id,
        country=country,
        occurred_at=at,
        received_at=at,
    )
    return TransactionScored(
        customer_id=customer_id,
        occurred_at=at,
        transaction=transaction,
        anomaly_score=anomaly_score,
        anomaly_level=anomaly_level,  # type: ignore[arg-type]
        recommended_action="approve",
        model_version="test",
        transaction_features={
            "is_new_country": False,
            "is_new_device": False,
            "is_new_counterparty": False,
            "amount_to_avg_30d": 1.0,
            # An established customer: past the cold-start guards of the templates.
            "history_count": 250,
            "history_days": 180.0,
            **(features or {}),
        },
        customer_features={"avg_amount_30d": 100.0, **(customer_features or {})},
        risk_levels=risk_levels or {"credit": "low", "churn": "low", "anomaly": "low"},
        reasons=reasons or [],
    )


def customer_assessed(
    customer_id: uuid.UUID,
    *,
    at: datetime = BASE_TIME,
    sequence: int = 1,
    features: dict[str, Any] | None = None,
    levels: dict[str, Any] | None = None,
    scores: dict[str, float] | None = None,
) -> CustomerAssessed:
    return CustomerAssessed(
        customer_id=customer_id,
        occurred_at=at,
        trigger_event_type="customer.credit_record_added.v1",
        sequence=sequence,
        levels=levels or {"credit": "low", "churn": "low", "anomaly": "low"},
        scores=scores or {"credit": 0.02, "churn": 0.1},
        customer_features=features or {},
    )


def risk_level_changed(
    customer_id: uuid.UUID,
    *,
    from_level: str | None,
    to_level: str,
    at: datetime = BASE_TIME,
    sequence: int = 2,
    kind: str = "credit",
) -> CustomerRiskLevelChanged:
    return CustomerRiskLevelChanged(
        customer_id=customer_id,
        occurred_at=at,
        model_kind=kind,  # type: ignore[arg-type]
        from_level=from_level,  # type: ignore[arg-type]
        to_level=to_level,  # type: ignore[arg-type]
        score=0.4,
        sequence=sequence,
        model_version="test",
    )


async def active_template_rule(session: AsyncSession, key: str, **overrides: Any) -> Rule:
    rule = await service.create_rule_from_template(
        session, key=key, data=TemplateInstantiate(**overrides), actor=ACTOR
    )
    return await service.set_rule_status(session, rule.id, status="active", actor=ACTOR)


async def active_rule(session: AsyncSession, **fields: Any) -> Rule:
    data = RuleCreate(
        **{
            "name": "test rule",
            "rule_type": "custom",
            "severity": "medium",
            "trigger_event_types": ["scoring.transaction_scored.v1"],
            **fields,
        }
    )
    rule = await service.create_rule(session, data=data, actor=ACTOR)
    return await service.set_rule_status(session, rule.id, status="active", actor=ACTOR)


async def create_list(session: AsyncSession, name: str, kind: str, values: Sequence[str]) -> None:
    await service.create_list(
        session,
        data=ListCreate(
            name=name,
            kind=kind,
            entries=[ListEntryIn(value=value) for value in values],  # type: ignore[arg-type]
        ),
        actor=ACTOR,
    )


async def feed(
    session_factory: async_sessionmaker[AsyncSession],
    pipeline: AlertPipeline,
    events: Sequence[Event],
    *,
    batch_size: int = 50,
) -> list[BatchOutcome]:
    """Run events through the pipeline as the consumer would: one transaction per batch."""
    outcomes = []
    for start in range(0, len(events), batch_size):
        async with session_factory() as session, session.begin():
            outcomes.append(
                await pipeline.handle_batch(events[start : start + batch_size], session)
            )
    return outcomes


async def create_rule(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """A rule through the API (a big outbound payment unless `fields` say otherwise)."""
    body = {
        "name": "Big payment",
        "rule_type": "transaction_anomaly",
        "severity": "high",
        "trigger_event_types": ["scoring.transaction_scored.v1"],
        "condition": "txn.amount > 5000",
        **fields,
    }
    response = await client.post("/v1/rules", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())
