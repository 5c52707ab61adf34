from __future__ import annotations

import json
import statistics
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from riskwatch_scoring.domain.accumulators import SlidingWindow
from riskwatch_scoring.domain.features import (
    CUSTOMER_FEATURE_NAMES,
    RECENT_IDS_KEPT,
    WINDOW_SPECS,
    CurrencyMismatch,
    CustomerState,
)
from riskwatch_scoring.domain.inputs import Direction, Interaction

from .factories import T0, make_credit_record, make_profile, make_txn


def _known_history() -> CustomerState:
    customer = CustomerState("c-1")
    customer.apply_transaction(make_txn(T0, "100", counterparty="A"))
    customer.apply_transaction(make_txn(T0 + timedelta(minutes=10), "50", counterparty="B"))
    customer.apply_transaction(
        make_txn(T0 + timedelta(hours=2), "1000", direction="inbound", counterparty="EMPLOYER")
    )
    return customer


def test_transaction_features_see_the_history_before_the_transaction() -> None:
    customer = _known_history()
    late = make_txn(
        T0 + timedelta(days=1),
        "150",
        counterparty="A",
        counterparty_country="FR",
        device_id="device-2",
    )

    features = customer.apply_transaction(late)

    assert features is not None
    assert (features.is_new_country, features.is_new_device, features.is_new_counterparty) == (
        True,
        True,
        False,
    )
    assert features.history_count == 3
    assert features.amount_to_avg_30d == pytest.approx(150 / ((100 + 50 + 1000) / 3))
    expected_z = (150 - statistics.fmean([100, 50, 1000])) / statistics.stdev([100, 50, 1000])
    assert features.amount_zscore == pytest.approx(expected_z)
    assert features.velocity_1h == 1
    assert features.velocity_24h == 2  # the 10:00 and 10:10 transactions left the 24h window
    assert features.days_since_previous_txn == pytest.approx(22 / 24)
    assert features.is_cross_border


def test_first_transaction_and_velocity_within_the_hour() -> None:
    customer = CustomerState("c-1")
    first = customer.apply_transaction(make_txn(T0, "100"))
    second = customer.apply_transaction(make_txn(T0 + timedelta(minutes=10), "50"))

    assert first is not None
    assert second is not None
    assert first.is_new_counterparty
    assert first.amount_to_avg_30d is None
    assert first.amount_zscore is None
    assert (second.velocity_1h, second.amount_sum_1h) == (2, 150.0)
    assert not second.is_new_counterparty
    assert not second.is_new_device


def test_customer_window_features_by_hand() -> None:
    customer = _known_history()
    customer.apply_transaction(make_txn(T0 + timedelta(days=1), "150", counterparty="A"))

    features = customer.features()

    assert list(features.as_dict()) == list(CUSTOMER_FEATURE_NAMES)
    assert (features["txn_count_1h"], features["amount_sum_1h"]) == (1, 150.0)
    assert (features["txn_count_24h"], features["amount_sum_24h"]) == (2, 1150.0)
    assert features["amount_max_24h"] == 1000.0
    assert (features["txn_count_7d"], features["inflow_sum_7d"], features["outflow_sum_7d"]) == (
        4,
        1000.0,
        300.0,
    )
    assert features["avg_amount_30d"] == pytest.approx(1300 / 4)
    assert features["outflow_ratio_30d"] == pytest.approx(300 / 1300)
    assert features["distinct_counterparties_30d"] == 3
    assert features["days_since_last_activity"] == 0.0
    assert features["activity_trend_90d"] == 1.0  # everything happened in the last 30 days


def test_windows_evict_as_time_passes() -> None:
    customer = _known_history()

    later = customer.features(T0 + timedelta(days=45))

    assert later["txn_count_24h"] == 0
    assert later["txn_count_30d"] == 0
    assert later["txn_count_90d"] == 3
    assert later["days_since_last_activity"] == pytest.approx(45 - 2 / 24)
    assert later["activity_trend_90d"] == -1.0


