"""Detection health's pure rules: the baseline (median of usable days, warm-up ignored), the
spike decision (factor and minimum volume), fire rate and precision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from riskwatch_alerting.config import Settings
from riskwatch_alerting.domain.health import (
    Baseline,
    SpikeThresholds,
    baseline_of,
    baseline_ratio,
    fire_rate,
    is_spike,
    precision,
    spike_report,
)

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_the_baseline_is_the_median_of_the_days_after_the_warm_up() -> None:
    # Live 20 days: the first 3 are ignored, leaving buckets 1..16 (bucket 17 starts earlier).
    daily = dict.fromkeys(range(1, 29), 4) | {17: 500, 18: 500, 19: 500}
    baseline = baseline_of(daily, now=NOW, active_since=NOW - timedelta(days=20))
    assert baseline == Baseline(4.0, 16)
    # One earlier spike inside the usable days does not move the median.
    spiky = daily | {3: 400}
    assert baseline_of(spiky, now=NOW, active_since=NOW - timedelta(days=20)).per_day == 4.0


def test_missing_days_count_as_zero_and_too_few_days_give_no_baseline() -> None:
    old = NOW - timedelta(days=60)
    assert baseline_of({}, now=NOW, active_since=old) == Baseline(0.0, 28)
    assert baseline_of({1: 9}, now=NOW, active_since=NOW - timedelta(days=9)) == Baseline(None, 5)


def test_a_spike_needs_the_factor_and_the_minimum_volume() -> None:
    usual = Baseline(2.0, 28)
    assert is_spike(10, usual)  # 5x and 10 alerts
    assert not is_spike(9, usual)  # 4.5x
    quiet = Baseline(0.0, 28)
    assert baseline_ratio(3, quiet) == 3.0  # a quiet rule's baseline counts as one a day
    assert not is_spike(3, quiet)  # 0 -> 3 is not a spike
    assert is_spike(10, quiet)
    assert not is_spike(1_000, Baseline(None, 2))  # no baseline, no judgement
    strict = SpikeThresholds(factor=10.0, min_volume=50)
    assert not is_spike(40, Baseline(1.0, 28), strict)
    assert is_spike(50, Baseline(5.0, 28), strict)


def test_fire_rate_and_precision() -> None:
    assert fire_rate(5, 0) is None
    assert fire_rate(5, 200) == 0.025
    assert precision(0, 0) is None
    assert precision(3, 1) == 0.75


def test_the_report_says_what_jumped_and_by_how_much() -> None:
    report = spike_report("Big payment", 24, Baseline(3.0, 26))
    assert "Rule 'Big payment' raised 24 alerts in the last 24 hours" in report
    assert "8.0x its baseline of 3 a day (the median of its previous 26 days)" in report


def test_the_install_tunes_the_spike_and_refuses_a_meaningless_factor() -> None:
    settings = Settings(health_spike_factor=8, health_spike_min_volume=3)
    assert (settings.spike_thresholds.factor, settings.spike_thresholds.min_volume) == (8.0, 3)
    assert is_spike(3, Baseline(0.0, 28), settings.spike_thresholds) is False  # 3x < 8x
    with pytest.raises(ValidationError):
        Settings(health_spike_factor=1.0)  # "1x its baseline" is every day
