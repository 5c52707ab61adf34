"""The quantile-binned and the linear scorecard: one-hot bins (or signed-log values) and an L2
logistic regression whose coefficients become points.

Numeric columns are either binned at training quantiles and one-hot encoded (`binned`, a
classic scorecard) or signed-log scaled and standardised (`linear`); categorical columns
are one-hot encoded, rare levels pooled into "other". Points = -factor * coefficient and
base points = offset - factor * intercept, so the scorecard's probability equals the
regression's exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

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


def _encoders(
    features: Sequence[str], categorical: frozenset[str], encoding: Encoding
) -> list[_ColumnEncoder]:
    return [
        _ColumnEncoder(feature, "categorical" if feature in categorical else encoding)
        for feature in features
    ]


def fit_scorecard(
    rows: Sequence[Row],
    labels: npt.NDArray[np.int_],
    features: Sequence[str],
    categorical: frozenset[str],
    *,
    encoding: Encoding,
    n_bins: int,
    min_level_count: int,
    regularisation_c: float,
    scaling: ScoreScaling,
    model_version: str,
) -> Scorecard:
    encoders = _encoders(features, categorical, encoding)
    for encoder in encoders:
        encoder.fit(rows, n_bins, min_level_count)
    design = np.hstack([encoder.encode(rows) for encoder in encoders])
    from sklearn.linear_model import LogisticRegression  # lazy, see training.py

    regression = LogisticRegression(C=regularisation_c, max_iter=2_000)
    regression.fit(design, labels)
    factor, offset = scaling.factor, scaling.offset
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
        scaling=scaling,
    )
