"""Detection health (pure): a rule's fire rate, its alert volume against its own baseline and
its precision from analysts' dispositions; when a rule's volume is a spike.

Days here are 24-hour buckets counted back from "now" (bucket 0 is the last 24 hours), so a
check at 10:00 compares a full day with full days, not a morning with whole days. The baseline
is the median of the buckets 1..`BASELINE_DAYS` that start after the rule's first activation
plus `WARM_UP_DAYS` (a new rule's first days say little about its normal volume); the median,
not the mean, so one earlier spike does not raise the bar for the next.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

BASELINE_DAYS = 28
WARM_UP_DAYS = 3
# Fewer usable days than this: no baseline yet, so no spike can be judged.
MIN_BASELINE_DAYS = 7
SPIKE_FACTOR = 5.0
# A rule raising fewer alerts than this in a day is never a spike (0 -> 3 is noise).
MIN_SPIKE_VOLUME = 10
DAY = timedelta(days=1)

# Outcomes that confirm the alert was worth raising; `false_positive` is the only other.
TRUE_OUTCOMES = frozenset(
    {
        "confirmed_risk",
        "mitigated_customer_contacted",
        "mitigated_limit_reduced",
        "mitigated_account_frozen",
    }
)
FALSE_OUTCOMES = frozenset({"false_positive"})


@dataclass(frozen=True, slots=True)
class Baseline:
    """A rule's usual alerts a day (None: fewer than MIN_BASELINE_DAYS usable days)."""

    per_day: float | None
    days: int


@dataclass(frozen=True, slots=True)
class SpikeThresholds:
    factor: float = SPIKE_FACTOR
    min_volume: int = MIN_SPIKE_VOLUME
    baseline_days: int = BASELINE_DAYS
    warm_up_days: int = WARM_UP_DAYS
    min_baseline_days: int = MIN_BASELINE_DAYS


def bucket_start(now: datetime, index: int) -> datetime:
    """When 24-hour bucket `index` (0 = the last 24 hours) begins."""
    return now - (index + 1) * DAY


def baseline_of(
    daily: Mapping[int, int],
    *,
    now: datetime,
    active_since: datetime,
    thresholds: SpikeThresholds = SpikeThresholds(),
) -> Baseline:
    """The median of the usable buckets 1..baseline_days (a bucket with no alert counts 0)."""
    usable_from = active_since + thresholds.warm_up_days * DAY
    counts = [
        daily.get(index, 0)
        for index in range(1, thresholds.baseline_days + 1)
        if bucket_start(now, index) >= usable_from
    ]
    if len(counts) < thresholds.min_baseline_days:
        return Baseline(None, len(counts))
    return Baseline(float(statistics.median(counts)), len(counts))


def baseline_ratio(volume: int, baseline: Baseline) -> float | None:
    """Today's volume over the baseline; a baseline under one a day counts as one, so a
    quiet rule's ratio is its volume (not a division by zero)."""
    if baseline.per_day is None:
        return None
    return volume / max(baseline.per_day, 1.0)


def is_spike(
    volume: int, baseline: Baseline, thresholds: SpikeThresholds = SpikeThresholds()
) -> bool:
    ratio = baseline_ratio(volume, baseline)
    return ratio is not None and volume >= thresholds.min_volume and ratio >= thresholds.factor


def fire_rate(matches: int, evaluated: int) -> float | None:
    """Matches per event evaluated (None before the rule has evaluated anything)."""
    return None if evaluated <= 0 else matches / evaluated


def precision(true_positives: int, false_positives: int) -> float | None:
    labelled = true_positives + false_positives
    return None if labelled == 0 else true_positives / labelled


def spike_report(name: str, volume: int, baseline: Baseline) -> str:
    """What jumped and by how much, as the owners read it."""
    ratio = baseline_ratio(volume, baseline) or 0.0
    usual = baseline.per_day if baseline.per_day is not None else 0.0
    return (
        f"Rule '{name}' raised {volume} alerts in the last 24 hours, {ratio:.1f}x its baseline "
        f"of {usual:g} a day (the median of its previous {baseline.days} days). Check whether "
        "the rule, a list it reads or the incoming data changed before the alert queue fills."
    )


def drift_report(kind: str, version: str, psi: float, threshold: float) -> str:
    return (
        f"The {kind} model {version} drifted: PSI {psi:.3f} of its recent scores against its "
        f"baseline, over the threshold of {threshold:g}. Its scores no longer follow the "
        "population it was built on; review the model or retrain it."
    )
