from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from riskwatch_scoring.domain.advice import advice_for, advise
from riskwatch_scoring.domain.anomaly import AnomalyModel
from riskwatch_scoring.domain.assessment import Assessment
from riskwatch_scoring.domain.churn import ChurnModel
from riskwatch_scoring.domain.credit import expert_credit_scorecard
from riskwatch_scoring.domain.features import CustomerState
from riskwatch_scoring.domain.inputs import Interaction
from riskwatch_scoring.domain.levels import Level, LevelCutoffs, level_for, overall_level
from riskwatch_scoring.domain.model_io import inputs_hash, load_model
from riskwatch_scoring.domain.scorecard import ScoreScaling

from .factories import T0, make_credit_record, make_profile, make_txn


def test_scaling_puts_the_base_score_at_the_base_odds_and_doubles_odds_per_pdo() -> None:
    scaling = ScoreScaling(base_score=600, base_odds=50, pdo=20)
    assert scaling.probability_of_default(600) == pytest.approx(1 / 51)
    odds_at_580 = 1 / scaling.probability_of_default(580) - 1
    assert odds_at_580 == pytest.approx(25)


def _credit_customer(*, deteriorated: bool) -> CustomerState:
    customer = CustomerState("c-1")
    customer.apply_credit_record(make_credit_record(date(2023, 6, 1), score=760, debt="2000"))
    customer.apply_financial_profile(
        make_profile(date(2023, 6, 1), income="60000", liabilities="12000")
    )
    if deteriorated:
        customer.apply_credit_record(
            make_credit_record(
                date(2024, 1, 1),
                score=640,
                debt="9500",
                delinquencies_30=2,
                delinquencies_90=1,
                missed_payments=3,
            )
        )
        customer.apply_financial_profile(
            make_profile(date(2024, 1, 1), income="40000", liabilities="24800")
        )
    return customer


def test_a_deteriorating_credit_record_raises_the_credit_level_with_reasons() -> None:
    scorecard = expert_credit_scorecard()
    healthy = scorecard.assess(_credit_customer(deteriorated=False).features(T0).as_dict())
    worse = scorecard.assess(_credit_customer(deteriorated=True).features(T0).as_dict())

    assert healthy.level is Level.LOW
    assert healthy.reasons == []
    assert worse.level is Level.CRITICAL
    assert worse.score > healthy.score
    codes = [reason.code for reason in worse.reasons]
    # A 120-point bureau drop costs 50 points, tied with DTI and 90-day arrears; ties go by code.
    assert codes[0] == "bureau_score_drop"
    assert {"high_debt_to_income", "high_utilisation", "delinquent_90", "income_drop"} <= set(codes)
    contributions = [reason.contribution for reason in worse.reasons]
    assert contributions == sorted(contributions, reverse=True)
    by_code = {reason.code: reason for reason in worse.reasons}
    assert by_code["high_debt_to_income"].message == "debt-to-income 62%"
    assert by_code["bureau_score_drop"].message == "bureau score changed by -120 points"
    assert advise(by_code["high_debt_to_income"]).startswith(
        "debt-to-income 62%: review the credit limit"
    )


def test_expert_points_add_up_by_hand() -> None:
    result = expert_credit_scorecard().evaluate(
        {"debt_to_income": 0.62, "utilisation": 0.95, "bureau_score": 700}
    )
    assert result.score == 600 - 50 - 45 + 0
    assert result.probability == pytest.approx(ScoreScaling().probability_of_default(505))


def _warm_customer() -> CustomerState:
    customer = CustomerState("c-1")
    for day in range(20):
        amount = "100" if day % 2 else "120"
        customer.apply_transaction(make_txn(T0 + timedelta(days=day), amount, counterparty="RENT"))
    return customer