def test_out_of_order_transaction_lands_in_the_windows_that_still_cover_it() -> None:
    customer = _known_history()
    customer.apply_transaction(make_txn(T0 + timedelta(days=1), "150"))

    late = customer.apply_transaction(make_txn(T0 + timedelta(minutes=30), "70", counterparty="Z"))

    assert late is not None
    assert late.is_out_of_order
    features = customer.features()
    assert features["txn_count_24h"] == 2  # its hour is already outside the 24h window
    assert features["txn_count_7d"] == 5
    assert features["amount_sum_30d"] == 1370.0
    assert features["days_since_last_activity"] == 0.0  # the newest stays the newest


def test_reapplying_a_recent_transaction_changes_nothing() -> None:
    customer = _known_history()
    txn = make_txn(T0 + timedelta(hours=3), "10")
    assert customer.apply_transaction(txn) is not None
    before = customer.to_state()

    assert customer.apply_transaction(txn) is None
    assert customer.to_state() == before


def test_other_currency_needs_a_converted_amount() -> None:
    customer = _known_history()
    usd = make_txn(T0 + timedelta(hours=3), "110", currency="USD")

    with pytest.raises(CurrencyMismatch):
        customer.apply_transaction(usd)
    features = customer.apply_transaction(usd, amount_in_base=Decimal("100"))
    assert features is not None
    assert features.amount == 100.0


def test_state_round_trips_through_json_and_keeps_scoring_the_same() -> None:
    customer = _known_history()
    customer.apply_credit_record(make_credit_record(date(2024, 1, 1)))
    customer.apply_financial_profile(
        make_profile(date(2024, 1, 1), income="50000", liabilities="1")
    )
    customer.apply_interaction(Interaction("complaint", "inbound", "open", T0))
    restored = CustomerState.from_state(json.loads(json.dumps(customer.to_state())))

    assert restored.features().as_dict() == customer.features().as_dict()
    next_txn = make_txn(T0 + timedelta(hours=5), "999", counterparty_country="US")
    assert restored.apply_transaction(next_txn) == customer.apply_transaction(next_txn)
    assert restored.to_state() == customer.to_state()


def test_every_window_persists_as_one_kept_separately_would() -> None:
    """The 24h and 30d windows are served from the 7d and 90d buckets; the state still holds
    each window as a window of its own fed every transaction wrote it (the format before
    they shared buckets), and such a state loads and scores the same."""
    customer = CustomerState("c-1")
    separate = {name: SlidingWindow(*spec) for name, spec in WINDOW_SPECS.items()}
    moment = T0
    for step in range(120):
        moment += timedelta(minutes=(7, 50, 200, 1_500, 4_000)[step % 5])
        at = moment - timedelta(days=3) if step % 11 == 4 else moment  # some arrive late
        amount = f"{10 + step * 7 % 90}.{step % 100:02d}"
        direction: Direction = "inbound" if step % 3 == 0 else "outbound"
        txn = make_txn(at, amount, direction=direction, counterparty=f"cp-{step}")
        assert customer.apply_transaction(txn) is not None
        for window in separate.values():
            window.add(int(at.timestamp()), txn.amount, inbound=txn.direction == "inbound")
        state = json.loads(json.dumps(customer.to_state()))
        assert state["windows"] == {name: w.to_state() for name, w in separate.items()}
        if step % 13 == 0:
            customer = CustomerState.from_state(state)
    as_of = moment + timedelta(hours=30)
    reloaded = CustomerState.from_state(json.loads(json.dumps(customer.to_state())))
    assert reloaded.features(as_of).as_dict() == customer.features(as_of).as_dict()
    for name, window in separate.items():
        assert customer.windows[name].totals_tuple(int(as_of.timestamp())) == (
            window.totals_tuple(int(as_of.timestamp()))
        )


