"""Compiled rules: null semantics, Decimal exactness, levels, evidence, templates."""

from decimal import Decimal

import pytest

from riskwatch_alerting.rules import AggregateSpec, RuleContext, compile_rule
from riskwatch_alerting.rules.templates import TEMPLATES, RuleTemplate


def test_missing_values_never_fire_and_never_raise() -> None:
    rule = compile_rule("not (txn.amount > 5) and not txn.is_new_device")
    assert rule.evaluate(RuleContext()) is False
    assert rule.evaluate(RuleContext(txn={"amount": "lots", "is_new_device": 1})) is False
    assert rule.evaluate(RuleContext(txn={"amount": 1, "is_new_device": False})) is True


def test_or_is_true_when_one_side_is_true_even_if_the_other_is_missing() -> None:
    rule = compile_rule("customer.missed_payments >= 1 or customer.delinquencies_30 >= 1")
    assert rule.evaluate(RuleContext(customer={"delinquencies_30": 2}))
    assert not rule.evaluate(RuleContext(customer={"delinquencies_30": 0}))


def test_division_by_zero_is_unknown() -> None:
    rule = compile_rule("txn.amount / customer.avg_amount_30d > 2")
    assert not rule.evaluate(RuleContext(txn={"amount": 10}, customer={"avg_amount_30d": 0}))
    assert rule.evaluate(RuleContext(txn={"amount": 10}, customer={"avg_amount_30d": 3}))


def test_decimal_literals_and_float_context_values_compare_exactly() -> None:
    assert not compile_rule("customer.utilisation > 0.9").evaluate(
        RuleContext(customer={"utilisation": 0.9})
    )
    rule = compile_rule("txn.amount == 0.1 + 0.2")
    assert rule.evaluate(RuleContext(txn={"amount": Decimal("0.3")}))
    assert rule.evaluate(RuleContext(txn={"amount": 0.3}))
    assert (
        compile_rule("txn.amount * 3 == 1").evaluate(RuleContext(txn={"amount": Decimal(1) / 3}))
        is False
    )


def test_levels_are_ordered_and_compared_as_text() -> None:
    rule = compile_rule(
        'risk.credit_level > risk.previous_credit_level and risk.credit_level >= "high"'
    )
    assert rule.evaluate(RuleContext(risk={"credit_level": "high", "previous_credit_level": "low"}))
    assert not rule.evaluate(
        RuleContext(risk={"credit_level": "medium", "previous_credit_level": "low"})
    )
    assert not rule.evaluate(
        RuleContext(risk={"credit_level": "weird", "previous_credit_level": "low"})
    )


def test_aggregates_managed_lists_and_evidence() -> None:
    rule = compile_rule(
        'count(txn, within="10m") >= 5 and txn.counterparty_country in list("high_risk_countries")'
    )
    spec = AggregateSpec("count", None, 600, "customer")
    assert rule.aggregates == (spec,)
    context = RuleContext(
        txn={"counterparty_country": "KP"},
        lists={"high_risk_countries": frozenset({"KP", "IR"})},
        aggregates={spec: 7},
    )
    assert rule.evaluate(context)
    assert rule.evidence(context) == {
        "txn.counterparty_country": "KP",
        'count(txn, within="10m", by="customer")': 7,
    }
    assert not rule.evaluate(RuleContext(txn={"counterparty_country": "KP"}, aggregates={spec: 7}))


def test_scalar_functions() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    rule = compile_rule(
        'hour(txn.occurred_at) == 2 and lower(txn.country) == "de" and abs(txn.amount) > 1'
    )
    at = datetime(2024, 5, 1, 4, 30, tzinfo=timezone(timedelta(hours=2)))
    assert rule.evaluate(RuleContext(txn={"occurred_at": at, "country": "DE", "amount": -5}))
    naive = datetime(2024, 5, 1, 2, 30)
    assert not rule.evaluate(RuleContext(txn={"occurred_at": naive, "country": "DE", "amount": -5}))
    assert compile_rule("weekday(txn.occurred_at) == 2").evaluate(
        RuleContext(txn={"occurred_at": datetime(2024, 5, 1, tzinfo=UTC)})
    )


# --- templates --------------------------------------------------------------------------

_COUNT_10M = AggregateSpec("count", None, 600, "customer")
_SUM_1H = AggregateSpec("sum", "amount", 3_600, "customer")
_STRUCTURING = AggregateSpec(
    "count", None, 86_400, "customer", "((txn.amount >= 9000) and (txn.amount < 10000))"
)
_NIGHT = AggregateSpec("count", None, 21_600, "customer", "(txn.hour < 5)")


def _aggregates_of(key: str) -> tuple[AggregateSpec, ...]:
    return compile_rule(next(t for t in TEMPLATES if t.key == key).condition).aggregates


_CARD_15M, _NEW_DEVICE_1H = _aggregates_of("card_burst_new_device")
(_CASH_7D,) = _aggregates_of("structuring_across_days")
(_NEW_PAYERS_14D,) = _aggregates_of("pass_through_new_payers")
_LISTS = {"high_risk_countries": frozenset({"KP", "IR"}), "watchlist_accounts": frozenset({"X1"})}

