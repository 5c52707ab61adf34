"""Reason sentences count in good English: "1 payment 90+ days late", "2 payments ..." (the
scorecard's `{one|other}` choices, ngettext's rule); Chinese comes from the reason code."""

from __future__ import annotations

import pytest

from riskwatch_scoring.domain.churn import ChurnModel
from riskwatch_scoring.domain.credit import expert_credit_scorecard
from riskwatch_scoring.domain.wording import choose_plural, counted


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, "1 payment 90+ days late"),
        (1.0, "1.0 payment 90+ days late"),
        (2, "2 payments 90+ days late"),
        (0, "0 payments 90+ days late"),
        (True, "True payments 90+ days late"),
        ("n/a", "n/a payments 90+ days late"),
    ],
)
def test_a_choice_follows_the_count(value: object, expected: str) -> None:
    template = choose_plural("{value} {payment|payments} 90+ days late", value)
    assert template.format(value=value) == expected


def test_a_template_without_a_choice_is_left_alone() -> None:
    assert choose_plural("debt-to-income {value:.0%}", 1) == "debt-to-income {value:.0%}"
    assert counted(1, "complaint", "complaints") == "1 complaint"
    assert counted(4, "complaint", "complaints") == "4 complaints"


def test_the_expert_scorecards_reasons_count_in_the_singular_and_plural() -> None:
    one = expert_credit_scorecard().assess(
        {"delinquencies_90": 1, "missed_payments": 1, "recent_inquiries": 1, "defaults": 1}
    )
    messages = {reason.code: reason.message for reason in one.reasons}
    assert messages["delinquent_90"] == "1 payment 90+ days late"
    assert messages["prior_default"] == "1 previous default"
    several = expert_credit_scorecard().assess(
        {"delinquencies_90": 2, "missed_payments": 3, "recent_inquiries": 7}
    )
    messages = {reason.code: reason.message for reason in several.reasons}
    assert messages["delinquent_90"] == "2 payments 90+ days late"
    assert messages["missed_payments"] == "3 missed payments"
    assert messages["credit_hungry"] == "7 recent credit inquiries"


def test_churn_counts_one_complaint() -> None:
    fired = {code: message for code, _, message, _ in ChurnModel().signals({"complaints_90d": 1})}
    assert fired["complaints"] == "1 complaint in 90 days"