def test_credit_and_financial_features_follow_the_latest_records() -> None:
    customer = CustomerState("c-1")
    customer.apply_credit_record(make_credit_record(date(2024, 2, 1), score=650, debt="8000"))
    customer.apply_credit_record(make_credit_record(date(2024, 1, 1), score=720))  # arrives late
    customer.apply_financial_profile(
        make_profile(date(2024, 2, 1), income="40000", liabilities="30000")
    )
    customer.apply_financial_profile(
        make_profile(date(2023, 1, 1), income="60000", liabilities="20000")
    )

    features = customer.features(T0)

    assert (features["bureau_score"], features["bureau_score_change"]) == (650, -70)
    assert features["utilisation"] == pytest.approx(0.8)
    assert features["debt_to_income"] == pytest.approx(0.75)
    assert features["income_change_pct"] == pytest.approx(-100 / 3)
    assert features["liabilities_change_pct"] == pytest.approx(50.0)
    assert features["net_worth"] == 20000.0


def test_interactions_and_dormant_accounts() -> None:
    customer = CustomerState("c-1")
    customer.apply_transaction(make_txn(T0, "10", account_id="old-account"))
    customer.apply_transaction(make_txn(T0 + timedelta(days=100), "10", account_id="main"))
    customer.apply_interaction(Interaction("complaint", "inbound", "open", T0 + timedelta(days=95)))
    customer.apply_interaction(Interaction("call", "outbound", "reached", T0 + timedelta(days=99)))
    customer.apply_interaction(Interaction("complaint", "inbound", "open", T0))  # 100 days ago

    features = customer.features(T0 + timedelta(days=100))

    assert (features["complaints_90d"], features["interactions_90d"]) == (1, 2)
    assert (features["dormant_accounts"], features["active_accounts_90d"]) == (1, 1)
    assert features["days_since_last_interaction"] == pytest.approx(1.0)


def test_unusual_hour_needs_history_and_a_rare_hour() -> None:
    customer = CustomerState("c-1")
    for day in range(25):
        customer.apply_transaction(make_txn(T0 + timedelta(days=day), "20"))  # always 10:00 UTC

    night = customer.apply_transaction(make_txn(T0 + timedelta(days=25, hours=-7), "20"))
    usual = customer.apply_transaction(make_txn(T0 + timedelta(days=26, minutes=30), "20"))

    assert night is not None
    assert night.unusual_hour
    assert night.hour == 3
    assert usual is not None
    assert not usual.unusual_hour


def test_transaction_features_are_json_able() -> None:
    customer = _known_history()
    features = customer.apply_transaction(replace(make_txn(T0 + timedelta(hours=4), "5")))
    assert features is not None
    assert json.loads(json.dumps(features.as_dict()))["amount"] == 5.0


def test_customer_features_come_in_the_documented_order() -> None:
    customer = _known_history()
    assert list(customer.features().values) == list(CUSTOMER_FEATURE_NAMES)
    customer.apply_credit_record(make_credit_record(T0.date(), score=700))
    customer.apply_financial_profile(make_profile(T0.date(), income="50000", liabilities="1000"))
    assert list(customer.features().values) == list(CUSTOMER_FEATURE_NAMES)


def test_record_features_follow_every_new_record() -> None:
    """Credit and financial features are kept between records, never past the next one."""
    customer = _known_history()
    assert customer.features()["bureau_score"] is None
    customer.apply_credit_record(make_credit_record(T0.date(), score=700))
    assert customer.features()["bureau_score"] == 700
    customer.apply_credit_record(make_credit_record(T0.date() + timedelta(days=1), score=650))
    assert customer.features()["bureau_score"] == 650
    assert customer.features()["bureau_score_change"] == -50
    assert [r["credit_score"] for r in customer.to_state()["credit_records"]["bureau"]] == [
        650,
        700,
    ]
    customer.apply_financial_profile(make_profile(T0.date(), income="50000", liabilities="1000"))
    assert customer.features()["annual_income"] == 50_000.0
    assert customer.to_state()["financial_profiles"][0]["annual_income"] == "50000"
    restored = CustomerState.from_state(json.loads(json.dumps(customer.to_state())))
    assert restored.features().values == customer.features().values


