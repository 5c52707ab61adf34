"""The credit early warning's lead time to default, per indicator (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from riskwatch_simulator.bank import Label
from riskwatch_simulator.lead_time import (
    ANY_INDICATOR,
    FirstWarning,
    defaulted,
    lead_times,
    parse_warnings,
)

DEFAULT = datetime(2026, 6, 1, tzinfo=UTC)
NAMES = {"early_arrears": "Early arrears", "bureau_score_drop": "Bureau score drop"}


def _days(n: float) -> datetime:
    return DEFAULT - timedelta(days=n)


def test_median_per_indicator_and_over_any_indicator() -> None:
    warnings = {
        "c1": [
            FirstWarning("early_arrears", _days(40), _days(10)),
            FirstWarning("bureau_score_drop", _days(60), None),
        ],
        "c2": [FirstWarning("early_arrears", _days(20), None)],
        # Warned only after the default: not an early warning.
        "c3": [FirstWarning("early_arrears", DEFAULT + timedelta(days=2), None)],
    }
    report = lead_times([("c1", DEFAULT), ("c2", DEFAULT), ("c3", DEFAULT)], warnings, NAMES)
    by_key = {lead.indicator: lead for lead in report.indicators}
    assert report.defaults == 3
    assert sorted(by_key["early_arrears"].days) == [20.0, 40.0]
    assert by_key["early_arrears"].median == 30.0
    assert by_key["early_arrears"].red_median == 10.0
    assert by_key["bureau_score_drop"].median == 60.0
    assert by_key["bureau_score_drop"].red_median is None
    # Per customer, the earliest warning of any indicator: c1 60 days, c2 20 days.
    assert sorted(by_key[ANY_INDICATOR].days) == [20.0, 60.0]
    rendered = report.render()
    assert "| Early arrears | 2 | 30.0 | 10.0 |" in rendered
    assert "| Bureau score drop | 1 | 60.0 | - |" in rendered
    assert "| any indicator | 2 | 40.0 | 10.0 |" in rendered


def test_no_default_says_so() -> None:
    assert "no simulated default" in lead_times([], {}, NAMES).render()


def test_only_credit_defaults_with_a_time_count() -> None:
    start = _days(100)
    labels = [
        Label("credit_deterioration", "X1", start, DEFAULT, outcome=1, outcome_at=DEFAULT),
        Label("credit_deterioration", "X2", start, DEFAULT, outcome=0),
        Label("churn", "X3", start, DEFAULT, outcome=1, outcome_at=DEFAULT),
    ]
    ids = {"X1": "c1", "X2": "c2", "X3": "c3"}
    assert defaulted(labels, ids) == [("c1", DEFAULT)]


def test_parse_the_warnings_api() -> None:
    [warning] = parse_warnings(
        [
            {
                "indicator": "early_arrears",
                "first_amber_at": "2026-05-01T00:00:00+00:00",
                "first_red_at": None,
            }
        ]
    )
    assert warning.first_at == datetime(2026, 5, 1, tzinfo=UTC)
