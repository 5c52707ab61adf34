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
from riskwatch_scoring.domain.linear_scorecard import Cell
from riskwatch_scoring.domain.training import (
    AlgorithmChoice,
    Table,
    TrainedModel,
    TrainingConfig,
    TrainingDataError,
    TrainingResult,
    binary_labels,
    parse_csv_text,
    train_credit_model,
)
from riskwatch_scoring.errors import InvalidTrainingData
from riskwatch_scoring.models import ScoringModel
from riskwatch_scoring.registry import store_trained_model

TARGET = "outcome"
BASELINE_QUANTILES = 200
MIN_ROWS = 30
CATEGORICAL_FEATURES = frozenset({"currency"})


def _check_target(table: Table, target: str, folds: int, bad_value: str | None) -> None:
    if target not in table.columns:
        raise InvalidTrainingData(f"no target column {target!r}; columns: {table.columns[:20]}")
    if len(table.rows) < MIN_ROWS:
        raise InvalidTrainingData(f"need at least {MIN_ROWS} rows, got {len(table.rows)}")
    try:
        labels = binary_labels([row.get(target) for row in table.rows], target, bad_value=bad_value)
    except TrainingDataError as exc:
        raise InvalidTrainingData(str(exc)) from exc
    positives = int(labels.sum())
    if min(positives, len(labels) - positives) < folds:
        raise InvalidTrainingData(f"each class needs at least {folds} rows to cross-validate")


def _as_kind(result: TrainingResult, kind: str) -> TrainedModel:
    model = result.model
    if kind == "credit":
        return model
    return dataclasses.replace(
        model,
        kind="churn",
        cutoffs=DEFAULT_CUTOFFS["churn"],
        model_version=model.model_version.replace("credit-", f"{kind}-", 1),
    )


def _baseline(model: TrainedModel, table: Table) -> list[float]:
    scores = np.array([model.probability(row) for row in table.rows], dtype=np.float64)
    quantiles = np.quantile(scores, np.linspace(0, 1, BASELINE_QUANTILES))
    return [float(q) for q in quantiles]


def _train(
    table: Table,
    target: str,
    features: Sequence[str] | None,
    config: TrainingConfig,
    kind: str,
    bad_value: str | None,
) -> tuple[TrainedModel, TrainingResult, list[float]]:
    try:
        result = train_credit_model(
            table, target, features=features, config=config, bad_value=bad_value
        )
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
    features: Sequence[str] | None,
    config: TrainingConfig,
    source: str,
    bad_value: str | None = None,
) -> tuple[ScoringModel, dict[str, Any]]:
    model, result, baseline = await asyncio.to_thread(
        _train, table, target, features, config, kind, bad_value
    )
    report = {**result.report.to_state(), "source": source, "target": target}
    row = await store_trained_model(
        session,
        kind=kind,  # type: ignore[arg-type]
        model=model,
        metrics=report,
        fingerprint=result.report.data_fingerprint,
        features=result.report.features,
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
    algorithm: AlgorithmChoice,
    folds: int,
    bad_value: str | None = None,
) -> tuple[ScoringModel, dict[str, Any]]:
    try:
        table = parse_csv_text(csv_text, categorical=categorical)
    except (KeyError, ValueError, AttributeError, csv.Error) as exc:
        raise InvalidTrainingData(f"unreadable CSV: {exc}") from exc
    if not table.columns:
        raise InvalidTrainingData("the CSV has no header row")
    _check_target(table, target, folds, bad_value)
    config = TrainingConfig(algorithm=algorithm, folds=folds)
    return await _train_and_store(
        session,
        kind=kind,
        table=table,
        target=target,
        features=features,
        config=config,
        source="csv",
        bad_value=bad_value,
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
    algorithm: AlgorithmChoice,
    folds: int,
) -> tuple[ScoringModel, dict[str, Any]]:
    unknown = [name for name in features or () if name not in CUSTOMER_FEATURE_NAMES]
    if unknown:
        raise InvalidTrainingData(f"not customer features: {unknown[:10]}")
    rows = await repository.training_rows(session, kind)
    table = labelled_table(rows, list(features or CUSTOMER_FEATURE_NAMES))
    _check_target(table, TARGET, folds, None)
    config = TrainingConfig(algorithm=algorithm, folds=folds)
    return await _train_and_store(
        session,
        kind=kind,
        table=table,
        target=TARGET,
        features=features,
        config=config,
        source="labels",
    )