def test_a_transaction_is_recognised_until_it_leaves_the_recent_ids() -> None:
    customer = CustomerState("c-1")
    transactions = [make_txn(T0 + timedelta(minutes=n), "10") for n in range(RECENT_IDS_KEPT + 1)]
    for txn in transactions:
        assert customer.apply_transaction(txn) is not None
    # The first id fell out of the bounded memory; the others are still recognised,
    # also after a reload from the persisted state.
    reloaded = CustomerState.from_state(json.loads(json.dumps(customer.to_state())))
    for state in (customer, reloaded):
        assert state.apply_transaction(transactions[1]) is None
        assert state.apply_transaction(transactions[-1]) is None
    assert customer.apply_transaction(transactions[0]) is not None
    assert reloaded.apply_transaction(transactions[0]) is not None
    assert len(customer.recent_ids) == RECENT_IDS_KEPT


def test_feature_map_equals_the_features_as_a_dict() -> None:
    customer = _known_history()
    customer.apply_credit_record(make_credit_record(date(2024, 1, 1)))
    for as_of in (T0 + timedelta(hours=3), T0 + timedelta(days=40)):
        expected = customer.features(as_of).as_dict()
        assert customer.feature_map(int(as_of.timestamp())) == expected
        assert list(customer.feature_map(int(as_of.timestamp()))) == list(expected)


@pytest.mark.parametrize(
    ("occurred_at", "hour"),
    [
        (datetime(2024, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=2))), 21),
        (datetime(2024, 3, 1, 0, 59, 59, 999_999, tzinfo=UTC), 0),
        (datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC), 23),  # before the epoch
    ],
)
def test_the_hour_is_the_utc_hour_of_the_transaction(occurred_at: datetime, hour: int) -> None:
    assert CustomerState("c-1").preview_transaction(make_txn(occurred_at, "10")).hour == hour


def test_history_days_measure_the_own_history_a_comparison_rests_on() -> None:
    customer = CustomerState("c-1")
    first = customer.apply_transaction(make_txn(T0, "100"))
    later = customer.apply_transaction(make_txn(T0 + timedelta(days=12), "100"))
    earlier = customer.apply_transaction(make_txn(T0 - timedelta(days=3), "100"))  # late data
    after = customer.apply_transaction(make_txn(T0 + timedelta(days=20), "100"))
    assert first is not None
    assert later is not None
    assert earlier is not None
    assert after is not None
    assert first.history_days is None  # nothing to compare with yet
    assert later.history_days == pytest.approx(12)
    assert earlier.history_days == 0  # before the first seen: no span behind it
    assert after.history_days == pytest.approx(23)  # from the earliest transaction known
    restored = CustomerState.from_state(json.loads(json.dumps(customer.to_state())))
    assert restored.first_txn_epoch == customer.first_txn_epoch


def test_a_state_kept_before_the_history_span_falls_back_to_its_oldest_counterparty() -> None:
    customer = _known_history()
    state = json.loads(json.dumps(customer.to_state()))
    del state["first_txn_epoch"]
    restored = CustomerState.from_state(state)
    assert restored.first_txn_epoch == int(T0.timestamp())  # counterparty A, seen at T0


