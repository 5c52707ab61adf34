"""Optimal binning and weight of evidence (WoE), for a WoE scorecard and the boosted model.

A numeric column is cut at up to `max_prebins` training quantiles; a categorical column's
levels are ordered by their bad rate. Dynamic programming then merges neighbouring prebins
into at most `max_bins` groups, each holding at least `min_bin_share` of the rows, whose bad
rates follow a trend, maximising the information value (IV). For a numeric column the trend
is ascending or descending (the higher IV); when `BinningConfig.shapes` allows it, a valley
(falls, then rises: small and large loans both riskier) or a peak replaces it if it beats
its IV by `SHAPE_IV_GAIN`. Categorical levels are already in bad-rate order (ascending).
A group's WoE is ln(bad share / good share), with 0.5 added to each count so an all-good
group stays finite: positive WoE means riskier than average. Missing values get their own
WoE when at least `min_bin_share` of the rows are missing, else 0 (neutral); so do
categories unseen in training.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Trend = Literal["ascending", "descending", "valley", "peak"]
# A valley or peak must beat the best monotone binning's IV by this share to be kept.
SHAPE_IV_GAIN = 0.10
SMOOTHING = 0.5


@dataclass(frozen=True, slots=True)
class BinningConfig:
    max_prebins: int = 20
    max_bins: int = 6
    min_bin_share: float = 0.05
    # Non-monotone trends to try beside ascending and descending ("valley", "peak").
    shapes: tuple[Trend, ...] = ()


@dataclass(frozen=True, slots=True)
class _Counts:
    bad: float
    good: float


def _woe(group: _Counts, total: _Counts) -> float:
    return math.log(((group.bad + SMOOTHING) / total.bad) / ((group.good + SMOOTHING) / total.good))


def _iv(group: _Counts, total: _Counts) -> float:
    bad_share = (group.bad + SMOOTHING) / total.bad
    good_share = (group.good + SMOOTHING) / total.good
    return (bad_share - good_share) * math.log(bad_share / good_share)


def _rate(group: _Counts) -> float:
    return (group.bad + SMOOTHING) / (group.bad + group.good + 2 * SMOOTHING)


# The bad rate's direction from one group to the next, per trend (a valley falls, then rises).
TREND_STEPS: dict[str, tuple[int, ...]] = {
    "ascending": (1,),
    "descending": (-1,),
    "valley": (-1, 1),
    "peak": (1, -1),
}


def _next_phase(steps: tuple[int, ...], phase: int, previous: float, rate: float) -> int | None:
    """The trend's phase after a group with `rate` follows one with `previous`, or None."""
    direction = 1 if rate > previous else -1 if rate < previous else 0
    if direction == steps[phase]:
        return phase
    if phase + 1 < len(steps) and direction == steps[phase + 1]:
        return phase + 1
    return None


def optimal_partition(
    prebins: Sequence[_Counts], total: _Counts, *, min_count: float, max_bins: int, trend: Trend
) -> tuple[list[int], float]:
    """Group boundaries (prebin indices where each group starts) maximising IV, and the IV.

    A state is (last group's start, its end, groups so far, the trend's phase); a group may
    follow another only if the bad rate moves as the trend allows.
    """
    n = len(prebins)
    bad = np.cumsum([0.0, *(p.bad for p in prebins)])
    good = np.cumsum([0.0, *(p.good for p in prebins)])

    def group(i: int, j: int) -> _Counts:
        return _Counts(float(bad[j] - bad[i]), float(good[j] - good[i]))

    steps = TREND_STEPS[trend]
    State = tuple[int, int, int, int]
    # state -> (iv, previous state); `ending[j]` holds the states whose last group ends at j
    best: dict[State, tuple[float, State | None]] = {}
    ending: dict[int, list[State]] = {j: [] for j in range(n + 1)}
    for j in range(1, n + 1):
        for i in range(j):
            last = group(i, j)
            if last.bad + last.good < min_count:
                continue
            gain, rate = _iv(last, total), _rate(last)
            if i == 0:
                best[(0, j, 1, 0)] = (gain, None)
                ending[j].append((0, j, 1, 0))
                continue
            for previous in ending[i]:
                h, _, groups, phase = previous
                next_phase = _next_phase(steps, phase, _rate(group(h, i)), rate)
                if groups >= max_bins or next_phase is None:
                    continue
                key, value = (i, j, groups + 1, next_phase), best[previous][0] + gain
                if key not in best:
                    ending[j].append(key)
                if key not in best or best[key][0] < value:
                    best[key] = (value, previous)
    finals = [(value, key) for key, (value, _) in best.items() if key[1] == n]
    if not finals:
        return [0], _iv(total, total)
    iv, state = max(finals)
    starts = []
    cursor: State | None = state
    while cursor is not None:
        starts.append(cursor[0])
        cursor = best[cursor][1]
    return sorted(starts), iv


@dataclass(frozen=True, slots=True)
class NumericBinning:
    """Bins [edges[i-1], edges[i]) with a WoE each; missing values take `missing_woe`."""

    feature: str
    edges: tuple[float, ...]
    woe: tuple[float, ...]
    missing_woe: float
    iv: float
    trend: Trend

    def transform(self, value: float | None) -> float:
        if value is None:
            return self.missing_woe
        return self.woe[bisect.bisect_right(self.edges, value)]

    def to_state(self) -> dict[str, Any]:
        return {
            "type": "numeric",
            "feature": self.feature,
            "edges": list(self.edges),
            "woe": list(self.woe),
            "missing_woe": self.missing_woe,
            "iv": self.iv,
            "trend": self.trend,
        }


