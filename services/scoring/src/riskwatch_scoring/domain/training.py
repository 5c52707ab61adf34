"""Train a credit scorecard from a table of rows and a binary target, and report on it.

Pipeline: numeric columns are either binned at training quantiles and one-hot encoded
(`encoding="binned"`, a classic scorecard) or signed-log scaled and standardised
(`encoding="linear"`); categorical columns are one-hot encoded, rare levels pooled into
"other". A logistic regression fits the encoded matrix; coefficients become points with
points = -factor * coefficient and base points = offset - factor * intercept, so the
scorecard's probability equals the regression's exactly. Held-out figures come from
stratified k-fold cross-validation below `HOLDOUT_FROM_ROWS` rows, else a 20% holdout.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split

from riskwatch_scoring.domain.canonical import inputs_hash
from riskwatch_scoring.domain.metrics import (
    CalibrationBin,
    auc,
    brier_score,
    calibration_table,
    ks_statistic,
)
from riskwatch_scoring.domain.scorecard import (
    BinnedCharacteristic,
    CategoricalCharacteristic,
    Characteristic,
    LinearCharacteristic,
    Scorecard,
    ScoreScaling,
    signed_log,
)

Cell = float | str | None
Row = Mapping[str, Cell]
Encoding = Literal["binned", "linear"]
FloatMatrix = npt.NDArray[np.float64]

HOLDOUT_FROM_ROWS = 20_000
# Integer-coded columns with at most this many distinct values read as categories.
MAX_CODE_LEVELS = 12


@dataclass(frozen=True, slots=True)
class Table:
    columns: list[str]
    rows: list[dict[str, Cell]]
    categorical: frozenset[str]

    @property
    def numeric(self) -> frozenset[str]:
        return frozenset(self.columns) - self.categorical


def _parse_number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _is_categorical(values: list[str]) -> bool:
    present = [value for value in values if value != ""]
    numbers = [_parse_number(value) for value in present]
    if any(number is None for number in numbers):
        return True
    all_integers = all(number is not None and number.is_integer() for number in numbers)
    return all_integers and len(set(present)) <= MAX_CODE_LEVELS


def load_csv(path: Path | str, *, categorical: Sequence[str] | None = None) -> Table:
    """Read a CSV with a header; infer numeric vs categorical columns unless told.

    A column is categorical when any value is not a number, or when it holds only
    integer codes with few distinct values (EDUCATION, MARRIAGE). Blank cells are None.
    """
    with Path(path).open(newline="", encoding="utf-8") as handle:
        return read_csv(handle, categorical=categorical)


def parse_csv_text(text: str, *, categorical: Sequence[str] | None = None) -> Table:
    """`load_csv` for CSV text already in memory (an uploaded file)."""
    return read_csv(io.StringIO(text, newline=""), categorical=categorical)


def read_csv(handle: Iterable[str], *, categorical: Sequence[str] | None = None) -> Table:
    reader = csv.DictReader(handle)
    columns = list(reader.fieldnames or [])
    raw_rows = list(reader)
    if categorical is None:
        categorical = [c for c in columns if _is_categorical([row[c] for row in raw_rows])]
    categorical_set = frozenset(categorical)
    rows: list[dict[str, Cell]] = []
    for raw in raw_rows:
        row: dict[str, Cell] = {}
        for column in columns:
            text = raw[column].strip()
            if text == "":
                row[column] = None
            elif column in categorical_set:
                row[column] = text
            else:
                row[column] = _parse_number(text)
        rows.append(row)
    return Table(columns=columns, rows=rows, categorical=categorical_set)


def _numbers(rows: Sequence[Row], column: str) -> list[float | None]:
    values: list[float | None] = []
    for row in rows:
        value = row.get(column)
        values.append(None if value is None or value == "" else float(value))
    return values


class _ColumnEncoder:
    """Turns one table column into design-matrix columns and back into a characteristic."""

    def __init__(self, feature: str, kind: Literal["binned", "linear", "categorical"]) -> None:
        self.feature = feature
        self.kind = kind
        self.edges: tuple[float, ...] = ()
        self.levels: list[str] = []
        self.centre, self.scale = 0.0, 1.0
        self.has_missing = False

    def fit(self, rows: Sequence[Row], n_bins: int, min_level_count: int) -> None:
        if self.kind == "categorical":
            counts = Counter(
                str(row[self.feature]) for row in rows if row.get(self.feature) is not None
            )
            self.levels = sorted(level for level, n in counts.items() if n >= min_level_count)
            self.has_missing = any(row.get(self.feature) is None for row in rows)
            return
        values = _numbers(rows, self.feature)
        present = np.array([value for value in values if value is not None], dtype=np.float64)
        self.has_missing = len(present) < len(values)
        if self.kind == "binned":
            quantiles = np.quantile(present, np.linspace(0, 1, n_bins + 1)[1:-1])
            self.edges = tuple(float(edge) for edge in np.unique(quantiles))
        else:
            transformed = np.array([signed_log(value) for value in present])
            self.centre = float(transformed.mean())
            self.scale = float(transformed.std()) or 1.0

    @property
    def width(self) -> int:
        if self.kind == "categorical":
            return len(self.levels) + 1 + int(self.has_missing)
        if self.kind == "binned":
            return len(self.edges) + 1 + int(self.has_missing)
        return 1

    def encode(self, rows: Sequence[Row]) -> FloatMatrix:
        matrix = np.zeros((len(rows), self.width), dtype=np.float64)
        if self.kind == "categorical":
            index = {level: i for i, level in enumerate(self.levels)}
            for row_number, row in enumerate(rows):
                value = row.get(self.feature)
                if value is None:
                    matrix[row_number, -1] = 1.0 if self.has_missing else 0.0
                else:
                    matrix[row_number, index.get(str(value), len(self.levels))] = 1.0
            return matrix
        values = _numbers(rows, self.feature)
        if self.kind == "binned":
            for row_number, value in enumerate(values):
                if value is None:
                    matrix[row_number, -1] = 1.0 if self.has_missing else 0.0
                else:
                    matrix[row_number, int(np.searchsorted(self.edges, value, side="right"))] = 1.0
            return matrix
        for row_number, value in enumerate(values):
            if value is not None:
                matrix[row_number, 0] = (signed_log(value) - self.centre) / self.scale
        return matrix

    def characteristic(self, points: list[float], z_range: tuple[float, float]) -> Characteristic:
        missing = points[-1] if self.has_missing and self.kind != "linear" else 0.0
        if self.kind == "categorical":
            category_points = dict(zip(self.levels, points, strict=False))
            other = points[len(self.levels)]
            return CategoricalCharacteristic(
                feature=self.feature,
                category_points=category_points,
                other_points=other,
                missing_points=missing,
                reference_points=max([*category_points.values(), other, missing]),
            )
        if self.kind == "binned":
            bin_points = tuple(points[: len(self.edges) + 1])
            return BinnedCharacteristic(
                feature=self.feature,
                edges=self.edges,
                bin_points=bin_points,
                missing_points=missing,
                reference_points=max([*bin_points, missing]),
            )
        per_unit = points[0]
        return LinearCharacteristic(
            feature=self.feature,
            centre=self.centre,
            scale=self.scale,
            points_per_unit=per_unit,
            reference_points=max(per_unit * z_range[0], per_unit * z_range[1], 0.0),
        )


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    encoding: Encoding = "linear"
    n_bins: int = 5
    folds: int = 5
    regularisation_c: float = 1.0
    min_level_share: float = 0.005
    seed: int = 0
    scaling: ScoreScaling = field(default_factory=ScoreScaling)


@dataclass(frozen=True, slots=True)
class TrainingReport:
    model_version: str
    validation: str
    n_rows: int
    positive_rate: float
    features: list[str]
    encoding: str
    data_fingerprint: str
    fold_aucs: list[float]
    auc_mean: float
    auc_std: float
    gini: float
    ks: float
    brier: float
    calibration: list[CalibrationBin]

    def to_state(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "validation": self.validation,
            "n_rows": self.n_rows,
            "positive_rate": self.positive_rate,
            "features": list(self.features),
            "encoding": self.encoding,
            "data_fingerprint": self.data_fingerprint,
            "fold_aucs": list(self.fold_aucs),
            "auc_mean": self.auc_mean,
            "auc_std": self.auc_std,
            "gini": self.gini,
            "ks": self.ks,
            "brier": self.brier,
            "calibration": [row.to_state() for row in self.calibration],
        }


@dataclass(frozen=True, slots=True)
class TrainingResult:
    model: Scorecard
    report: TrainingReport


def _encoders(
    features: Sequence[str], categorical: frozenset[str], encoding: Encoding
) -> list[_ColumnEncoder]:
    return [
        _ColumnEncoder(feature, "categorical" if feature in categorical else encoding)
        for feature in features
    ]


def _fit(
    rows: Sequence[Row],
    labels: npt.NDArray[np.int_],
    features: Sequence[str],
    categorical: frozenset[str],
    config: TrainingConfig,
) -> tuple[list[_ColumnEncoder], LogisticRegression, FloatMatrix]:
    encoders = _encoders(features, categorical, config.encoding)
    min_level_count = max(1, math.ceil(config.min_level_share * len(rows)))
    for encoder in encoders:
        encoder.fit(rows, config.n_bins, min_level_count)
    design = np.hstack([encoder.encode(rows) for encoder in encoders])
    regression = LogisticRegression(C=config.regularisation_c, max_iter=2_000)
    regression.fit(design, labels)
    return encoders, regression, design


def _predict(
    encoders: Sequence[_ColumnEncoder], regression: LogisticRegression, rows: Sequence[Row]
) -> FloatMatrix:
    design = np.hstack([encoder.encode(rows) for encoder in encoders])
    probabilities: FloatMatrix = regression.predict_proba(design)[:, 1]
    return probabilities


def _to_scorecard(
    encoders: Sequence[_ColumnEncoder],
    regression: LogisticRegression,
    design: FloatMatrix,
    config: TrainingConfig,
    model_version: str,
) -> Scorecard:
    factor, offset = config.scaling.factor, config.scaling.offset
    coefficients = [float(c) for c in regression.coef_[0]]
    characteristics: list[Characteristic] = []
    start = 0
    for encoder in encoders:
        block = coefficients[start : start + encoder.width]
        column = design[:, start]
        z_range = (float(column.min()), float(column.max()))
        characteristics.append(encoder.characteristic([-factor * c for c in block], z_range))
        start += encoder.width
    return Scorecard(
        model_version=model_version,
        base_points=offset - factor * float(regression.intercept_[0]),
        characteristics=tuple(characteristics),
        scaling=config.scaling,
    )


def _splits(
    labels: npt.NDArray[np.int_], config: TrainingConfig
) -> tuple[str, list[tuple[Any, Any]]]:
    indices = np.arange(len(labels))
    if len(labels) >= HOLDOUT_FROM_ROWS:
        train, test = train_test_split(
            indices, test_size=0.2, stratify=labels, random_state=config.seed
        )
        return "holdout 20%", [(train, test)]
    folds = StratifiedKFold(n_splits=config.folds, shuffle=True, random_state=config.seed)
    return f"stratified {config.folds}-fold CV", list(folds.split(indices, labels))


def train_credit_scorecard(
    table: Table,
    target: str,
    *,
    features: Sequence[str] | None = None,
    config: TrainingConfig | None = None,
) -> TrainingResult:
    """Fit a scorecard on all rows and report its held-out quality."""
    config = config or TrainingConfig()
    features = list(features or [c for c in table.columns if c != target])
    labels = np.array([int(float(row[target] or 0)) for row in table.rows], dtype=np.int_)
    if set(np.unique(labels)) != {0, 1}:
        raise ValueError(f"target {target!r} must hold both 0 and 1")
    validation, splits = _splits(labels, config)
    held_out = np.full(len(labels), np.nan)
    fold_aucs = []
    for train_index, test_index in splits:
        train_rows = [table.rows[i] for i in train_index]
        encoders, regression, _ = _fit(
            train_rows, labels[train_index], features, table.categorical, config
        )
        predicted = _predict(encoders, regression, [table.rows[i] for i in test_index])
        held_out[test_index] = predicted
        fold_aucs.append(auc(labels[test_index], predicted))
    scored = ~np.isnan(held_out)
    held_labels, held_probabilities = labels[scored], held_out[scored]

    fingerprint = inputs_hash({"columns": table.columns, "target": target, "rows": table.rows})
    model_version = f"credit-trained-{fingerprint[:12]}"
    encoders, regression, design = _fit(table.rows, labels, features, table.categorical, config)
    report = TrainingReport(
        model_version=model_version,
        validation=validation,
        n_rows=len(labels),
        positive_rate=float(labels.mean()),
        features=features,
        encoding=config.encoding,
        data_fingerprint=fingerprint,
        fold_aucs=fold_aucs,
        auc_mean=float(np.mean(fold_aucs)),
        auc_std=float(np.std(fold_aucs)),
        gini=2 * auc(held_labels, held_probabilities) - 1,
        ks=ks_statistic(held_labels, held_probabilities),
        brier=brier_score(held_labels, held_probabilities),
        calibration=calibration_table(held_labels, held_probabilities),
    )
    scorecard = _to_scorecard(encoders, regression, design, config, model_version)
    scorecard = Scorecard(
        model_version=scorecard.model_version,
        base_points=scorecard.base_points,
        characteristics=scorecard.characteristics,
        scaling=scorecard.scaling,
        metadata=report.to_state(),
    )
    return TrainingResult(model=scorecard, report=report)