def test_inflow_trend_falls_when_the_salary_moves_away() -> None:
    customer = CustomerState("c-1")
    for month in range(3):
        salary = "3000" if month < 2 else "500"  # the third month's salary went elsewhere
        moment = T0 + timedelta(days=30 * month + 1)
        customer.apply_transaction(make_txn(moment, salary, direction="inbound"))
        customer.apply_transaction(make_txn(moment + timedelta(hours=1), "200"))
    features = customer.features(T0 + timedelta(days=89)).as_dict()
    # 500 in the last 30 days against 6,000 in the 60 before, per day: (500/30 - 100) / (...)
    recent, prior = 500 / 30, 6000 / 60
    assert features["inflow_trend_90d"] == pytest.approx((recent - prior) / (recent + prior))
    assert features["activity_trend_90d"] == pytest.approx(0.0)  # as many payments as before


def test_early_warning_features_from_inflows_and_returned_payments() -> None:
    customer = CustomerState("c-ew")
    # Four salaries over 90 days, then one in the last 30; two returned direct debits.
    for days in (80, 65, 50, 20):
        customer.apply_transaction(
            make_txn(T0 - timedelta(days=days), "3000", direction="inbound", counterparty="PAY")
        )
    customer.apply_transaction(replace(make_txn(T0 - timedelta(days=10), "400"), status="failed"))
    customer.apply_transaction(replace(make_txn(T0 - timedelta(days=5), "400"), status="reversed"))
    customer.apply_transaction(replace(make_txn(T0 - timedelta(days=4), "30"), status="pending"))
    # A failed *incoming* payment is not one of the customer's returned payments.
    customer.apply_transaction(
        replace(make_txn(T0 - timedelta(days=3), "10", direction="inbound"), status="failed")
    )
    features = customer.features(T0)
    assert features["inflow_count_30d"] == 2
    assert features["inflow_count_90d"] == 5
    assert features["returned_payments_90d"] == 2
    restored = CustomerState.from_state(json.loads(json.dumps(customer.to_state())))
    assert restored.features(T0).as_dict() == features.as_dict()
    # 100 days on, every one of them has left the windows.
    later = customer.features(T0 + timedelta(days=100))
    assert (later["inflow_count_90d"], later["returned_payments_90d"]) == (0, 0)


def test_early_warning_record_features() -> None:
    customer = CustomerState("c-ew")
    none = customer.features(T0)
    assert none["days_past_due"] is None
    assert none["instalment_to_income"] is None
    customer.apply_financial_profile(
        make_profile(date(2024, 1, 1), income="60000", liabilities="0")
    )
    customer.apply_credit_record(
        replace(make_credit_record(date(2024, 1, 1), debt="5000"), monthly_instalment=Decimal(1000))
    )
    customer.apply_credit_record(
        replace(
            make_credit_record(date(2024, 2, 1), debt="8000", delinquencies_60=1),
            monthly_instalment=Decimal(1500),
        )
    )
    customer.apply_credit_record(
        replace(
            make_credit_record(date(2024, 2, 1), debt="0"),
            source="internal",
            days_past_due=12,
        )
    )
    features = customer.features(T0)
    assert features["days_past_due"] == 12
    assert features["monthly_instalment"] == 1500
    assert features["instalment_to_income"] == pytest.approx(1500 / 5000)
    assert features["instalment_to_income_change"] == pytest.approx(500 / 5000)
    assert features["external_delinquency_days"] == 60
    # Utilisation: the newest record's against its source's previous one (0.5 -> 0.8).
    bureau_only = CustomerState("c-b")
    for as_of, debt in ((date(2024, 1, 1), "5000"), (date(2024, 2, 1), "8000")):
        bureau_only.apply_credit_record(make_credit_record(as_of, debt=debt))
    assert bureau_only.features(T0)["utilisation_change"] == pytest.approx(0.3)
    restored = CustomerState.from_state(json.loads(json.dumps(customer.to_state())))
    assert restored.features(T0).as_dict() == features.as_dict()


def test_a_state_kept_before_the_early_warning_windows_starts_them_empty() -> None:
    state = _known_history().to_state()
    del state["inflows"], state["returned"]
    restored = CustomerState.from_state(state)
    assert restored.features(T0)["inflow_count_30d"] == 0
