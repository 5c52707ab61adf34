"""What the API does: read features and risk, pre-authorise transactions, manage models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_scoring import model_governance, repository
from riskwatch_scoring.config import Settings
from riskwatch_scoring.domain.advice import advice_for
from riskwatch_scoring.domain.anomaly import AnomalyModel
from riskwatch_scoring.domain.assessment import Assessment
from riskwatch_scoring.domain.convert import UNKNOWN, UNKNOWN_COUNTRY, convert_amount, reason_rows
from riskwatch_scoring.domain.customer import ScoredCustomer
from riskwatch_scoring.domain.features import CurrencyMismatch
from riskwatch_scoring.domain.inputs import Transaction
from riskwatch_scoring.domain.measures import measure_action, measure_features, stricter
from riskwatch_scoring.domain.metrics import PSI_DRIFT_THRESHOLD, PSI_WATCH_THRESHOLD, psi
from riskwatch_scoring.errors import (
    CustomerNotScored,
    InvalidCursorError,
    InvalidTransactionInput,
)
from riskwatch_scoring.events import new_id
from riskwatch_scoring.models import AssessmentRow, ScoringModel
from riskwatch_scoring.pipeline import recommended_action, with_aliases
from riskwatch_scoring.read_pool import ReadPool
from riskwatch_scoring.registry import ModelCache, get_model_or_404, is_deployable
from riskwatch_scoring.schemas import (
    AssessmentOut,
    AssessmentPage,
    CustomerFeaturesOut,
    CustomerRiskOut,
    DriftOut,
    KindRiskOut,
    LabelOut,
    LabelPage,
    LabelsIn,
    ModelDetailOut,
    ModelOut,
    ReasonOut,
    TransactionScoreIn,
)
from riskwatch_scoring.state_store import StateStore
from riskwatch_shared.events.common import ModelKind
from riskwatch_shared.events.scoring import ModelDriftDetected
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.pagination import InvalidCursor, cursor_after, encode_cursor


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        return cursor_after(cursor, uuid.UUID)
    except InvalidCursor as exc:
        raise InvalidCursorError(str(exc)) from exc


async def _scored_customer(
    session: AsyncSession, store: StateStore, customer_id: uuid.UUID
) -> ScoredCustomer:
    customer = await store.read(session, customer_id)
    if customer is None:
        raise CustomerNotScored(f"no scoring state for customer {customer_id} yet")
    return customer


async def customer_features(
    session: AsyncSession, *, store: StateStore, customer_id: uuid.UUID, as_of: datetime | None
) -> CustomerFeaturesOut:
    customer = await _scored_customer(session, store, customer_id)
    moment = as_of or datetime.now(UTC)
    features: dict[str, Any] = with_aliases(customer.behaviour.features(moment).as_dict())
    features.update(measure_features(customer.measures))
    return CustomerFeaturesOut(
        customer_id=customer_id, as_of=moment, sequence=customer.version, features=features
    )


def _kind_risk(assessment: Assessment, top: int | None = None) -> KindRiskOut:
    return KindRiskOut(
        kind=assessment.kind,
        score=assessment.score,
        level=assessment.level.value,
        model_version=assessment.model_version,
        reasons=[ReasonOut(**row) for row in reason_rows(assessment, top)],
        advice=advice_for(assessment),
    )


async def customer_risk(
    session: AsyncSession, *, store: StateStore, customer_id: uuid.UUID, top: int | None = None
) -> CustomerRiskOut:
    customer = await _scored_customer(session, store, customer_id)
    assessments = {kind: _kind_risk(a, top) for kind, a in customer.assessments.items()}
    ranked = sorted(customer.assessments.values(), key=lambda a: -a.level.rank)
    advice = [line for assessment in ranked for line in advice_for(assessment, limit=2)]
    return CustomerRiskOut(
        customer_id=customer_id,
        sequence=customer.version,
        overall_level=customer.levels.get("overall", "low"),
        levels=customer.levels,
        assessments=assessments,
        advice=advice[:6],
    )


def _assessment_out(row: AssessmentRow) -> AssessmentOut:
    return AssessmentOut.model_validate(row)


async def risk_history(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID,
    kind: str | None,
    include_shadow: bool,
    cursor: str | None,
    limit: int,
    changes_only: bool = False,
) -> AssessmentPage:
    rows, total = await repository.assessment_page(
        session,
        customer_id=customer_id,
        kind=kind,
        include_shadow=include_shadow,
        after=_after(cursor),
        limit=limit + 1,
        changes_only=changes_only,
    )
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].assessed_at, page[-1].id) if len(rows) > limit else None
    return AssessmentPage(
        items=[_assessment_out(row) for row in page], next_cursor=next_cursor, **total.fields()
    )


def preauthorisation_transaction(request: TransactionScoreIn, now: datetime) -> Transaction:
    """The request as the domain's transaction, mapped as `to_transaction` maps a stored one."""
    country = request.country or UNKNOWN_COUNTRY
    return Transaction(
        transaction_id=request.transaction_id or new_id(),
        customer_id=request.customer_id,
        account_id=str(request.account_id) if request.account_id else UNKNOWN,
        direction=request.direction,
        amount=request.amount,
        currency=request.currency,
        channel=request.channel,
        counterparty_account=request.counterparty_account or request.counterparty_name or UNKNOWN,
        counterparty_country=request.counterparty_country or country,
        country=country,
        occurred_at=request.occurred_at or now,
        device_id=request.device_id,
        mcc=request.merchant_category_code,
    )