@dataclass(frozen=True, slots=True)
class CategoricalBinning:
    """A WoE per training level; unseen levels are neutral (0), missing takes `missing_woe`."""

    feature: str
    category_woe: dict[str, float]
    missing_woe: float
    iv: float

    def transform(self, value: str | None) -> float:
        if value is None:
            return self.missing_woe
        return self.category_woe.get(value, 0.0)

    def to_state(self) -> dict[str, Any]:
        return {
            "type": "categorical",
            "feature": self.feature,
            "category_woe": dict(self.category_woe),
            "missing_woe": self.missing_woe,
            "iv": self.iv,
        }


Binning = NumericBinning | CategoricalBinning


def binning_from_state(state: Mapping[str, Any]) -> Binning:
    if state["type"] == "numeric":
        return NumericBinning(
            feature=state["feature"],
            edges=tuple(state["edges"]),
            woe=tuple(state["woe"]),
            missing_woe=float(state["missing_woe"]),
            iv=float(state["iv"]),
            trend=state["trend"],
        )
    return CategoricalBinning(
        feature=state["feature"],
        category_woe={str(k): float(v) for k, v in state["category_woe"].items()},
        missing_woe=float(state["missing_woe"]),
        iv=float(state["iv"]),
    )


def _totals(labels: npt.NDArray[np.int_]) -> _Counts:
    bad = float(labels.sum())
    return _Counts(bad + SMOOTHING, float(len(labels)) - bad + SMOOTHING)


def _missing_woe(
    missing: npt.NDArray[np.bool_], labels: npt.NDArray[np.int_], total: _Counts, min_count: float
) -> float:
    if missing.sum() < min_count:
        return 0.0
    bad = float(labels[missing].sum())
    return _woe(_Counts(bad, float(missing.sum()) - bad), total)


def bin_numeric(
    feature: str,
    values: Sequence[float | None],
    labels: npt.NDArray[np.int_],
    config: BinningConfig = BinningConfig(),
) -> NumericBinning:
    present = np.array([v is not None for v in values])
    numbers = np.array([v for v in values if v is not None], dtype=np.float64)
    present_labels = labels[present]
    total = _totals(labels)
    min_count = config.min_bin_share * len(labels)
    quantiles = np.quantile(numbers, np.linspace(0, 1, config.max_prebins + 1)[1:-1])
    prebin_edges = [float(edge) for edge in np.unique(quantiles)]
    index = np.searchsorted(prebin_edges, numbers, side="right")
    bads = np.bincount(index, weights=present_labels, minlength=len(prebin_edges) + 1)
    counts = np.bincount(index, minlength=len(prebin_edges) + 1)
    prebins = [_Counts(float(b), float(c - b)) for b, c in zip(bads, counts, strict=True)]
    fits = {
        trend: optimal_partition(
            prebins, total, min_count=min_count, max_bins=config.max_bins, trend=trend
        )
        for trend in ("ascending", "descending", *config.shapes)
    }
    monotone: Trend = max(("ascending", "descending"), key=lambda t: fits[t][1])
    trend = monotone
    shaped = [t for t in ("valley", "peak") if t in fits]
    if shaped:
        best_shape = max(shaped, key=lambda t: fits[t][1])
        if fits[best_shape][1] > (1 + SHAPE_IV_GAIN) * fits[monotone][1]:
            trend = best_shape
    starts, iv = fits[trend]
    edges = tuple(prebin_edges[start - 1] for start in starts[1:])
    bounds = [*starts, len(prebins)]
    woe = tuple(_woe(_merge(prebins[bounds[g] : bounds[g + 1]]), total) for g in range(len(starts)))
    missing_woe = _missing_woe(~present, labels, total, min_count)
    return NumericBinning(feature, edges, woe, missing_woe, iv, trend)


def _merge(prebins: Sequence[_Counts]) -> _Counts:
    return _Counts(sum(p.bad for p in prebins), sum(p.good for p in prebins))


def bin_categorical(
    feature: str,
    values: Sequence[str | None],
    labels: npt.NDArray[np.int_],
    config: BinningConfig = BinningConfig(),
) -> CategoricalBinning:
    total = _totals(labels)
    min_count = config.min_bin_share * len(labels)
    counts = Counter(v for v in values if v is not None)
    bads = Counter(v for v, label in zip(values, labels, strict=True) if v is not None and label)
    levels = sorted(counts, key=lambda level: (_rate(_level(bads, counts, level)), level))
    prebins = [_level(bads, counts, level) for level in levels]
    starts, iv = optimal_partition(
        prebins, total, min_count=min_count, max_bins=config.max_bins, trend="ascending"
    )
    bounds = [*starts, len(levels)]
    category_woe: dict[str, float] = {}
    for g in range(len(starts)):
        group_woe = _woe(_merge(prebins[bounds[g] : bounds[g + 1]]), total)
        category_woe.update(dict.fromkeys(levels[bounds[g] : bounds[g + 1]], group_woe))
    missing = np.array([v is None for v in values])
    return CategoricalBinning(
        feature, category_woe, _missing_woe(missing, labels, total, min_count), iv
    )


def _level(bads: Counter[str], counts: Counter[str], level: str) -> _Counts:
    return _Counts(float(bads[level]), float(counts[level] - bads[level]))


def woe_value(binning: Binning, value: Any) -> float:
    """The WoE of a raw feature value (a live customer's or a CSV cell)."""
    if isinstance(binning, CategoricalBinning):
        return binning.transform(None if value is None or value == "" else str(value))
    if isinstance(value, bool):
        return binning.transform(float(value))
    try:
        number = None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        number = None
    finite = number is not None and math.isfinite(number)
    return binning.transform(number if finite else None)
