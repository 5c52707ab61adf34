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

from riskwatch_scoring import model_governance
from riskwatch_scoring.domain.levels import ModelKind
from riskwatch_scoring.model_governance import Promotion
from riskwatch_scoring.models import ScoringModel
from riskwatch_shared.config_bundle import ImportMode, ObjectDiff, diff_collection, field_changes
from riskwatch_shared.governance import Approver
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


# --- import ------------------------------------------------------------------------------

PROMOTIONS: dict[str, Promotion] = {"champion": "activate", "challenger": "shadow"}


def plan(section: ScoringSection, current: dict[str, dict[str, Any]]) -> list[ObjectDiff]:
    """Per model (by kind and model version): which registered version serves is what an
    import changes; a model this install lacks, or whose own metadata differs, is reported
    and left alone (its weights are not in a bundle)."""
    wanted = {model.key: model.model_dump(mode="json") for model in section.models}
    diffs = diff_collection("model", current, wanted, name_of="model_version")
    for diff in diffs:
        if diff.action == "create":
            diff.changes = field_changes({}, wanted[diff.key])
            diff.note = (
                "not registered in this install: a model is registered by training it here "
                "(its weights are not in a bundle); left alone"
            )
        elif diff.action == "change":
            own = {change.field for change in diff.changes} - {"status"}
            if own:
                diff.note = (
                    f"the model's own {', '.join(sorted(own))} differ: not changed by an "
                    "import (a different training of the same version?)"
                )
    return diffs


async def import_section(
    session: AsyncSession, section: ScoringSection, *, mode: ImportMode, approver: Approver
) -> list[ObjectDiff]:
    """Dry-run: the diff, nothing stored. Apply: a model the bundle has serving (champion) or
    shadowing (challenger) is proposed so (maker-checker: a second person approves it);
    one it has retired is retired at once (audited in the model's history)."""
    current = await current_models(session)
    diffs = plan(section, current)
    if mode == "dry-run":
        return diffs
    ids = {
        model_key(row.kind, row.model_version): row.id
        for row in (await session.scalars(select(ScoringModel))).all()
    }
    statuses = {model.key: model.status for model in section.models}
    for diff in diffs:
        if diff.action != "change" or "status" not in {c.field for c in diff.changes}:
            continue
        status, model_id = statuses[diff.key], ids[diff.key]
        if status in PROMOTIONS:
            proposal = await model_governance.propose(
                session, model_id, PROMOTIONS[status], approver
            )
            diff.applied, diff.proposal_id = "proposal", str(proposal.id)
            diff.note = "awaits a second person's approval (GET /v1/model-proposals)"
        elif status == "retired" and current[diff.key]["status"] != "champion":
            await model_governance.retire_now(session, model_id, approver)
            diff.applied = "direct"
        else:
            diff.note = (
                f"a {current[diff.key]['status']} model does not become {status} by itself: "
                "approve another version as champion"
            )
    await session.flush()
    return diffs
