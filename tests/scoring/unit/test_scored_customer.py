from __future__ import annotations

from riskwatch_scoring.domain.assessment import Assessment
from riskwatch_scoring.domain.customer import ScoredCustomer
from riskwatch_scoring.domain.levels import Level


def _expected(customer: ScoredCustomer) -> dict[str, object]:
    """What `risk_levels()` computed before it kept its result between transactions."""
    levels: dict[str, object] = dict(customer.levels)
    for kind, assessment in customer.assessments.items():
        levels[f"{kind}_score"] = round(assessment.score, 6)
    levels["sequence"] = customer.version
    return levels


def test_risk_levels_follow_every_new_assessment_and_sequence() -> None:
    customer = ScoredCustomer("00000000-0000-0000-0000-000000000001")
    assert customer.risk_levels() == {"sequence": 0}
    customer.set_assessments(
        [
            Assessment("credit", 0.1234567, Level.LOW, "v1"),
            Assessment("churn", 0.5, Level.MEDIUM, "v1"),
        ]
    )
    customer.version = 3
    first = customer.risk_levels()
    assert first == _expected(customer)
    assert list(first) == list(_expected(customer))
    first["sequence"] = -1  # the caller owns the dict: the kept copy is not touched
    customer.version = 4
    assert customer.risk_levels() == _expected(customer)

    customer.set_assessments([Assessment("anomaly", 0.9, Level.CRITICAL, "v2")])
    assert customer.risk_levels() == _expected(customer)
    assert customer.risk_levels()["anomaly_score"] == 0.9
    assert customer.risk_levels()["overall"] == "critical"
    # Same levels, new score: still a new `levels` dict, so the scores are re-read.
    customer.set_assessments([Assessment("anomaly", 0.95, Level.CRITICAL, "v2")])
    assert customer.risk_levels()["anomaly_score"] == 0.95

    reloaded = ScoredCustomer.from_state(customer.to_state())
    assert reloaded.risk_levels() == customer.risk_levels()
