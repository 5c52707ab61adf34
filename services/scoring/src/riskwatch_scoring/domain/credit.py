"""The expert credit scorecard: works on a fresh install, before any model is trained.

A customer with no adverse information scores the base 600 points (odds 50:1, a 1.96%
probability of default); each characteristic adds or removes points by bin. The weights
are documented in docs/models.md and are the starting point a credit officer tunes.
"""

from __future__ import annotations

from riskwatch_scoring.domain.scorecard import BinnedCharacteristic, Scorecard, ScoreScaling

EXPERT_MODEL_VERSION = "credit-expert-1"
INF = float("inf")

EXPERT_CHARACTERISTICS: tuple[BinnedCharacteristic, ...] = (
    BinnedCharacteristic(
        feature="debt_to_income",
        edges=(0.20, 0.36, 0.50, 0.80),
        bin_points=(15, 0, -25, -50, -80),
        reason_code="high_debt_to_income",
        message="debt-to-income {value:.0%}",
    ),
    BinnedCharacteristic(
        feature="utilisation",
        edges=(0.30, 0.50, 0.75, 0.90),
        bin_points=(10, 0, -15, -30, -45),
        reason_code="high_utilisation",
        message="credit utilisation {value:.0%}",
    ),
    BinnedCharacteristic(
        feature="delinquencies_30",
        edges=(1, 2, 4),
        bin_points=(0, -15, -30, -45),
        reason_code="delinquent_30",
        message="{value} {payment|payments} 30+ days late",
    ),
    BinnedCharacteristic(
        feature="delinquencies_60",
        edges=(1, 2, 3),
        bin_points=(0, -25, -45, -60),
        reason_code="delinquent_60",
        message="{value} {payment|payments} 60+ days late",
    ),
    BinnedCharacteristic(
        feature="delinquencies_90",
        edges=(1, 2),
        bin_points=(0, -50, -80),
        reason_code="delinquent_90",
        message="{value} {payment|payments} 90+ days late",
    ),
    BinnedCharacteristic(
        feature="missed_payments",
        edges=(1, 3, 6),
        bin_points=(0, -10, -25, -40),
        reason_code="missed_payments",
        message="{value} missed {payment|payments}",
    ),
    BinnedCharacteristic(
        feature="defaults",
        edges=(1,),
        bin_points=(0, -120),
        reason_code="prior_default",
        message="{value} previous {default|defaults}",
    ),
    BinnedCharacteristic(
        feature="bureau_score",
        edges=(580, 620, 680, 740, 800),
        bin_points=(-60, -35, -10, 0, 15, 30),
        reason_code="low_bureau_score",
        message="bureau score {value}",
    ),
    BinnedCharacteristic(
        feature="bureau_score_change",
        edges=(-80, -40, -15),
        bin_points=(-50, -30, -15, 0),
        reason_code="bureau_score_drop",
        message="bureau score changed by {value:+d} points",
    ),
    BinnedCharacteristic(
        feature="income_change_pct",
        edges=(-40, -20, -5),
        bin_points=(-40, -25, -10, 0),
        reason_code="income_drop",
        message="income changed by {value:+.0f}%",
    ),
    BinnedCharacteristic(
        feature="liabilities_change_pct",
        edges=(25, 50, 100),
        bin_points=(0, -10, -20, -35),
        reason_code="liabilities_growth",
        message="liabilities up {value:.0f}%",
    ),
    BinnedCharacteristic(
        feature="recent_inquiries",
        edges=(3, 6),
        bin_points=(0, -10, -25),
        reason_code="credit_hungry",
        message="{value} recent credit {inquiry|inquiries}",
    ),
)


def expert_credit_scorecard(scaling: ScoreScaling | None = None) -> Scorecard:
    """The documented expert scorecard; missing figures score 0 points (neutral)."""
    scaling = scaling or ScoreScaling()
    return Scorecard(
        model_version=EXPERT_MODEL_VERSION,
        base_points=scaling.base_score,
        characteristics=EXPERT_CHARACTERISTICS,
        scaling=scaling,
    )
