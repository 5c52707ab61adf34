"""Configuration as code, scoring's section: the model registry's metadata (which version of
each kind serves, shadows or is retired; its features, metrics and training fingerprint).

A model is keyed `<kind>/<model_version>`, not by its row id: the expert models every install
seeds get ids of their own, while their model version is the same everywhere. The trained
weights (`model_json`) and the score baseline are not configuration and not exported: a model
trained on one bank's labels is registered by training it, and the bundle says which of the
registered versions serves.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_scoring.domain.levels import ModelKind
from riskwatch_scoring.models import ScoringModel
from riskwatch_shared.text import SafeText

SERVICE = "scoring"
MAX_MODELS = 1_000
ModelStatus = Literal["candidate", "champion", "challenger", "retired"]


class ModelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: SafeText = Field(max_length=120)
    kind: ModelKind
    model_version: SafeText = Field(min_length=1, max_length=80)
    status: ModelStatus
    features: list[SafeText] = Field(max_length=500)
    metrics: dict[str, Any] | None = None
    training_fingerprint: SafeText | None = Field(default=None, max_length=64)


class ScoringSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[ModelConfig] = Field(default_factory=list, max_length=MAX_MODELS)


def model_key(kind: str, model_version: str) -> str:
    return f"{kind}/{model_version}"


def model_record(row: ScoringModel) -> dict[str, Any]:
    return {
        "key": model_key(row.kind, row.model_version),
        "kind": row.kind,
        "model_version": row.model_version,
        "status": row.status,
        "features": list(row.features),
        "metrics": row.metrics,
        "training_fingerprint": row.training_fingerprint,
    }


async def current_models(session: AsyncSession) -> dict[str, dict[str, Any]]:
    rows = sorted(
        (await session.scalars(select(ScoringModel))).all(),
        key=lambda r: (r.kind, r.version, r.model_version),
    )
    return {model_key(row.kind, row.model_version): model_record(row) for row in rows}


async def export_section(session: AsyncSession) -> dict[str, Any]:
    return {"models": list((await current_models(session)).values())}
