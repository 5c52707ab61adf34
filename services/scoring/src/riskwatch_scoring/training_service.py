"""Training on the institution's history (labels x stored features, or an uploaded CSV)."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_scoring import repository
from riskwatch_scoring.domain.features import CUSTOMER_FEATURE_NAMES
from riskwatch_scoring.domain.levels import DEFAULT_CUTOFFS
from riskwatch_scoring.domain.scorecard import Scorecard
from riskwatch_scoring.domain.training import (
    Cell,
    Encoding,
    Table,
    TrainingConfig,
    TrainingResult,
    parse_csv_text,
    train_credit_scorecard,
)
from riskwatch_scoring.errors import InvalidTrainingData
from riskwatch_scoring.models import ScoringModel
from riskwatch_scoring.registry import store_trained_model

TARGET = "outcome"
BASELINE_QUANTILES = 200
MIN_ROWS = 30
CATEGORICAL_FEATURES = frozenset({"currency"})


def _check_target(table: Table, target: str, folds: int) -> None:
    if target not in table.columns:
        raise InvalidTrainingData(f"no target column {target!r}; columns: {table.columns[:20]}")
    values = [row.get(target) for row in table.rows]
    labels = {str(value).split(".")[0] for value in values if value is not None}
    if not labels <= {"0", "1"}:
        raise InvalidTrainingData(f"target {target!r} must be 0 or 1, found {sorted(labels)[:5]}")
    if len(table.rows) < MIN_ROWS:
        raise InvalidTrainingData(f"need at least {MIN_ROWS} rows, got {len(table.rows)}")
    positives = sum(1 for value in values if str(value).startswith("1"))
    if min(positives, len(values) - positives) < folds:
        raise InvalidTrainingData(f"each class needs at least {folds} rows to cross-validate")
    if any(value is None for value in values):
        raise InvalidTrainingData(f"target {target!r} has blank cells")


def _usable_features(table: Table, target: str, wanted: Sequence[str] | None) -> list[str]:
    """Requested (or all) columns that vary: a constant or empty column cannot be fitted."""
    candidates = list(wanted) if wanted else [c for c in table.columns if c != target]
    unknown = [c for c in candidates if c not in table.columns or c == target]
    if unknown:
        raise InvalidTrainingData(f"unknown feature columns: {unknown[:10]}")
    usable = []
    for column in candidates:
        present = {row.get(column) for row in table.rows if row.get(column) is not None}
        if len(present) >= 2:
            usable.append(column)
    if not usable:
        raise InvalidTrainingData("no feature column has at least two distinct values")
    return usable


def _as_kind(result: TrainingResult, kind: str) -> Scorecard:
    model = result.model
    if kind == "credit":
        return model
    return dataclasses.replace(
        model,
        kind="churn",
        cutoffs=DEFAULT_CUTOFFS["churn"],
        model_version=model.model_version.replace("credit-", f"{kind}-", 1),
    )


def _baseline(model: Scorecard, table: Table) -> list[float]:
    scores = np.array([model.probability(row) for row in table.rows], dtype=np.float64)
    quantiles = np.quantile(scores, np.linspace(0, 1, BASELINE_QUANTILES))
    return [float(q) for q in quantiles]


def _train(
    table: Table, target: str, features: list[str], config: TrainingConfig, kind: str
) -> tuple[Scorecard, TrainingResult, list[float]]:
    try:
        result = train_credit_scorecard(table, target, features=features, config=config)
    except ValueError as exc:
        raise InvalidTrainingData(str(exc)) from exc
    model = _as_kind(result, kind)
    return model, result, _baseline(model, table)


async def _train_and_store(
    session: AsyncSession,
    *,
    kind: str,
    table: Table,
    target: str,
    features: list[str],
    config: TrainingConfig,
    source: str,
) -> tuple[ScoringModel, dict[str, Any]]:
    model, result, baseline = await asyncio.to_thread(_train, table, target, features, config, kind)
    report = {**result.report.to_state(), "source": source, "target": target}
    row = await store_trained_model(
        session,
        kind=kind,  # type: ignore[arg-type]
        model=model,
        metrics=report,
        fingerprint=result.report.data_fingerprint,
        features=features,
        baseline=baseline,
    )
    return row, report


async def train_from_csv(
    session: AsyncSession,
    *,
    kind: str,
    csv_text: str,
    target: str,
    categorical: Sequence[str] | None,
    features: Sequence[str] | None,
    encoding: Encoding,
    folds: int,
) -> tuple[ScoringModel, dict[str, Any]]:
    try:
        table = parse_csv_text(csv_text, categorical=categorical)
    except (KeyError, ValueError, AttributeError, csv.Error) as exc:
        raise InvalidTrainingData(f"unreadable CSV: {exc}") from exc
    if not table.columns:
        raise InvalidTrainingData("the CSV has no header row")
    _check_target(table, target, folds)
    usable = _usable_features(table, target, features)
    config = TrainingConfig(encoding=encoding, folds=folds)
    return await _train_and_store(
        session,
        kind=kind,
        table=table,
        target=target,
        features=usable,
        config=config,
        source="csv",
    )


def labelled_table(rows: list[tuple[int, dict[str, Any]]], features: Sequence[str]) -> Table:
    table_rows: list[dict[str, Cell]] = []
    for outcome, values in rows:
        row: dict[str, Cell] = {}
        for name in features:
            value = values.get(name)
            if isinstance(value, bool):
                value = float(value)
            row[name] = value if isinstance(value, int | float | str) else None
        row[TARGET] = float(outcome)
        table_rows.append(row)
    return Table(
        columns=[*features, TARGET],
        rows=table_rows,
        categorical=CATEGORICAL_FEATURES & set(features),
    )


async def train_from_labels(
    session: AsyncSession,
    *,
    kind: str,
    features: Sequence[str] | None,
    encoding: Encoding,
    folds: int,
) -> tuple[ScoringModel, dict[str, Any]]:
    unknown = [name for name in features or () if name not in CUSTOMER_FEATURE_NAMES]
    if unknown:
        raise InvalidTrainingData(f"not customer features: {unknown[:10]}")
    rows = await repository.training_rows(session, kind)
    table = labelled_table(rows, list(features or CUSTOMER_FEATURE_NAMES))
    _check_target(table, TARGET, folds)
    usable = _usable_features(table, TARGET, features)
    config = TrainingConfig(encoding=encoding, folds=folds)
    return await _train_and_store(
        session,
        kind=kind,
        table=table,
        target=TARGET,
        features=usable,
        config=config,
        source="labels",
    )
