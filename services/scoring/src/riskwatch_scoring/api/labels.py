"""Routes: outcome labels that training learns from."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from riskwatch_scoring import service
from riskwatch_scoring.api.common import (
    INVALID,
    Cursor,
    Limit,
)
from riskwatch_scoring.schemas import (
    LabelPage,
    LabelsCreated,
    LabelsIn,
    TrainableKind,
)
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.pagination import DEFAULT_LIMIT
from riskwatch_shared.roles import WORKERS, require_role

router = APIRouter()


@router.post(
    "/labels",
    operation_id="scoring-labels-create",
    response_model=LabelsCreated,
    status_code=201,
    responses=INVALID,
)
async def create_labels(
    body: LabelsIn, session: SessionDep, identity: IdentityDep
) -> LabelsCreated:
    """Record observed outcomes (defaulted, churned) to train on."""
    require_role(identity, WORKERS)
    created = await service.add_labels(session, body=body, created_by=identity.subject)
    await session.flush()
    return LabelsCreated(created=created)


@router.get("/labels", operation_id="scoring-labels-list", response_model=LabelPage)
async def get_labels(
    session: SessionDep,
    identity: IdentityDep,
    kind: Annotated[TrainableKind | None, Query(description="Only this kind")] = None,
    customer_id: Annotated[uuid.UUID | None, Query(description="Only this customer")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> LabelPage:
    """Outcome labels, newest observation first."""
    return await service.label_page(
        session, kind=kind, customer_id=customer_id, cursor=cursor, limit=limit
    )
