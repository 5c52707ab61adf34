"""The model registry: the serving champion and challenger per kind, cached per process.

A fresh database gets the expert models (credit scorecard, anomaly, churn) as version 1
champions. Each replica re-reads which models serve every `model_refresh_seconds`, so an
activation on one replica reaches the others within that time.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_scoring import repository
from riskwatch_scoring.domain.anomaly import AnomalyModel
from riskwatch_scoring.domain.churn import ChurnModel
from riskwatch_scoring.domain.credit import expert_credit_scorecard
from riskwatch_scoring.domain.features import CUSTOMER_FEATURE_NAMES
from riskwatch_scoring.domain.levels import MODEL_KINDS, LevelCutoffs, ModelKind
from riskwatch_scoring.domain.model_io import Model, load_model
from riskwatch_scoring.errors import InvalidModelTransition, ModelNotDeployable, ModelNotFound
from riskwatch_scoring.models import ScoringModel

EXPERT_FEATURES: dict[ModelKind, list[str]] = {
    "credit": expert_credit_scorecard().features,
    "anomaly": ["transaction_features"],
    "churn": [
        "days_since_last_activity",
        "activity_trend_90d",
        "amount_sum_30d",
        "amount_sum_90d",
        "balance_trend_90d",
        "outflow_ratio_30d",
        "complaints_90d",
        "dormant_accounts",
    ],
}


def expert_model(kind: ModelKind) -> Model:
    if kind == "credit":
        return expert_credit_scorecard()
    if kind == "anomaly":
        return AnomalyModel()
    return ChurnModel()


@dataclass(frozen=True, slots=True)
class ServingModel:
    id: uuid.UUID
    kind: ModelKind
    status: str
    model: Model

    @property
    def model_version(self) -> str:
        return self.model.model_version


@dataclass(frozen=True, slots=True)
class ServingModels:
    champions: dict[str, ServingModel]
    challengers: dict[str, ServingModel] = field(default_factory=dict)

    def champion(self, kind: ModelKind) -> ServingModel:
        return self.champions[kind]


def _with_cutoffs(model: Model, cutoffs: dict[str, dict[str, float]], kind: str) -> Model:
    if kind not in cutoffs:
        return model
    return dataclasses.replace(model, cutoffs=LevelCutoffs.from_state(cutoffs[kind]))


async def ensure_expert_models(session: AsyncSession) -> None:
    """Give every kind without a champion its expert model (inserted once, as version 1)."""
    rows = await repository.serving_models(session)
    served = {row.kind for row in rows if row.status == "champion"}
    for kind in MODEL_KINDS:
        if kind in served:
            continue
        await repository.lock_model_kind(session, kind)
        existing = await repository.models_of_kind(session, kind)
        if any(row.status == "champion" for row in existing):
            continue
        model = expert_model(kind)
        expert = [row for row in existing if row.model_version == model.model_version]
        if expert:
            await repository.set_model_status(
                session, [expert[0].id], "champion", datetime.now(UTC)
            )
            continue
        await repository.insert_model_if_absent(
            session,
            {
                "id": uuid.uuid4(),
                "kind": kind,
                "version": await repository.next_model_version(session, kind),
                "model_version": model.model_version,
                "status": "champion",
                "model_json": model.to_state(),
                "metrics": None,
                "training_fingerprint": None,
                "features": EXPERT_FEATURES[kind],
                "activated_at": datetime.now(UTC),
            },
        )
    await session.flush()


class ModelCache:
    """The serving models of this process, re-read when older than `refresh_seconds`."""

    def __init__(
        self, *, refresh_seconds: float, cutoffs: dict[str, dict[str, float]] | None = None
    ) -> None:
        self.refresh_seconds = refresh_seconds
        self.cutoffs = cutoffs or {}
        self._serving: ServingModels | None = None
        self._fingerprint: frozenset[tuple[uuid.UUID, str]] = frozenset()
        self._checked_at = 0.0

    def invalidate(self) -> None:
        self._checked_at = 0.0

    async def current(self, session_factory: async_sessionmaker[AsyncSession]) -> ServingModels:
        """`get` for callers without a session: opens one only when a refresh is due."""
        if self._serving is not None and time.monotonic() - self._checked_at < self.refresh_seconds:
            return self._serving
        async with session_factory() as session, session.begin():
            return await self.get(session)

    async def get(self, session: AsyncSession) -> ServingModels:
        if self._serving is not None and time.monotonic() - self._checked_at < self.refresh_seconds:
            return self._serving
        fingerprint = frozenset(await repository.serving_fingerprint(session))
        if self._serving is None or fingerprint != self._fingerprint:
            rows = await repository.serving_models(session)
            if {row.kind for row in rows if row.status == "champion"} != set(MODEL_KINDS):
                await ensure_expert_models(session)
                rows = await repository.serving_models(session)
            self._serving = self._build(rows)
            self._fingerprint = frozenset((row.id, row.status) for row in rows)
        self._checked_at = time.monotonic()
        return self._serving

    def _build(self, rows: list[ScoringModel]) -> ServingModels:
        champions: dict[str, ServingModel] = {}
        challengers: dict[str, ServingModel] = {}
        for row in rows:
            kind: ModelKind = row.kind  # type: ignore[assignment]
            model = _with_cutoffs(load_model(row.model_json), self.cutoffs, row.kind)
            serving = ServingModel(row.id, kind, row.status, model)
            (champions if row.status == "champion" else challengers)[row.kind] = serving
        return ServingModels(champions, challengers)


def is_deployable(row: ScoringModel) -> bool:
    """Live scoring reads customer features: a model trained on other columns cannot serve."""
    if row.kind == "anomaly":
        return True
    return set(row.features) <= set(CUSTOMER_FEATURE_NAMES)


async def get_model_or_404(session: AsyncSession, model_id: uuid.UUID) -> ScoringModel:
    row = await repository.get_model(session, model_id)
    if row is None:
        raise ModelNotFound(f"no model {model_id}")
    return row


async def promote(session: AsyncSession, model_id: uuid.UUID, *, status: str) -> ScoringModel:
    """Make a model its kind's champion (activate / roll back) or challenger (shadow)."""
    row = await get_model_or_404(session, model_id)
    if not is_deployable(row):
        missing = sorted(set(row.features) - set(CUSTOMER_FEATURE_NAMES))
        raise ModelNotDeployable(
            f"features {', '.join(missing[:5])} are not customer features; "
            "the model can be inspected but not serve",
        )
    if status == "challenger" and row.status == "champion":
        raise InvalidModelTransition("the champion cannot also be its own challenger")
    await repository.lock_model_kind(session, row.kind)
    others = [
        other.id
        for other in await repository.models_of_kind(session, row.kind)
        if other.status == status and other.id != row.id
    ]
    await repository.set_model_status(session, others, "retired")
    now = datetime.now(UTC)
    await repository.set_model_status(session, [row.id], status, now)
    await session.refresh(row)
    return row


async def retire(session: AsyncSession, model_id: uuid.UUID) -> ScoringModel:
    """Retire a candidate or challenger; retiring a retired version changes nothing."""
    row = await get_model_or_404(session, model_id)
    if row.status == "champion":
        raise InvalidModelTransition(
            "the champion cannot retire: activate another version (or the expert model) first"
        )
    if row.status != "retired":
        await repository.lock_model_kind(session, row.kind)
        await repository.set_model_status(session, [row.id], "retired")
        await session.refresh(row)
    return row


async def store_trained_model(
    session: AsyncSession,
    *,
    kind: ModelKind,
    model: Model,
    metrics: dict[str, Any],
    fingerprint: str,
    features: list[str],
    baseline: list[float],
) -> ScoringModel:
    await repository.lock_model_kind(session, kind)
    version = await repository.next_model_version(session, kind)
    model = dataclasses.replace(model, model_version=f"{model.model_version}-v{version}")
    row = ScoringModel(
        id=uuid.uuid4(),
        kind=kind,
        version=version,
        model_version=model.model_version,
        status="candidate",
        model_json=model.to_state(),
        metrics=metrics,
        training_fingerprint=fingerprint,
        features=features,
        baseline_scores=baseline,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row
