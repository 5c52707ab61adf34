"""Segment baselines of the catalogue's metrics, computed from the portfolio (pure: no I/O).

Per segment and metric, the percentiles the catalogue's segment triggers name, over the
customers of that segment that have the metric (linear interpolation between ranks, as
numpy's default). A segment with fewer than `MIN_SEGMENT_POPULATION` such customers gets a
baseline too, but the triggers do not read it (see `catalogue.evaluate_trigger`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from riskwatch_alerting.warning.catalogue import (
    CATALOGUE,
    Indicator,
    SegmentBaseline,
    metric_values,
)

UNSEGMENTED = "(none)"


def percentile(ordered: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) of ascending values, interpolated between ranks."""
    if not ordered:
        raise ValueError("no values")
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def percentiles_needed(catalogue: Iterable[Indicator] = CATALOGUE) -> dict[str, set[float]]:
    """{metric: the percentiles segment triggers read}."""
    needed: dict[str, set[float]] = {}
    for indicator in catalogue:
        for trigger in indicator.triggers:
            if trigger.kind == "segment":
                needed.setdefault(trigger.metric, set()).update((trigger.amber, trigger.red))
    return needed


def compute(
    customers: Iterable[tuple[str | None, Mapping[str, Any]]],
    catalogue: Iterable[Indicator] = CATALOGUE,
) -> dict[str, dict[str, SegmentBaseline]]:
    """{segment: {metric: baseline}} from (segment, features) per customer."""
    needed = percentiles_needed(catalogue)
    values: dict[str, dict[str, list[float]]] = {}
    for segment, features in customers:
        metrics = metric_values(features)
        per_metric = values.setdefault(segment or UNSEGMENTED, {})
        for metric in needed:
            if metric in metrics:
                per_metric.setdefault(metric, []).append(metrics[metric])
    baselines: dict[str, dict[str, SegmentBaseline]] = {}
    for segment, per_metric in values.items():
        for metric, found in per_metric.items():
            found.sort()
            baselines.setdefault(segment, {})[metric] = SegmentBaseline(
                population=len(found),
                percentiles={p: percentile(found, p) for p in sorted(needed[metric])},
            )
    return baselines


def to_json(baselines: Mapping[str, Mapping[str, SegmentBaseline]]) -> dict[str, Any]:
    return {
        segment: {
            metric: {
                "population": baseline.population,
                "percentiles": {f"{p:g}": v for p, v in baseline.percentiles.items()},
            }
            for metric, baseline in metrics.items()
        }
        for segment, metrics in baselines.items()
    }


def from_json(data: Mapping[str, Any]) -> dict[str, dict[str, SegmentBaseline]]:
    return {
        segment: {
            metric: SegmentBaseline(
                population=int(item["population"]),
                percentiles={float(p): float(v) for p, v in item["percentiles"].items()},
            )
            for metric, item in metrics.items()
        }
        for segment, metrics in data.items()
    }
