"""Train a credit model from a table of rows and a binary target, and report on it.

Algorithms: `linear` and `binned` scorecards (`linear_scorecard.py`), the optimal-binning
WoE scorecard (`woe`, `woe_scorecard.py`) and a monotone gradient-boosted model
(`lightgbm`, `boosting.py`); `auto` cross-validates them all on the same splits and keeps
the best mean AUC. Held-out figures come from stratified k-fold cross-validation (repeated
below `REPEAT_BELOW_ROWS` rows) below `HOLDOUT_FROM_ROWS` rows, else a 20% holdout; every
algorithm gets the same report (AUC, Gini, KS, Brier, calibration, sample sd).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from riskwatch_scoring.domain.binning import BinningConfig
from riskwatch_scoring.domain.boosting import (
    BoostedModel,
    BoostingConfig,
    fit_boosted,
    fit_inputs,
    fit_platt,
    stable_sigmoid,
)
from riskwatch_scoring.domain.canonical import inputs_hash
from riskwatch_scoring.domain.linear_scorecard import Cell, FloatMatrix, Row, fit_scorecard
from riskwatch_scoring.domain.metrics import (
    CalibrationBin,
    auc,
    brier_score,
    calibration_table,
    ks_statistic,
    roc_curve,
)
from riskwatch_scoring.domain.scorecard import Scorecard, ScoreScaling
from riskwatch_scoring.domain.woe_scorecard import fit_woe_scorecard

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


Algorithm = Literal["linear", "binned", "woe", "lightgbm"]
AlgorithmChoice = Literal["linear", "binned", "woe", "lightgbm", "auto"]
ALGORITHMS: tuple[Algorithm, ...] = ("linear", "binned", "woe", "lightgbm")
TrainedModel = Scorecard | BoostedModel
# Below this many rows one k-fold split moves the AUC by about 0.005: repeat it.
REPEAT_BELOW_ROWS = 5_000
SMALL_DATA_REPEATS = 3


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    algorithm: AlgorithmChoice = "linear"
    n_bins: int = 5
    folds: int = 5
    repeats: int | None = None  # None: 3 below REPEAT_BELOW_ROWS rows, else 1
    regularisation_c: float = 1.0
    woe_regularisation_c: float = 0.3
    min_level_share: float = 0.005
    seed: int = 0
    binning: BinningConfig = field(default_factory=lambda: BinningConfig(min_bin_share=0.03))
    boosting: BoostingConfig = field(default_factory=BoostingConfig)
    scaling: ScoreScaling = field(default_factory=ScoreScaling)

    def repeats_for(self, n_rows: int) -> int:
        if self.repeats is not None:
            return self.repeats
        return SMALL_DATA_REPEATS if n_rows < REPEAT_BELOW_ROWS else 1


@dataclass(frozen=True, slots=True)
class TrainingReport:
    model_version: str
    validation: str
    n_rows: int
    positive_rate: float
    features: list[str]
    algorithm: str
    data_fingerprint: str
    fold_aucs: list[float]
    auc_mean: float
    auc_std: float
    gini: float
    ks: float
    ks_std: float
    ks_pooled: float
    brier: float
    calibration: list[CalibrationBin]
    calibrated_by: str
    parameters: dict[str, Any] = field(default_factory=dict)
    dropped_features: dict[str, str] = field(default_factory=dict)
    candidates: dict[str, dict[str, float]] = field(default_factory=dict)
    roc: list[dict[str, float]] = field(default_factory=list)

    def to_state(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "validation": self.validation,
            "n_rows": self.n_rows,
            "positive_rate": self.positive_rate,
            "features": list(self.features),
            "algorithm": self.algorithm,
            "data_fingerprint": self.data_fingerprint,
            "fold_aucs": list(self.fold_aucs),
            "auc_mean": self.auc_mean,
            "auc_std": self.auc_std,
            "gini": self.gini,
            "ks": self.ks,
            "ks_std": self.ks_std,
            "ks_pooled": self.ks_pooled,
            "brier": self.brier,
            "calibration": [row.to_state() for row in self.calibration],
            "calibrated_by": self.calibrated_by,
            "parameters": self.parameters,
            "dropped_features": dict(self.dropped_features),
            "candidates": {name: dict(figures) for name, figures in self.candidates.items()},
            "roc": [dict(point) for point in self.roc],
        }


@dataclass(frozen=True, slots=True)
class TrainingResult:
    model: TrainedModel
    report: TrainingReport


def _fit_model(
    algorithm: Algorithm,
    rows: Sequence[Row],
    labels: npt.NDArray[np.int_],
    features: Sequence[str],
    categorical: frozenset[str],
    config: TrainingConfig,
    model_version: str,
) -> TrainedModel:
    if algorithm in ("linear", "binned"):
        return fit_scorecard(
            rows,
            labels,
            features,
            categorical,
            encoding="binned" if algorithm == "binned" else "linear",
            n_bins=config.n_bins,
            min_level_count=max(1, math.ceil(config.min_level_share * len(rows))),
            regularisation_c=config.regularisation_c,
            scaling=config.scaling,
            model_version=model_version,
        )
    inputs = fit_inputs(rows, labels, features, categorical, config.binning)
    if algorithm == "woe":
        return fit_woe_scorecard(
            rows,
            labels,
            inputs,
            regularisation_c=config.woe_regularisation_c,
            scaling=config.scaling,
            model_version=model_version,
        )
    return fit_boosted(
        rows,
        labels,
        inputs,
        config.boosting,
        model_version=model_version,
        scaling=config.scaling,
    )


def _logits(model: TrainedModel, rows: Sequence[Row]) -> FloatMatrix:
    """Log-odds of bad: the boosted model's raw margin, a scorecard's logit of its PD."""
    if isinstance(model, BoostedModel):
        return model.margins(rows)
    probabilities = np.array([model.probability(row) for row in rows], dtype=np.float64)
    clipped = np.clip(probabilities, 1e-12, 1 - 1e-12)
    logits: FloatMatrix = np.log(clipped / (1 - clipped))
    return logits


def _sigmoid(logits: FloatMatrix, platt: tuple[float, float] = (1.0, 0.0)) -> FloatMatrix:
    slope, intercept = platt
    return stable_sigmoid(slope * logits + intercept)


Split = tuple[npt.NDArray[np.int_], npt.NDArray[np.int_]]


def _splits(labels: npt.NDArray[np.int_], config: TrainingConfig) -> tuple[str, list[list[Split]]]:
    """The validation's name and, per repeat, its (train, test) index pairs."""
    # scikit-learn and LightGBM load when a model is trained, not when the service starts.
    from sklearn.model_selection import StratifiedKFold, train_test_split

    indices = np.arange(len(labels))
    if len(labels) >= HOLDOUT_FROM_ROWS:
        train, test = train_test_split(
            indices, test_size=0.2, stratify=labels, random_state=config.seed
        )
        return "holdout 20%", [[(train, test)]]
    repeats = config.repeats_for(len(labels))
    splits = [
        list(
            StratifiedKFold(
                n_splits=config.folds, shuffle=True, random_state=config.seed + repeat
            ).split(indices, labels)
        )
        for repeat in range(repeats)
    ]
    name = f"stratified {config.folds}-fold CV"
    return (name if repeats == 1 else f"{name} x {repeats} repeats"), splits