def test_anomaly_flags_a_large_transfer_to_a_new_country_with_reasons() -> None:
    customer = _warm_customer()
    usual = customer.apply_transaction(
        make_txn(T0 + timedelta(days=20), "110", counterparty="RENT")
    )
    odd = customer.apply_transaction(
        make_txn(
            T0 + timedelta(days=20, minutes=5),
            "1540",
            counterparty="NEW-PAYEE",
            counterparty_country="AE",
            device_id="device-9",
        )
    )
    assert usual is not None
    assert odd is not None
    model = AnomalyModel()

    quiet = model.assess(usual.as_dict())
    loud = model.assess(odd.as_dict())

    assert quiet.level is Level.LOW
    assert quiet.score == 0.0
    assert loud.level in (Level.HIGH, Level.CRITICAL)
    codes = [reason.code for reason in loud.reasons]
    assert codes[0] == "amount_zscore" or codes[0] == "amount_vs_average"
    assert {"amount_vs_average", "new_country", "new_device", "new_counterparty"} <= set(codes)
    messages = {reason.code: reason.message for reason in loud.reasons}
    assert messages["amount_vs_average"] == "amount 14x the 30-day average"
    assert messages["new_country"] == "first transfer to this country (AE)"


def test_anomaly_novelty_waits_for_history() -> None:
    customer = CustomerState("c-1")
    first = customer.apply_transaction(make_txn(T0, "100", counterparty_country="FR"))
    assert first is not None
    assert first.is_new_country
    assert AnomalyModel().assess(first.as_dict()).score == 0.0


def test_churn_rises_for_a_customer_going_quiet_and_complaining() -> None:
    steady, leaving = CustomerState("steady"), CustomerState("leaving")
    for day in range(0, 120, 2):
        steady.apply_transaction(make_txn(T0 + timedelta(days=day), "50", direction="inbound"))
        steady.apply_transaction(make_txn(T0 + timedelta(days=day, hours=1), "40"))
    for day in range(0, 60, 2):
        leaving.apply_transaction(make_txn(T0 + timedelta(days=day), "50", direction="inbound"))
    leaving.apply_transaction(make_txn(T0 + timedelta(days=95), "1400", account_id="acc-2"))
    for day in (70, 80):
        leaving.apply_interaction(
            Interaction("complaint", "inbound", "unresolved", T0 + timedelta(days=day))
        )
    as_of = T0 + timedelta(days=120)
    model = ChurnModel()

    steady_assessment = model.assess(steady.features(as_of).as_dict())
    leaving_assessment = model.assess(leaving.features(as_of).as_dict())

    assert steady_assessment.level is Level.LOW
    assert leaving_assessment.score > 0.8
    assert leaving_assessment.level is Level.CRITICAL
    codes = [reason.code for reason in leaving_assessment.reasons]
    assert {"inactivity", "activity_decline", "outflow_excess", "complaints"} <= set(codes)
    assert "no transactions for 25 days" in [r.message for r in leaving_assessment.reasons]


def test_levels_use_configurable_cutoffs_and_overall_is_the_maximum() -> None:
    assert level_for("credit", 0.04) is Level.LOW
    assert level_for("credit", 0.15) is Level.HIGH
    custom = {"credit": LevelCutoffs(0.01, 0.02, 0.03)}
    assert level_for("credit", 0.04, custom) is Level.CRITICAL  # type: ignore[arg-type]
    assert overall_level([Level.LOW, Level.HIGH, Level.MEDIUM]) is Level.HIGH
    assert overall_level([]) is Level.LOW
    with pytest.raises(ValueError, match="cut-offs"):
        LevelCutoffs(0.5, 0.4, 0.9)


@pytest.mark.parametrize(
    ("model", "inputs"),
    [
        (
            expert_credit_scorecard(),
            {"debt_to_income": 0.7, "bureau_score": 610, "utilisation": None},
        ),
        (AnomalyModel(), {"history_count": 10, "amount_to_avg_30d": 9.5, "is_new_device": True}),
        (ChurnModel(), {"days_since_last_activity": 50.0, "complaints_90d": 2}),
    ],
)
def test_model_json_round_trip_scores_identically(model: Any, inputs: dict[str, Any]) -> None:
    document = model.to_json()
    restored = load_model(document)

    assert restored.to_json() == document
    original: Assessment = model.assess(inputs)
    assert restored.assess(inputs) == original
    assert Assessment.from_state(json.loads(json.dumps(original.to_state()))) == original
    assert advice_for(original)


def test_inputs_hash_is_canonical() -> None:
    first = {"amount": Decimal("10.50"), "when": T0, "b": 1, "a": [1, 2]}
    same = {"a": [1, 2], "b": 1, "when": T0, "amount": Decimal("10.50")}
    assert inputs_hash(first) == inputs_hash(same)
    assert inputs_hash(first) != inputs_hash({**first, "amount": Decimal("10.5")})
    assert len(inputs_hash(first)) == 64
