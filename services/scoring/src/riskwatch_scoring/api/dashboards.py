"""Route: customers by risk level and segment, with this week's top risers (read-only). An RM's
figures cover their own customers; roles that may not unmask see the risers' names masked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from riskwatch_scoring.api.common import INVALID
from riskwatch_scoring.risk_dashboard import level_counts, top_risers, week_of
from riskwatch_scoring.schemas import Kind
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.ownership import owner_scope

router = APIRouter()


class LevelCount(BaseModel):
    kind: str
    level: str
    segment: str = Field(description="The customer's segment; empty when unknown")
    customers: int


class RiserOut(BaseModel):
    customer_id: uuid.UUID
    name: str | None = Field(description="Masked (initials) for roles that may not unmask")
    segment: str | None
    score_before: float = Field(description="The last score before the week began")
    level_before: str
    score: float
    level: str
    rise: float
    assessed_at: datetime


class RiskDistributionOut(BaseModel):
    levels: list[LevelCount]
    risers_kind: str
    week_from: datetime = Field(description="The current UTC week's Monday, 00:00")
    top_risers: list[RiserOut]


def masked_name(name: str | None) -> str | None:
    """Each word's first letter, the rest starred: `Ana Li` -> `A** L*`."""
    if name is None:
        return None
    return " ".join(word[:1] + "*" * (len(word) - 1) for word in name.split())


@router.get(
    "/customers/risk-distribution",
    operation_id="scoring-customers-risk-distribution",
    responses=INVALID,
)
async def risk_distribution(
    session: SessionDep,
    identity: IdentityDep,
    kind: Annotated[Kind, Query(description="The model kind of the top risers")] = "credit",
    risers: Annotated[int, Query(ge=0, le=50, description="How many top risers")] = 10,
) -> RiskDistributionOut:
    """How many customers hold each current level per model kind and segment, and the
    customers whose `kind` score rose most this UTC week (since Monday: their score now
    against their last score before the week; a customer first scored this week has none)."""
    owner = owner_scope(identity)
    week = week_of(datetime.now(UTC))
    found = await top_risers(session, kind=kind, week=week, owner=owner, limit=risers)
    return RiskDistributionOut(
        levels=[
            LevelCount(kind=k, level=level, segment=segment, customers=count)
            for k, level, segment, count in await level_counts(session, owner)
        ],
        risers_kind=kind,
        week_from=datetime.combine(week, time(), tzinfo=UTC),
        top_risers=[
            RiserOut(
                customer_id=riser.customer_id,
                name=riser.name if identity.may_unmask else masked_name(riser.name),
                segment=riser.segment,
                score_before=riser.score_before,
                level_before=riser.level_before,
                score=riser.score,
                level=riser.level,
                rise=round(riser.score - riser.score_before, 6),
                assessed_at=riser.assessed_at,
            )
            for riser in found
        ],
    )
