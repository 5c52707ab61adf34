"""Optimal binning: the dynamic programme finds the best partition a brute force finds."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from riskwatch_scoring.domain.binning import (
    TREND_STEPS,
    BinningConfig,
    CategoricalBinning,
    _Counts,
    _iv,
    _merge,
    _rate,
    bin_categorical,
    bin_numeric,
    binning_from_state,
    optimal_partition,
    woe_value,
)


def _follows(rates: list[float], steps: tuple[int, ...]) -> bool:
    phase = 0
    for previous, rate in itertools.pairwise(rates):
        direction = 1 if rate > previous else -1 if rate < previous else 0
        if direction == steps[phase]:
            continue
        if phase + 1 < len(steps) and direction == steps[phase + 1]:
            phase += 1
            continue
        return False
    return True


def _brute_force(
    prebins: list[_Counts], total: _Counts, min_count: float, max_bins: int, trend: str
) -> float | None:
    best = None
    n = len(prebins)
    for cuts in itertools.product((False, True), repeat=n - 1):
        starts = [0, *(i + 1 for i, cut in enumerate(cuts) if cut)]
        if len(starts) > max_bins:
            continue
        bounds = [*starts, n]
        groups = [_merge(prebins[bounds[g] : bounds[g + 1]]) for g in range(len(starts))]
        if any(g.bad + g.good < min_count for g in groups):
            continue
        if not _follows([_rate(g) for g in groups], TREND_STEPS[trend]):
            continue
        iv = sum(_iv(g, total) for g in groups)
        best = iv if best is None else max(best, iv)
    return best


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=2, max_size=8),
    max_bins=st.integers(1, 5),
    trend=st.sampled_from(sorted(TREND_STEPS)),
)
def test_the_partition_is_the_best_a_brute_force_finds(
    counts: list[tuple[int, int]], max_bins: int, trend: str
) -> None:
    prebins = [_Counts(float(b), float(g)) for b, g in counts]
    total = _Counts(sum(p.bad for p in prebins) + 0.5, sum(p.good for p in prebins) + 0.5)
    min_count = 5.0
    starts, iv = optimal_partition(
        prebins,
        total,
        min_count=min_count,
        max_bins=max_bins,
        trend=trend,  # type: ignore[arg-type]
    )
    expected = _brute_force(prebins, total, min_count, max_bins, trend)
    if expected is None:
        assert starts == [0]  # nothing feasible: one group
    else:
        assert math.isclose(iv, expected, rel_tol=1e-9, abs_tol=1e-12)
        assert starts[0] == 0
        assert len(starts) <= max_bins


def test_numeric_binning_is_monotone_sized_and_signed() -> None:
    rng = np.random.default_rng(3)
    values = rng.uniform(0, 100, 3_000)
    labels = (rng.uniform(size=3_000) < 0.05 + 0.4 * values / 100).astype(np.int_)
    binning = bin_numeric("utilisation", list(values), labels, BinningConfig(min_bin_share=0.05))
    assert binning.trend == "ascending"
    assert 2 <= len(binning.woe) <= 6
    assert list(binning.woe) == sorted(binning.woe)
    assert binning.woe[0] < 0 < binning.woe[-1]  # positive WoE: riskier than average
    shares = np.bincount(np.searchsorted(binning.edges, values, side="right")) / len(values)
    assert shares.min() >= 0.05
    assert binning.transform(None) == 0.0  # no missing in training: neutral
    assert binning_from_state(binning.to_state()) == binning


def test_a_valley_is_found_when_allowed_and_both_ends_are_riskier() -> None:
    rng = np.random.default_rng(5)
    amounts = rng.uniform(0, 10_000, 4_000)
    risk = 0.1 + 0.35 * np.abs(amounts - 5_000) / 5_000
    labels = (rng.uniform(size=4_000) < risk).astype(np.int_)
    assert bin_numeric("amount", list(amounts), labels).trend in ("ascending", "descending")
    config = BinningConfig(shapes=("valley", "peak"))
    binning = bin_numeric("amount", list(amounts), labels, config)
    assert binning.trend == "valley"
    assert binning.transform(100.0) > binning.transform(5_000.0) < binning.transform(9_900.0)


def test_categorical_levels_group_by_bad_rate_and_unseen_is_neutral() -> None:
    rng = np.random.default_rng(9)
    levels = rng.choice(["a", "b", "c", "d"], 2_000)
    rates = {"a": 0.05, "b": 0.06, "c": 0.3, "d": 0.5}
    labels = np.array([rng.uniform() < rates[level] for level in levels], dtype=np.int_)
    values: list[str | None] = [str(level) for level in levels]
    values[:100] = [None] * 100  # 5% missing: a WoE of its own
    binning = bin_categorical("segment", values, labels)
    assert isinstance(binning, CategoricalBinning)
    woe = binning.category_woe
    assert woe["a"] <= woe["b"] < woe["c"] < woe["d"]
    assert woe_value(binning, "zz") == 0.0
    assert woe_value(binning, None) == binning.missing_woe != 0.0
    assert binning_from_state(binning.to_state()) == binning
