"""The credit early-warning catalogue: every indicator at each level, the three trigger kinds,
segment baselines and the state transitions (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from riskwatch_alerting.warning import baselines
from riskwatch_alerting.warning.catalogue import (
    CATALOGUE,
    INDICATORS,
    MIN_SEGMENT_POPULATION,
    IndicatorState,
    SegmentBaseline,
    Trigger,
    evaluate,
    transition,
)
from riskwatch_alerting.warning.service import warning_reason

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _levels(features: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    return {key: signal.level for key, signal in evaluate(features, **kwargs).items()}


# (indicator, features at nothing, at amber, at red): absolute and change triggers.
CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "income_falling",
        {"inflow_sum_30d": 3000.0, "inflow_sum_90d": 9000.0},  # flat: 0%
        {"inflow_sum_30d": 1500.0, "inflow_sum_90d": 7500.0},  # -50%
        {"inflow_sum_30d": 600.0, "inflow_sum_90d": 6600.0},  # -80%
    ),
    ("early_arrears", {"days_past_due": 0}, {"days_past_due": 5}, {"days_past_due": 31}),
    (
        "instalment_to_income_rising",
        {"instalment_to_income": 0.2, "instalment_to_income_change": 0.02},
        {"instalment_to_income": 0.42, "instalment_to_income_change": 0.0},
        {"instalment_to_income": 0.30, "instalment_to_income_change": 0.25},
    ),
    (
        "utilisation_creeping",
        {"utilisation": 0.5, "utilisation_change": 0.05},
        {"utilisation": 0.6, "utilisation_change": 0.2},
        {"utilisation": 0.96, "utilisation_change": 0.0},
    ),
    (
        "bureau_score_drop",
        {"bureau_score_change": -10},
        {"bureau_score_change": -35},
        {"bureau_score_change": -80},
    ),
    (
        "returned_payments",
        {"returned_payments_90d": 0},
        {"returned_payments_90d": 1},
        {"returned_payments_90d": 3},
    ),
    (
        "delinquency_elsewhere",
        {"external_delinquency_days": 0},
        {"external_delinquency_days": 30},
        {"external_delinquency_days": 90},
    ),
    (
        "fewer_inflows",
        {"inflow_count_30d": 4, "inflow_count_90d": 12},
        {"inflow_count_30d": 2, "inflow_count_90d": 10},  # -50%
        {"inflow_count_30d": 0, "inflow_count_90d": 8},  # -100%
    ),
]


def test_every_indicator_has_a_case() -> None:
    assert sorted(case[0] for case in CASES) == sorted(INDICATORS)
    assert len(CATALOGUE) == 8


@pytest.mark.parametrize(("key", "calm", "amber", "red"), CASES, ids=[c[0] for c in CASES])
def test_indicator_levels(
    key: str, calm: dict[str, Any], amber: dict[str, Any], red: dict[str, Any]
) -> None:
    assert key not in _levels(calm)
    assert _levels(amber).get(key) == "amber"
    assert _levels(red).get(key) == "red"


def test_missing_features_raise_nothing() -> None:
    assert evaluate({}) == {}
    # No prior inflows: no change to measure (a new customer is not "falling").
    assert evaluate({"inflow_sum_30d": 0.0, "inflow_sum_90d": 0.0}) == {}


def test_income_falls_back_on_the_declared_income() -> None:
    assert _levels({"income_change_pct": -45.0}) == {"income_falling": "amber"}
    # Inflows, when there are some, speak first.
    flat = {"inflow_sum_30d": 3000.0, "inflow_sum_90d": 9000.0, "income_change_pct": -70.0}
    assert "income_falling" not in _levels(flat)


def test_thresholds_are_inclusive() -> None:
    assert _levels({"days_past_due": 1})["early_arrears"] == "amber"
    assert _levels({"days_past_due": 30})["early_arrears"] == "red"
    assert _levels({"utilisation": 0.85})["utilisation_creeping"] == "amber"


def test_evidence_names_every_trigger_worst_first() -> None:
    signal = evaluate({"utilisation": 0.9, "utilisation_change": 0.35})["utilisation_creeping"]
    assert signal.level == "red"
    assert [(h.kind, h.metric, h.level) for h in signal.hits] == [
        ("change", "utilisation_change", "red"),
        ("absolute", "utilisation", "amber"),
    ]
    assert signal.hits[0].as_evidence() == {
        "kind": "change",
        "metric": "utilisation_change",
        "value": 0.35,
        "threshold": 0.3,
        "direction": "above",
        "level": "red",
    }
    assert "utilisation_change 0.35 >= 0.3 (change, red)" in signal.describe()


def _segment(metric: str, values: list[float]) -> dict[str, dict[str, SegmentBaseline]]:
    return baselines.compute(("retail", {metric: v}) for v in values)


def test_segment_trigger_uses_the_segment_percentiles() -> None:
    # 100 retail customers at instalment-to-income 0.00 .. 0.99: p95 0.9405, p99 0.9801.
    table = _segment("instalment_to_income", [i / 100 for i in range(100)])
    base = table["retail"]["instalment_to_income"]
    assert base.population == 100
    assert base.percentiles[95] == pytest.approx(0.9405)
    assert base.percentiles[99] == pytest.approx(0.9801)
    # 0.30 is under the absolute 0.40 and the segment's p95: nothing.
    assert _levels({"instalment_to_income": 0.30}, baselines=table, segment="retail") == {}
    # A segment with a lower tail: 0.35 is its top 1%, and over the floor (0.30).
    low = _segment("instalment_to_income", [i / 1000 for i in range(100)])
    signal = evaluate({"instalment_to_income": 0.35}, baselines=low, segment="retail")
    hit = signal["instalment_to_income_rising"].hits[0]
    assert (hit.kind, hit.level, hit.percentile) == ("segment", "red", 99)
    assert hit.threshold == pytest.approx(0.30)  # the floor is farther than p99 (0.098)
    # Under the floor, the segment's tail alone does not warn (a share of any portfolio is
    # in its tail by construction).
    assert evaluate({"instalment_to_income": 0.25}, baselines=low, segment="retail") == {}
    # Another segment's baseline is not this customer's.
    assert evaluate({"instalment_to_income": 0.35}, baselines=low, segment="sme") == {}


def test_segment_trigger_needs_a_population() -> None:
    few = [i / 1000 for i in range(MIN_SEGMENT_POPULATION - 1)]
    table = _segment("utilisation", few)
    assert evaluate({"utilisation": 0.7}, baselines=table, segment="retail") == {}
    enough = _segment("utilisation", [*few, 0.0])
    assert _levels({"utilisation": 0.7}, baselines=enough, segment="retail") == {
        "utilisation_creeping": "red"
    }


def _peer(change_pct: int) -> tuple[str, dict[str, Any]]:
    """A retail customer whose inflow count changed by `change_pct` % (100 a month before)."""
    return "retail", {"inflow_count_30d": 100 + change_pct, "inflow_count_90d": 300 + change_pct}


def test_segment_change_trigger_needs_a_move_the_wrong_way() -> None:
    # Every peer's inflows rose: the segment's 5th percentile is positive, but an unchanged
    # customer is not warned.
    rising = baselines.compute(_peer(10 + i) for i in range(50))
    assert rising["retail"]["inflow_count_change_3m_pct"].percentiles[5] > 0
    flat = {"inflow_count_30d": 4, "inflow_count_90d": 12}
    assert evaluate(flat, baselines=rising, segment="retail") == {}
    # A fall in the segment's bottom 1% and past the floor (-30%), short of the change
    # trigger's -50%, is.
    peers = baselines.compute(_peer(i) for i in range(100))
    fall = {"inflow_count_30d": 6, "inflow_count_90d": 26}  # -40%
    assert _levels(fall, baselines=peers, segment="retail") == {"fewer_inflows": "red"}
    # A slighter one (-25%) is not: under the floor.
    slight = {"inflow_count_30d": 6, "inflow_count_90d": 22}
    assert evaluate(slight, baselines=peers, segment="retail") == {}


def test_fewer_inflows_needs_an_account_with_some() -> None:
    # Two a month before, none now: too few to read a trend in.
    assert evaluate({"inflow_count_30d": 0, "inflow_count_90d": 4}) == {}


def test_baselines_round_trip_json() -> None:
    table = _segment("bureau_score", [float(600 + i) for i in range(40)])
    assert baselines.from_json(baselines.to_json(table)) == table


def test_customers_without_segment_share_a_baseline() -> None:
    table = baselines.compute((None, {"utilisation": 0.5}) for _ in range(3))
    assert table[baselines.UNSEGMENTED]["utilisation"].population == 3


@pytest.mark.parametrize(
    ("kind", "amber", "red", "direction"),
    [("absolute", 0.9, 0.8, "above"), ("change", -60, -30, "below"), ("segment", 90, 120, "above")],
)
def test_trigger_levels_are_checked(kind: Any, amber: float, red: float, direction: Any) -> None:
    with pytest.raises(ValueError):
        Trigger(kind, "utilisation", direction, amber=amber, red=red)


def test_unknown_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        Trigger("absolute", "shoe_size", "above", amber=1, red=2)


def test_transition_raised_escalated_eased_cleared() -> None:
    amber = evaluate({"days_past_due": 3})["early_arrears"]
    red = evaluate({"days_past_due": 45})["early_arrears"]
    first = transition(None, amber, T0)
    assert (first.change, first.state.level, first.state.since) == ("raised", "amber", T0)
    assert first.state.first_amber_at == T0
    assert first.state.first_red_at is None
    same = transition(first.state, amber, T0 + timedelta(days=3))
    assert (same.change, same.state.since) == ("unchanged", T0)
    up = transition(same.state, red, T0 + timedelta(days=30))
    assert (up.change, up.previous_level, up.state.level) == ("escalated", "amber", "red")
    assert up.state.first_amber_at == T0
    assert up.state.first_red_at == T0 + timedelta(days=30)
    down = transition(up.state, amber, T0 + timedelta(days=40))
    assert (down.change, down.state.since) == ("eased", T0 + timedelta(days=40))
    gone = transition(down.state, None, T0 + timedelta(days=50))
    assert (gone.change, gone.state.level, gone.state.since) == ("cleared", None, None)
    # The first warnings are remembered after it clears (the lead time counts from them).
    assert gone.state.first_amber_at == T0
    assert gone.state.first_red_at == T0 + timedelta(days=30)


def test_a_red_first_is_also_the_first_amber() -> None:
    red = evaluate({"returned_payments_90d": 4})["returned_payments"]
    state = transition(IndicatorState(None, None), red, T0).state
    assert state.first_amber_at == state.first_red_at == T0
    assert state.value == 4


def test_a_warning_reads_as_a_reason_with_its_advice() -> None:
    signal = evaluate({"utilisation": 0.9, "utilisation_change": 0.35})["utilisation_creeping"]
    indicator = INDICATORS["utilisation_creeping"]
    reason = warning_reason(indicator, signal)
    assert reason.code == "warning.utilisation_creeping"
    assert reason.message == (
        f"{indicator.name} (red): utilisation change 0.35, at or above 0.3; "
        "utilisation 0.9, at or above 0.85"
    )
    assert reason.advice == indicator.required_actions[0]
    assert (reason.value, reason.params) == ("red", {"indicator": indicator.key, "level": "red"})