def _preauthorisation_body(
    request: TransactionScoreIn,
    assessment: Assessment,
    customer: ScoredCustomer,
    known: bool,
    txn_features: dict[str, Any],
) -> dict[str, Any]:
    """`TransactionScoreOut` as a plain dict (built per request: no model to validate).

    The measures in force come first: a frozen account's payment is blocked, and with
    payments under review an outgoing one is reviewed at least, whatever the model says."""
    account_id = str(request.account_id) if request.account_id else None
    required, measure_reasons = measure_action(
        customer.measures,
        account_id=account_id,
        direction=request.direction,
        amount=request.amount,
        currency=request.currency,
    )
    return {
        "customer_id": request.customer_id,
        "score": assessment.score,
        "level": assessment.level.value,
        "recommended_action": stricter(recommended_action(assessment.level), required),
        "reasons": [*measure_reasons, *reason_rows(assessment)],
        "advice": advice_for(assessment),
        "model_version": assessment.model_version,
        "customer_levels": customer.levels,
        "known_customer": known,
        "transaction_features": txn_features,
    }


async def score_transaction(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    store: StateStore,
    read_pool: ReadPool,
    model_cache: ModelCache,
    settings: Settings,
    request: TransactionScoreIn,
) -> dict[str, Any]:
    """Score a transaction against the customer's current state; writes nothing. Returns
    the `TransactionScoreOut` body as a dict."""
    txn = preauthorisation_transaction(request, datetime.now(UTC))
    customer = await store.read_fast(read_pool, request.customer_id)
    known = customer is not None
    customer = customer or ScoredCustomer(str(request.customer_id))
    behaviour = customer.behaviour
    base = behaviour.base_currency or txn.currency
    in_base = convert_amount(txn.amount, txn.currency, base, settings.fx_rates_per_usd)
    try:
        features = behaviour.preview_transaction(txn, amount_in_base=in_base or txn.amount)
    except CurrencyMismatch as exc:
        raise InvalidTransactionInput(str(exc)) from exc
    model = (await model_cache.current(session_factory)).champion("anomaly").model
    assert isinstance(model, AnomalyModel)
    txn_features = features.as_dict()
    assessment = model.assess(txn_features)
    return _preauthorisation_body(request, assessment, customer, known, txn_features)


# -- models -----------------------------------------------------------------------------------


def model_out(row: ScoringModel) -> ModelOut:
    return ModelOut.model_validate(row)


async def model_detail(session: AsyncSession, model_id: uuid.UUID) -> ModelDetailOut:
    row = await get_model_or_404(session, model_id)
    scored = await repository.shadow_summary(session, model_id)
    return ModelDetailOut(
        **model_out(row).model_dump(),
        model=row.model_json,
        deployable=is_deployable(row),
        scored=scored,
    )