_NORMAL = RuleContext(
    txn={
        "direction": "outbound",
        "amount": Decimal("120.00"),
        "amount_to_avg_30d": Decimal("1.1"),
        "channel": "card",
        "country": "DE",
        "counterparty_country": "DE",
        "counterparty_account": "DE001",
        "hour": 14,
        "is_new_country": False,
        "is_new_device": False,
    },
    customer={
        "avg_amount_30d": Decimal("110"),
        "debt_to_income": 0.3,
        "missed_payments": 0,
        "delinquencies_30": 0,
        "delinquencies_60": 0,
        "delinquencies_90": 0,
        "utilisation": 0.4,
        "bureau_score_change": -5,
        "days_since_last_activity": 2,
        "activity_trend_90d": 0.1,
        "balance_trend_90d": 0.05,
        "outflow_ratio_30d": 0.5,
        "complaints_90d": 0,
    },
    risk={
        "credit_level": "low",
        "previous_credit_level": "low",
        "credit_level_changed": False,
        "churn_level": "low",
        "churn_probability": 0.1,
    },
    score={"anomaly": 0.2, "anomaly_level": "low"},
    lists=_LISTS,
    aggregates={
        _COUNT_10M: 1,
        _SUM_1H: Decimal("120"),
        _STRUCTURING: 0,
        _NIGHT: 0,
        _CARD_15M: 1,
        _NEW_DEVICE_1H: 0,
        _CASH_7D: 0,
        _NEW_PAYERS_14D: 0,
    },
)

# Past the cold-start guard: enough own history for a comparison with it.
_OWN_HISTORY: dict[object, object] = {"history_count": 40, "history_days": 90.0}
_TRIGGERS: dict[str, dict[str, dict[object, object]]] = {
    "large_amount_vs_average": {
        "txn": {
            "amount": Decimal("8000"),
            "amount_to_avg_30d": 70,
            "is_new_counterparty": True,
            **_OWN_HISTORY,
        }
    },
    "velocity_burst": {
        "aggregates": {_COUNT_10M: 6, _SUM_1H: Decimal("900")},
        "txn": _OWN_HISTORY,
    },
    "new_country_or_device_large_transfer": {
        "txn": {
            "is_new_device": True,
            "channel": "online",
            "amount": Decimal("7500"),
            **_OWN_HISTORY,
        }
    },
    "structuring": {"txn": {"amount": Decimal("9500.00")}, "aggregates": {_STRUCTURING: 3}},
    "night_transfers": {
        "txn": {"hour": 3, "channel": "transfer", "amount": Decimal("2000")},
        "aggregates": {_NIGHT: 2},
    },
    "high_risk_destination": {"txn": {"counterparty_account": "X1"}},
    "anomaly_score_high": {"score": {"anomaly": 0.95}},
    "credit_level_rose": {
        "risk": {
            "credit_level": "high",
            "previous_credit_level": "medium",
            "credit_level_changed": True,
        }
    },
    "debt_to_income_high": {"customer": {"debt_to_income": 5.2}},
    "missed_payment_or_delinquency": {"customer": {"delinquencies_60": 1}},
    "utilisation_high": {"customer": {"utilisation": 0.95}},
    "bureau_score_drop": {"customer": {"bureau_score_change": -80}},
    "inactivity_churn": {"customer": {"days_since_last_activity": 75, "activity_trend_90d": -0.6}},
    # outflow_ratio_30d is a share of the turnover: 0.8 is paying out four times the inflows.
    "balance_drain": {
        "customer": {
            "activity_trend_90d": -0.4,
            "balance_trend_90d": -0.7,
            "outflow_ratio_30d": 0.8,
        }
    },
    "card_burst_new_device": {
        "txn": {"channel": "online", **_OWN_HISTORY},
        "aggregates": {_CARD_15M: 6, _NEW_DEVICE_1H: 1},
    },
    "structuring_across_days": {
        "txn": {"channel": "atm", "direction": "inbound", "amount": Decimal("8400")},
        "aggregates": {_CASH_7D: 4},
    },
    "pass_through_new_payers": {
        "txn": {"amount": Decimal("3200"), "is_new_counterparty": True, **_OWN_HISTORY},
        "aggregates": {_NEW_PAYERS_14D: 4},
    },
    "complaint_churn": {"customer": {"complaints_90d": 3}, "risk": {"churn_level": "high"}},
    "churn_early_warning": {
        "customer": {"days_since_last_activity": 3, "activity_trend_90d": -0.5, "complaints_90d": 1}
    },
}


def _with(changes: dict[str, dict[object, object]]) -> RuleContext:
    merged = {
        name: {**getattr(_NORMAL, name), **changes.get(name, {})}
        for name in ("txn", "customer", "risk", "score", "aggregates")
    }
    return RuleContext(event={}, lists=_LISTS, **merged)  # type: ignore[arg-type]


def test_every_template_has_a_trigger_case() -> None:
    assert set(_TRIGGERS) == {template.key for template in TEMPLATES}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda template: template.key)
def test_template_fires_on_its_case_and_stays_silent_on_a_normal_customer(
    template: RuleTemplate,
) -> None:
    rule = compile_rule(template.condition)
    assert rule.evaluate(_with(_TRIGGERS[template.key]))
    assert not rule.evaluate(_NORMAL)
    assert set(rule.aggregates) <= set(_NORMAL.aggregates)


def test_template_parameters_tune_thresholds_and_reject_unknown_names() -> None:
    template = next(t for t in TEMPLATES if t.key == "utilisation_high")
    tuned = compile_rule(template.condition_with({"max_utilisation": Decimal("0.99")}))
    assert not tuned.evaluate(_with(_TRIGGERS["utilisation_high"]))
    with pytest.raises(KeyError):
        template.condition_with({"bogus": 1})
