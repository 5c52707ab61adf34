"""Routes: a customer's features, risk levels and their history; scoring one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response

from riskwatch_scoring import service
from riskwatch_scoring.api.common import (
    INVALID,
    NOT_FOUND,
    SCORERS,
    Cursor,
    CustomerId,
    Limit,
    ScoringDep,
)
from riskwatch_scoring.models import CUSTOMER_OWNERS
from riskwatch_scoring.runtime import scoring_runtime
from riskwatch_scoring.schemas import (
    AssessmentPage,
    CustomerFeaturesOut,
    CustomerRiskOut,
    Kind,
    TransactionScoreIn,
    TransactionScoreOut,
)
from riskwatch_shared.app import IdentityDep, SessionDep, get_runtime
from riskwatch_shared.ownership import require_customer_visible
from riskwatch_shared.pagination import DEFAULT_LIMIT
from riskwatch_shared.roles import require_role

router = APIRouter()


@router.get(
    "/customers/{customer_id}/features",
    operation_id="scoring-customer-features-get",
    response_model=CustomerFeaturesOut,
    responses=NOT_FOUND,
)
async def get_customer_features(
    customer_id: CustomerId,
    session: SessionDep,
    scoring: ScoringDep,
    identity: IdentityDep,
    as_of: Annotated[datetime | None, Query(description="Moment of the features; now")] = None,
) -> CustomerFeaturesOut:
    """The customer's behavioural, credit and financial features."""
    await require_customer_visible(session, CUSTOMER_OWNERS, identity, customer_id)
    return await service.customer_features(
        session, store=scoring.store, customer_id=customer_id, as_of=as_of
    )


@router.get(
    "/customers/{customer_id}/risk",
    operation_id="scoring-customer-risk-get",
    response_model=CustomerRiskOut,
    responses=NOT_FOUND,
)
async def get_customer_risk(
    customer_id: CustomerId,
    session: SessionDep,
    scoring: ScoringDep,
    identity: IdentityDep,
    top: Annotated[
        int | None,
        Query(ge=1, le=100, description="Only the N strongest reasons per model (default all)"),
    ] = None,
) -> CustomerRiskOut:
    """Current risk levels per model and overall, with every reason (each once: its code,
    parameters, contribution and advice), strongest first, and advice."""
    await require_customer_visible(session, CUSTOMER_OWNERS, identity, customer_id)
    return await service.customer_risk(
        session, store=scoring.store, customer_id=customer_id, top=top
    )


@router.get(
    "/customers/{customer_id}/risk/history",
    operation_id="scoring-customer-risk-history-list",
    response_model=AssessmentPage,
    responses=INVALID,
)
async def list_customer_risk_history(
    customer_id: CustomerId,
    session: SessionDep,
    identity: IdentityDep,
    kind: Annotated[Kind | None, Query(description="Only this model kind")] = None,
    include_shadow: Annotated[bool, Query(description="Include challengers' scores")] = False,
    changes_only: Annotated[
        bool,
        Query(description="Only the assessments that moved their model's level (with reasons)"),
    ] = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> AssessmentPage:
    """Every stored assessment of the customer, newest first (or its level changes)."""
    await require_customer_visible(session, CUSTOMER_OWNERS, identity, customer_id)
    return await service.risk_history(
        session,
        customer_id=customer_id,
        kind=kind,
        include_shadow=include_shadow,
        cursor=cursor,
        limit=limit,
        changes_only=changes_only,
    )


@router.post(
    "/scores/transaction",
    operation_id="scoring-transaction-score-create",
    response_model=TransactionScoreOut,
    responses=INVALID,
)
async def score_transaction(
    body: TransactionScoreIn, request: Request, identity: IdentityDep
) -> Response:
    """Pre-authorisation score of a transaction not yet stored (reads state, writes nothing)."""
    require_role(identity, SCORERS)
    runtime = get_runtime(request)  # inline, not a dependency: one less to solve per call
    scoring = scoring_runtime(runtime)
    scored = await service.score_transaction(
        runtime.session_factory,
        store=scoring.store,
        read_pool=scoring.read_pool,
        model_cache=scoring.model_cache,
        settings=scoring.settings,
        request=body,
    )
    # Built as a dict and encoded once: `response_model` documents the body, returning a
    # Response skips FastAPI's re-validation (a test holds the body to the model).
    return Response(orjson.dumps(scored), media_type="application/json")