@dataclass(frozen=True, slots=True)
class CrossValidation:
    """One algorithm's held-out figures; `platt` calibrates the final model (1, 0 = none)."""

    algorithm: Algorithm
    fold_aucs: list[float]
    fold_ks: list[float]
    pooled_ks: list[float]
    briers: list[float]
    calibration: list[CalibrationBin]
    platt: tuple[float, float]
    # The pooled held-out ROC curve (first repeat), for the model report's chart.
    roc: list[dict[str, float]] = field(default_factory=list)

    @property
    def auc_mean(self) -> float:
        return float(np.mean(self.fold_aucs))

    def summary(self) -> dict[str, float]:
        return {
            "auc_mean": self.auc_mean,
            "auc_std": sample_sd(self.fold_aucs),
            "ks": float(np.mean(self.fold_ks)),
            "brier": float(np.mean(self.briers)),
        }


def _cross_fitted_probabilities(
    margins: FloatMatrix, labels: npt.NDArray[np.int_], folds: list[Split]
) -> FloatMatrix:
    """Platt-calibrated held-out probabilities: each fold's (a, b) come from the other folds'
    margins, so no fold is calibrated on itself (a single holdout calibrates on itself)."""
    probabilities = np.full(len(labels), np.nan)
    for _, test in folds:
        others = np.concatenate([t for _, t in folds if t is not test]) if len(folds) > 1 else test
        platt = fit_platt(margins[others], labels[others])
        probabilities[test] = _sigmoid(margins[test], platt)
    return probabilities


def cross_validate(
    algorithm: Algorithm,
    table: Table,
    labels: npt.NDArray[np.int_],
    features: Sequence[str],
    config: TrainingConfig,
    splits: list[list[Split]],
) -> CrossValidation:
    fold_aucs: list[float] = []
    fold_ks: list[float] = []
    pooled_ks: list[float] = []
    briers: list[float] = []
    calibration: list[CalibrationBin] = []
    roc: list[dict[str, float]] = []
    platt = (1.0, 0.0)
    for repeat, folds in enumerate(splits):
        margins = np.full(len(labels), np.nan)
        for train, test in folds:
            model = _fit_model(
                algorithm,
                [table.rows[i] for i in train],
                labels[train],
                features,
                table.categorical,
                config,
                "cross-validation",
            )
            margins[test] = _logits(model, [table.rows[i] for i in test])
        if algorithm == "lightgbm":
            probabilities = _cross_fitted_probabilities(margins, labels, folds)
        else:
            probabilities = _sigmoid(margins)
        for _, test in folds:
            fold_aucs.append(auc(labels[test], probabilities[test]))
            fold_ks.append(ks_statistic(labels[test], probabilities[test]))
        scored = ~np.isnan(probabilities)
        held_labels, held = labels[scored], probabilities[scored]
        pooled_ks.append(ks_statistic(held_labels, held))
        briers.append(brier_score(held_labels, held))
        if repeat == 0:
            calibration = calibration_table(held_labels, held)
            roc = roc_curve(held_labels, held)
            if algorithm == "lightgbm":
                platt = fit_platt(margins[scored], held_labels)
    return CrossValidation(
        algorithm, fold_aucs, fold_ks, pooled_ks, briers, calibration, platt, roc=roc
    )


