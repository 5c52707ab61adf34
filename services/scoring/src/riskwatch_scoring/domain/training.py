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


class TrainingDataError(ValueError):
    """Data the pipeline refuses, with a reason the user can act on (a 422 through the API)."""


@dataclass(frozen=True, slots=True)
class Table:
    columns: list[str]
    rows: list[dict[str, Cell]]
    categorical: frozenset[str]
    # Columns read as numbers that hold text: kept as text so nothing is lost, never fitted.
    text_in_numeric: frozenset[str] = frozenset()

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
    text_in_numeric: set[str] = set()
    rows: list[dict[str, Cell]] = []
    for raw in raw_rows:
        row: dict[str, Cell] = {}
        for column in columns:
            text = (raw[column] or "").strip()
            number = None if column in categorical_set else _parse_number(text)
            if text == "":
                row[column] = None
            elif column in categorical_set:
                row[column] = text
            elif number is None:
                row[column] = text
                text_in_numeric.add(column)
            else:
                row[column] = number
        rows.append(row)
    return Table(
        columns=columns,
        rows=rows,
        categorical=categorical_set,
        text_in_numeric=frozenset(text_in_numeric),
    )


def _is_label(value: Cell, expected: str) -> bool:
    """A target cell equals a label: as text, or as numbers ("1" and 1.0 are the same)."""
    text = str(value).strip()
    if text == expected:
        return True
    number, wanted = _parse_number(text), _parse_number(expected)
    return number is not None and number == wanted


def binary_labels(
    values: Sequence[Cell], target: str, *, bad_value: str | None = None
) -> npt.NDArray[np.int_]:
    """1 for bad, 0 for good. Without `bad_value` every cell must be 0 or 1 (1.5 is refused);
    with it, cells equal to `bad_value` are 1 and every other value is 0."""
    if any(value is None or str(value).strip() == "" for value in values):
        raise TrainingDataError(f"target {target!r} has blank cells")
    if bad_value is not None:
        labels = [int(_is_label(value, bad_value)) for value in values]
    else:
        refused = sorted({str(v) for v in values if not (_is_label(v, "0") or _is_label(v, "1"))})
        if refused:
            raise TrainingDataError(
                f"target {target!r} must be 0 or 1 (or declare the bad value), found {refused[:5]}"
            )
        labels = [int(_is_label(value, "1")) for value in values]
    array = np.array(labels, dtype=np.int_)
    if set(np.unique(array).tolist()) != {0, 1}:
        raise TrainingDataError(f"target {target!r} must hold both good and bad rows")
    return array


def select_features(
    table: Table, target: str, requested: Sequence[str] | None
) -> tuple[list[str], dict[str, str]]:
    """The columns to fit and the ones left out with why. A requested column is never left
    out: one that cannot be fitted is refused, naming it."""
    candidates = list(requested) if requested else [c for c in table.columns if c != target]
    unknown = [c for c in candidates if c not in table.columns or c == target]
    if unknown:
        raise TrainingDataError(f"unknown feature columns: {unknown[:10]}")
    text = [c for c in candidates if c in table.text_in_numeric]
    if text:
        raise TrainingDataError(
            f"columns {text[:10]} hold text but are not declared categorical: "
            "list them in `categorical` or leave them out of `features`"
        )
    constant = [c for c in candidates if len(_distinct(table, c)) < 2]
    if requested and constant:
        raise TrainingDataError(
            f"requested features {constant[:10]} have fewer than two distinct values"
        )
    usable = [c for c in candidates if c not in constant]
    if not usable:
        raise TrainingDataError("no feature column has at least two distinct values")
    return usable, dict.fromkeys(constant, "fewer than two distinct values")


def _distinct(table: Table, column: str) -> set[Cell]:
    return {row.get(column) for row in table.rows if row.get(column) is not None}


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
    parameters: dict[str, Any] = field(default_factory=dict)
    dropped_features: dict[str, str] = field(default_factory=dict)

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
            "parameters": self.parameters,
            "dropped_features": dict(self.dropped_features),
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


def _parameters(
    config: TrainingConfig,
    features: Sequence[str],
    categorical: frozenset[str],
    bad_value: str | None,
) -> dict[str, Any]:
    """Everything besides the data that shapes the model: part of its version name."""
    return {
        "encoding": config.encoding,
        "n_bins": config.n_bins,
        "folds": config.folds,
        "regularisation_c": config.regularisation_c,
        "min_level_share": config.min_level_share,
        "seed": config.seed,
        "scaling": config.scaling.to_state(),
        "features": list(features),
        "categorical": sorted(categorical & set(features)),
        "bad_value": bad_value,
    }


def model_version_name(kind: str, algorithm: str, data: str, parameters: str) -> str:
    """`credit-binned-<data 12 hex>-p<parameters 8 hex>`: different data or parameters give
    different names (the registry appends `-v<version>`)."""
    return f"{kind}-{algorithm}-{data[:12]}-p{parameters[:8]}"


def sample_sd(values: Sequence[float]) -> float:
    """Sample standard deviation (n - 1): the folds are a sample of possible splits."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def train_credit_scorecard(
    table: Table,
    target: str,
    *,
    features: Sequence[str] | None = None,
    config: TrainingConfig | None = None,
    bad_value: str | None = None,
) -> TrainingResult:
    """Fit a scorecard on all rows and report its held-out quality."""
    config = config or TrainingConfig()
    labels = binary_labels([row.get(target) for row in table.rows], target, bad_value=bad_value)
    features, dropped = select_features(table, target, features)
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
    parameters = _parameters(config, features, table.categorical, bad_value)
    model_version = model_version_name(
        "credit", config.encoding, fingerprint, inputs_hash(parameters)
    )
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
        auc_std=sample_sd(fold_aucs),
        gini=2 * auc(held_labels, held_probabilities) - 1,
        ks=ks_statistic(held_labels, held_probabilities),
        brier=brier_score(held_labels, held_probabilities),
        calibration=calibration_table(held_labels, held_probabilities),
        parameters=parameters,
        dropped_features=dropped,
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