def _psi_status(value: float | None) -> str:
    if value is None:
        return "insufficient_data"
    if value > PSI_DRIFT_THRESHOLD:
        return "drifted"
    return "watch" if value > PSI_WATCH_THRESHOLD else "stable"


async def _expert_baseline(
    session: AsyncSession, row: ScoringModel, settings: Settings
) -> list[float]:
    """An expert model's baseline: the quantiles of its first `drift_baseline_size` scores
    (none until it has scored that many)."""
    first = await repository.first_scores(
        session, model_id=row.id, limit=settings.drift_baseline_size
    )
    if len(first) < settings.drift_baseline_size:
        return []
    return [float(q) for q in np.quantile(first, np.linspace(0, 1, 200))]


async def _drift(
    session: AsyncSession, row: ScoringModel, baseline: list[float], settings: Settings
) -> DriftOut:
    since = datetime.now(UTC) - timedelta(days=settings.drift_window_days)
    recent = await repository.recent_scores(session, model_id=row.id, since=since, limit=20_000)
    value = psi(baseline, recent) if baseline and len(recent) >= settings.drift_min_scores else None
    return DriftOut(
        model_id=row.id,
        kind=row.kind,
        status=_psi_status(value),
        psi=value,
        threshold=PSI_DRIFT_THRESHOLD,
        window_days=settings.drift_window_days,
        recent_scores=len(recent),
        baseline_scores=len(baseline),
        event_published=row.drift_alerted_on == datetime.now(UTC).date(),
    )


async def model_drift(
    session: AsyncSession, *, model_id: uuid.UUID, settings: Settings
) -> DriftOut:
    """PSI of the recent scores against the baseline. Read-only: the periodic check
    (`check_model_drift`) keeps the baseline and publishes the drift event."""
    row = await get_model_or_404(session, model_id)
    baseline = list(row.baseline_scores or []) or await _expert_baseline(session, row, settings)
    return await _drift(session, row, baseline, settings)


async def check_model_drift(
    session: AsyncSession, *, model_id: uuid.UUID, settings: Settings
) -> tuple[DriftOut, bool]:
    """The periodic check of one model: keeps an expert model's baseline once it has one and
    publishes `scoring.model_drift_detected.v1` at most once a day. Returns the measure and
    whether this check published."""
    row = await get_model_or_404(session, model_id)
    baseline = list(row.baseline_scores or [])
    if not baseline:
        baseline = await _expert_baseline(session, row, settings)
        if baseline:
            await repository.set_model_baseline(session, row.id, baseline)
    drift = await _drift(session, row, baseline, settings)
    if drift.status != "drifted" or drift.event_published or drift.psi is None:
        return drift, False
    await add_events(
        session,
        ModelDriftDetected(
            model_id=row.id,
            model_kind=cast(ModelKind, row.kind),  # a plain text column; the decoders check it
            psi=round(drift.psi, 6),
            threshold=PSI_DRIFT_THRESHOLD,
            model_version=row.model_version,
            owners=await model_governance.owners_of(session, row.id),
        ),
    )
    await repository.mark_drift_alerted(session, row.id, datetime.now(UTC).date())
    return drift.model_copy(update={"event_published": True}), True


# -- labels -----------------------------------------------------------------------------------


async def add_labels(session: AsyncSession, *, body: LabelsIn, created_by: str) -> int:
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "customer_id": label.customer_id,
            "kind": label.kind,
            "outcome": label.outcome,
            "observed_at": label.observed_at,
            "created_by": created_by,
        }
        for label in body.labels
    ]
    await repository.insert_labels(session, rows)
    return len(rows)


async def label_page(
    session: AsyncSession,
    *,
    kind: str | None,
    customer_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> LabelPage:
    rows, total = await repository.label_page(
        session, kind=kind, customer_id=customer_id, after=_after(cursor), limit=limit + 1
    )
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].observed_at, page[-1].id) if len(rows) > limit else None
    return LabelPage(
        items=[LabelOut.model_validate(row) for row in page],
        next_cursor=next_cursor,
        **total.fields(),
    )
