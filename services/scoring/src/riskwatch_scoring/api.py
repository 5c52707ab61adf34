"""HTTP routes of the scoring service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from riskwatch_scoring import service, training_service
from riskwatch_scoring.errors import InvalidTrainingData
from riskwatch_scoring.models import CUSTOMER_OWNERS, ScoringModel
from riskwatch_scoring.registry import promote, retire
from riskwatch_scoring.repository import list_models
from riskwatch_scoring.runtime import ScoringContext, scoring_context
from riskwatch_scoring.schemas import (
    AssessmentPage,
    CustomerFeaturesOut,
    CustomerRiskOut,
    DriftOut,
    Kind,
    LabelPage,
    LabelsCreated,
    LabelsIn,
    ModelDetailOut,
    ModelList,
    ModelOut,
    TrainableKind,
    TrainFromLabelsIn,
    TrainingOut,
    TransactionScoreIn,
    TransactionScoreOut,
)
from riskwatch_shared.app import IdentityDep, SessionDep, get_runtime
from riskwatch_shared.contract import csv_body
from riskwatch_shared.db.unit_of_work import after_commit
from riskwatch_shared.ownership import require_customer_visible
from riskwatch_shared.pagination import DEFAULT_LIMIT, MAX_LIMIT
from riskwatch_shared.roles import MANAGERS, WORKERS, require_role

router = APIRouter(prefix="/v1", tags=["scoring"])

# Core banking's ingest keys push transactions and nothing else (the shared policy table).
SCORERS = WORKERS
MAX_CSV_BYTES = 20 * 1024 * 1024
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found (problem+json)"}}
INVALID: dict[int | str, dict[str, Any]] = {422: {"description": "Invalid input (problem+json)"}}


async def _context(request: Request) -> ScoringContext:
    return scoring_context(get_runtime(request))


ContextDep = Annotated[ScoringContext, Depends(_context)]
CustomerId = Annotated[uuid.UUID, Path(description="The customer's id")]
ModelId = Annotated[uuid.UUID, Path(description="The model version's id")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]


@router.get(
    "/customers/{customer_id}/features",
    operation_id="scoring-customer-features-get",
    response_model=CustomerFeaturesOut,
    responses=NOT_FOUND,
)
async def get_customer_features(
    customer_id: CustomerId,
    session: SessionDep,
    context: ContextDep,
    identity: IdentityDep,
    as_of: Annotated[datetime | None, Query(description="Moment of the features; now")] = None,
) -> CustomerFeaturesOut:
    """The customer's behavioural, credit and financial features."""
    await require_customer_visible(session, CUSTOMER_OWNERS, identity, customer_id)
    return await service.customer_features(
        session, store=context.store, customer_id=customer_id, as_of=as_of
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
    context: ContextDep,
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
        session, store=context.store, customer_id=customer_id, top=top
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
    context = scoring_context(runtime)
    scored = await service.score_transaction(
        runtime.session_factory,
        store=context.store,
        read_pool=context.read_pool,
        model_cache=context.model_cache,
        settings=context.settings,
        request=body,
    )
    # Built as a dict and encoded once: `response_model` documents the body, returning a
    # Response skips FastAPI's re-validation (a test holds the body to the model).
    return Response(orjson.dumps(scored), media_type="application/json")


@router.get("/models", operation_id="scoring-models-list", response_model=ModelList)
async def get_models(
    session: SessionDep,
    identity: IdentityDep,
    kind: Annotated[Kind | None, Query(description="Only this model kind")] = None,
) -> ModelList:
    """Every model version, newest first per kind."""
    rows = await list_models(session, kind=kind)
    return ModelList(items=[service.model_out(row) for row in rows])


@router.get(
    "/models/{model_id}",
    operation_id="scoring-models-get",
    response_model=ModelDetailOut,
    responses=NOT_FOUND,
)
async def get_model(
    model_id: ModelId, session: SessionDep, identity: IdentityDep
) -> ModelDetailOut:
    """One model version: its document, metrics, features and how much it has scored."""
    return await service.model_detail(session, model_id)


async def _train_body(request: Request) -> tuple[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    raw = await request.body()
    if len(raw) > MAX_CSV_BYTES:
        raise InvalidTrainingData(f"the upload is larger than {MAX_CSV_BYTES} bytes")
    if content_type == "text/csv":
        try:
            return "csv", raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidTrainingData("the CSV must be UTF-8") from exc
    try:
        return "labels", TrainFromLabelsIn.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc


def _columns(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


TRAIN_BODY = csv_body(
    description="JSON: train from the stored labels and features. CSV (UTF-8, header row): "
    "one row per example, the `target` column 0/1, the other columns features.",
    example="EDUCATION,MARRIAGE,LIMIT_BAL,BILL_AMT1,default\n"
    "1,2,400000.0,201800.0,0\n1,1,140000.0,450.0,1\n2,1,420000.0,56107.0,0\n",
    json_schema=TrainFromLabelsIn.model_json_schema(),
)


@router.post(
    "/models/{kind}/train",
    operation_id="scoring-models-train",
    response_model=TrainingOut,
    status_code=201,
    responses=INVALID,
    openapi_extra=TRAIN_BODY,
)
async def train_model(
    kind: Annotated[TrainableKind, Path(description="credit or churn")],
    request: Request,
    session: SessionDep,
    identity: IdentityDep,
    target: Annotated[str, Query(description="CSV upload: the 0/1 target column")] = "default",
    bad_value: Annotated[
        str | None,
        Query(
            max_length=100,
            description="CSV: the target value that means bad (e.g. `bad`); every other value "
            "is good. Without it the target must be 0 or 1.",
        ),
    ] = None,
    categorical: Annotated[str | None, Query(description="CSV: categorical columns")] = None,
    features: Annotated[str | None, Query(description="CSV: feature columns to use")] = None,
    algorithm: Annotated[
        Literal["linear", "binned", "woe", "lightgbm", "auto"] | None,
        Query(
            description="CSV: linear or binned scorecard, optimal-binning WoE scorecard (woe), "
            "monotone gradient boosting (lightgbm), or auto: the best cross-validated AUC"
        ),
    ] = None,
    encoding: Annotated[
        Literal["linear", "binned"], Query(description="CSV: older name of `algorithm`")
    ] = "linear",
    folds: Annotated[int, Query(ge=2, le=10, description="CSV: cross-validation folds")] = 5,
) -> TrainingOut:
    """Train a new model version from labels x stored features (JSON) or a CSV (text/csv)."""
    require_role(identity, MANAGERS)
    source, body = await _train_body(request)
    if source == "csv":
        row, report = await training_service.train_from_csv(
            session,
            kind=kind,
            csv_text=body,
            target=target,
            categorical=_columns(categorical),
            features=_columns(features),
            algorithm=algorithm or encoding,
            folds=folds,
            bad_value=bad_value,
        )
    else:
        row, report = await training_service.train_from_labels(
            session,
            kind=kind,
            features=body.features,
            algorithm=body.algorithm or body.encoding,
            folds=body.folds,
        )
    await session.flush()
    return TrainingOut(model=service.model_out(row), report=report)


async def _promote(
    session: SessionDep, context: ScoringContext, model_id: uuid.UUID, status: str
) -> ModelOut:
    return await _serving_changed(session, context, await promote(session, model_id, status=status))


async def _serving_changed(
    session: SessionDep, context: ScoringContext, row: ScoringModel
) -> ModelOut:
    """Which models serve has changed: this replica's cache re-reads once it is committed."""
    await session.flush()
    after_commit(session, context.model_cache.invalidate)
    return service.model_out(row)


@router.post(
    "/models/{model_id}/activate",
    operation_id="scoring-models-activate",
    response_model=ModelOut,
    responses={**NOT_FOUND, 409: {"description": "Model cannot serve (problem+json)"}},
)
async def activate_model(
    model_id: ModelId, session: SessionDep, context: ContextDep, identity: IdentityDep
) -> ModelOut:
    """Make this version its kind's champion; activating an older one is a rollback."""
    require_role(identity, MANAGERS)
    return await _promote(session, context, model_id, "champion")


@router.post(
    "/models/{model_id}/shadow",
    operation_id="scoring-models-shadow",
    response_model=ModelOut,
    responses={**NOT_FOUND, 409: {"description": "Model cannot serve (problem+json)"}},
)
async def shadow_model(
    model_id: ModelId, session: SessionDep, context: ContextDep, identity: IdentityDep
) -> ModelOut:
    """Make this version the challenger: it scores in shadow beside the champion."""
    require_role(identity, MANAGERS)
    return await _promote(session, context, model_id, "challenger")


@router.post(
    "/models/{model_id}/retire",
    operation_id="scoring-models-retire",
    response_model=ModelOut,
    responses={**NOT_FOUND, 409: {"description": "The champion cannot retire (problem+json)"}},
)
async def retire_model(
    model_id: ModelId, session: SessionDep, context: ContextDep, identity: IdentityDep
) -> ModelOut:
    """Retire a candidate or challenger: it no longer serves or shadows (idempotent)."""
    require_role(identity, MANAGERS)
    return await _serving_changed(session, context, await retire(session, model_id))


@router.get(
    "/models/{model_id}/drift",
    operation_id="scoring-models-drift-get",
    response_model=DriftOut,
    responses=NOT_FOUND,
)
async def get_model_drift(
    model_id: ModelId, session: SessionDep, context: ContextDep, identity: IdentityDep
) -> DriftOut:
    """PSI of recent scores against the training baseline. Read-only: drift above 0.25 is
    announced by the periodic check (`scoring.model_drift_detected.v1`, once a day)."""
    return await service.model_drift(session, model_id=model_id, settings=context.settings)


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