def _parameters(
    config: TrainingConfig,
    features: Sequence[str],
    categorical: frozenset[str],
    bad_value: str | None,
    algorithm: Algorithm,
) -> dict[str, Any]:
    """Everything besides the data that shapes the model: part of its version name."""
    parameters: dict[str, Any] = {
        "algorithm": algorithm,
        "requested_algorithm": config.algorithm,
        "folds": config.folds,
        "repeats": config.repeats,
        "seed": config.seed,
        "scaling": config.scaling.to_state(),
        "features": list(features),
        "categorical": sorted(categorical & set(features)),
        "bad_value": bad_value,
    }
    if algorithm in ("linear", "binned"):
        parameters.update(
            n_bins=config.n_bins,
            regularisation_c=config.regularisation_c,
            min_level_share=config.min_level_share,
        )
    if algorithm in ("woe", "lightgbm"):
        parameters["binning"] = {
            "max_prebins": config.binning.max_prebins,
            "max_bins": config.binning.max_bins,
            "min_bin_share": config.binning.min_bin_share,
        }
    if algorithm == "woe":
        parameters["regularisation_c"] = config.woe_regularisation_c
    if algorithm == "lightgbm":
        parameters["boosting"] = config.boosting.to_state()
    return parameters


def model_version_name(kind: str, algorithm: str, data: str, parameters: str) -> str:
    """`credit-binned-<data 12 hex>-p<parameters 8 hex>`: different data or parameters give
    different names (the registry appends `-v<version>`)."""
    return f"{kind}-{algorithm}-{data[:12]}-p{parameters[:8]}"


def sample_sd(values: Sequence[float]) -> float:
    """Sample standard deviation (n - 1): the folds are a sample of possible splits."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def train_credit_model(
    table: Table,
    target: str,
    *,
    features: Sequence[str] | None = None,
    config: TrainingConfig | None = None,
    bad_value: str | None = None,
) -> TrainingResult:
    """Cross-validate the algorithm (or, for `auto`, every algorithm and keep the best AUC),
    then fit it on all rows, calibrated, with the held-out report in its metadata."""
    config = config or TrainingConfig()
    labels = binary_labels([row.get(target) for row in table.rows], target, bad_value=bad_value)
    features, dropped = select_features(table, target, features)
    validation, splits = _splits(labels, config)
    algorithms = ALGORITHMS if config.algorithm == "auto" else (config.algorithm,)
    # One BLAS thread: many small fits on a shared machine run 10x slower oversubscribed.
    with threadpool_limits(limits=1):
        results = [cross_validate(a, table, labels, features, config, splits) for a in algorithms]
        chosen = max(results, key=lambda result: result.auc_mean)
        return _final_model(
            table, target, labels, features, dropped, config, bad_value, chosen, results, validation
        )


def _final_model(
    table: Table,
    target: str,
    labels: npt.NDArray[np.int_],
    features: list[str],
    dropped: dict[str, str],
    config: TrainingConfig,
    bad_value: str | None,
    chosen: CrossValidation,
    results: list[CrossValidation],
    validation: str,
) -> TrainingResult:

    fingerprint = inputs_hash({"columns": table.columns, "target": target, "rows": table.rows})
    parameters = _parameters(config, features, table.categorical, bad_value, chosen.algorithm)
    model_version = model_version_name(
        "credit", chosen.algorithm, fingerprint, inputs_hash(parameters)
    )
    model = _fit_model(
        chosen.algorithm,
        table.rows,
        labels,
        features,
        table.categorical,
        config,
        model_version,
    )
    if isinstance(model, BoostedModel):
        model = dataclasses.replace(model, platt=chosen.platt)
    report = TrainingReport(
        model_version=model_version,
        validation=validation,
        n_rows=len(labels),
        positive_rate=float(labels.mean()),
        features=features,
        algorithm=chosen.algorithm,
        data_fingerprint=fingerprint,
        fold_aucs=chosen.fold_aucs,
        auc_mean=chosen.auc_mean,
        auc_std=sample_sd(chosen.fold_aucs),
        gini=2 * chosen.auc_mean - 1,
        ks=float(np.mean(chosen.fold_ks)),
        ks_std=sample_sd(chosen.fold_ks),
        ks_pooled=float(np.mean(chosen.pooled_ks)),
        brier=float(np.mean(chosen.briers)),
        calibration=chosen.calibration,
        calibrated_by=(
            "Platt scaling on out-of-fold margins"
            if chosen.algorithm == "lightgbm"
            else "logistic regression (log loss)"
        ),
        parameters=parameters,
        dropped_features=dropped,
        candidates={result.algorithm: result.summary() for result in results},
        roc=chosen.roc,
    )
    return TrainingResult(
        model=dataclasses.replace(model, metadata=report.to_state()), report=report
    )
