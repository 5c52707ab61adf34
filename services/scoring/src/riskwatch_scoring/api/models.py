"""Routes: model versions (list, get, train, activate, shadow, retire) and their drift."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from riskwatch_scoring import model_governance, service, training_service
from riskwatch_scoring.api.common import (
    INVALID,
    MAX_CSV_BYTES,
    NOT_FOUND,
    ModelId,
    ScoringDep,
)
from riskwatch_scoring.api.model_proposals import proposal_out
from riskwatch_scoring.errors import InvalidTrainingData
from riskwatch_scoring.repository import list_models
from riskwatch_scoring.runtime import ScoringRuntime
from riskwatch_scoring.schemas import (
    DriftOut,
    Kind,
    ModelDetailOut,
    ModelList,
    ModelOut,
    ModelProposalOut,
    TrainableKind,
    TrainFromLabelsIn,
    TrainingOut,
)
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.contract import csv_body
from riskwatch_shared.db.unit_of_work import after_commit
from riskwatch_shared.governance import AuditOut
from riskwatch_shared.governance_api import ApproverDep
from riskwatch_shared.roles import MANAGERS, require_role

router = APIRouter()


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


def _serving_changed(session: SessionDep, scoring: ScoringRuntime) -> None:
    """Which models serve has changed: this replica's cache re-reads once it is committed."""
    after_commit(session, scoring.model_cache.invalidate)


PROPOSED: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {"description": "Model cannot serve (problem+json)"},
}


@router.post(
    "/models/{model_id}/activate",
    operation_id="scoring-models-activate",
    response_model=ModelProposalOut,
    status_code=202,
    responses=PROPOSED,
)
async def activate_model(
    model_id: ModelId, session: SessionDep, identity: IdentityDep, approver: ApproverDep
) -> ModelProposalOut:
    """Propose this version as its kind's champion (activating an older one is a rollback).
    Maker-checker: it serves once someone else approves (POST /v1/model-proposals/{id}/approve);
    the champion serves unchanged until then."""
    require_role(identity, MANAGERS)
    return proposal_out(
        await model_governance.propose(session, model_id, "activate", approver), approver
    )


@router.post(
    "/models/{model_id}/shadow",
    operation_id="scoring-models-shadow",
    response_model=ModelProposalOut,
    status_code=202,
    responses=PROPOSED,
)
async def shadow_model(
    model_id: ModelId, session: SessionDep, identity: IdentityDep, approver: ApproverDep
) -> ModelProposalOut:
    """Propose this version as the challenger (it scores in shadow beside the champion) once
    someone else approves."""
    require_role(identity, MANAGERS)
    return proposal_out(
        await model_governance.propose(session, model_id, "shadow", approver), approver
    )


@router.post(
    "/models/{model_id}/retire",
    operation_id="scoring-models-retire",
    response_model=ModelOut,
    responses={**NOT_FOUND, 409: {"description": "The champion cannot retire (problem+json)"}},
)
async def retire_model(
    model_id: ModelId,
    session: SessionDep,
    scoring: ScoringDep,
    identity: IdentityDep,
    approver: ApproverDep,
) -> ModelOut:
    """Retire a candidate or challenger at once: it no longer serves or shadows (idempotent,
    audited; switching a shadow off is not held up by maker-checker)."""
    require_role(identity, MANAGERS)
    row = await model_governance.retire_now(session, model_id, approver)
    _serving_changed(session, scoring)
    return service.model_out(row)


@router.get(
    "/models/{model_id}/history",
    operation_id="scoring-models-history",
    response_model=list[AuditOut],
    responses=NOT_FOUND,
)
async def model_history(model_id: ModelId, session: SessionDep) -> list[AuditOut]:
    """Every governance step of the model: proposed, approved (and how), rejected, retired."""
    entries = await model_governance.history(session, model_id)
    return [AuditOut.model_validate(entry) for entry in entries]


@router.get(
    "/models/{model_id}/drift",
    operation_id="scoring-models-drift-get",
    response_model=DriftOut,
    responses=NOT_FOUND,
)
async def get_model_drift(
    model_id: ModelId, session: SessionDep, scoring: ScoringDep, identity: IdentityDep
) -> DriftOut:
    """PSI of recent scores against the training baseline. Read-only: drift above 0.25 is
    announced by the periodic check (`scoring.model_drift_detected.v1`, once a day)."""
    return await service.model_drift(session, model_id=model_id, settings=scoring.settings)
