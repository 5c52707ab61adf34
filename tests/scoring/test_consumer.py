"""The event path over real JetStream and PostgreSQL: customer.* in, scoring.* out."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest

from riskwatch_scoring.periodic import reassess_idle_customers
from riskwatch_shared.events.common import AccountData
from riskwatch_shared.events.customer import AccountChanged
from riskwatch_shared.events.scoring import (
    CustomerAssessed,
    CustomerRiskLevelChanged,
    TransactionScoredV2,
)
from riskwatch_shared.testing import wait_until

from .builders import (
    T0,
    complaint,
    count_rows,
    created,
    credit_record,
    financial_profile,
    scalar,
    state_version,
    transaction,
    wait_for_version,
)
from .conftest import ScoringHarness

ASSESSMENTS = "SELECT count(*) FROM assessment WHERE customer_id = :id"
AS_OF = "SELECT as_of FROM customer_state WHERE customer_id = :id"


async def _published(scoring: ScoringHarness, event_type: str, customer_id: uuid.UUID, n: int):  # type: ignore[no-untyped-def]
    async def enough():  # type: ignore[no-untyped-def]
        found = scoring.published.of(event_type, customer_id)
        return found if len(found) >= n else None

    return await wait_until(enough, timeout=20, message=f"{n} x {event_type}")


async def test_features_after_a_known_sequence_equal_hand_computed_values(
    scoring: ScoringHarness,
) -> None:
    customer_id = uuid.uuid4()
    await scoring.publish(
        msgspec.structs.replace(created(customer_id), occurred_at=T0),
        transaction(customer_id, T0, "100", counterparty="A"),
        transaction(
            customer_id, T0 + timedelta(minutes=10), "300", direction="inbound", counterparty="B"
        ),
        transaction(
            customer_id, T0 + timedelta(days=1), "50", counterparty="A", counterparty_country="FR"
        ),
        transaction(
            customer_id, T0 + timedelta(days=2), "1000", counterparty="C", counterparty_country="US"
        ),
        credit_record(customer_id, T0.date(), score=720, debt="3000", limit="10000"),
        financial_profile(
            customer_id,
            T0.date(),
            income="60000",
            liabilities="24000",
            occurred_at=T0 + timedelta(days=2, hours=1),
        ),
        complaint(customer_id, T0 + timedelta(days=2, hours=2)),
    )
    await wait_for_version(scoring.runtime.engine, customer_id, 8)

    response = await scoring.client.get(
        f"/v1/customers/{customer_id}/features",
        params={"as_of": (T0 + timedelta(days=3)).isoformat()},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sequence"] == 8
    features = body["features"]
    expected = {
        "currency": "EUR",
        "txn_count_30d": 4,
        "amount_sum_30d": 1450.0,
        "inflow_sum_30d": 300.0,
        "outflow_sum_30d": 1150.0,
        "amount_max_30d": 1000.0,
        "txn_count_7d": 4,
        "txn_count_24h": 0,  # the newest transaction is exactly 24 h before as_of
        "avg_amount_30d": 362.5,
        "lifetime_txn_count": 4,
        "amount_mean": 362.5,
        "distinct_counterparties_30d": 3,
        "distinct_countries_30d": 3,  # DE, FR, US
        "days_since_last_activity": 1.0,
        "complaints_90d": 1,
        "interactions_90d": 1,
        "activity_trend_90d": 1.0,  # all activity is recent
        "balance_trend_90d": -1.0,  # net outflow now, nothing before
        "utilisation": 0.3,
        "bureau_score": 720,
        "credit_score": 720,
        "bureau_score_change": None,
        "debt_to_income": 0.4,
        "annual_income": 60000.0,
    }
    assert {name: features[name] for name in expected} == pytest.approx(expected)
    assert features["outflow_ratio_30d"] == pytest.approx(1150 / 1450)
    assert features["days_since_last_interaction"] == pytest.approx(22 / 24)

    scored = await _published(scoring, "scoring.transaction_scored.v2", customer_id, 4)
    last = next(
        e for e in scored if isinstance(e, TransactionScoredV2) and e.transaction.amount == 1000
    )
    txn_features = last.transaction_features
    assert txn_features.history_count == 3
    assert txn_features.amount_to_avg_30d == pytest.approx(1000 / 150)
    assert txn_features.is_new_counterparty is True
    assert txn_features.is_new_country is True
    assert last.customer_features.txn_count_30d == 4
    # Hand computation of the anomaly score: noisy-OR of the amount signals.
    ratio_evidence = math.log((1000 / 150) / 3) / math.log(20 / 3)
    std = math.sqrt(((100 - 150) ** 2 + (300 - 150) ** 2 + (50 - 150) ** 2) / 2)
    z_evidence = ((1000 - 150) / std - 3) / 5
    expected_score = 1 - (1 - 0.6 * ratio_evidence) * (1 - 0.4 * z_evidence)
    assert last.anomaly_score == pytest.approx(expected_score, abs=1e-5)
    assert last.anomaly_level == "medium"
    assert last.recommended_action == "approve"
    assert {r.code for r in last.reasons} == {"amount_vs_average", "amount_zscore"}
    assert last.risk_levels.anomaly == "medium"


async def test_a_deteriorating_credit_record_raises_the_level_with_reasons(
    scoring: ScoringHarness,
) -> None:
    customer_id = uuid.uuid4()
    await scoring.publish(
        created(customer_id),
        credit_record(customer_id, date(2026, 10, 1), score=780, debt="2000", limit="10000"),
    )
    await wait_for_version(scoring.runtime.engine, customer_id, 2)
    risk = (await scoring.client.get(f"/v1/customers/{customer_id}/risk")).json()
    assert risk["levels"]["credit"] == "low"

    await scoring.publish(
        credit_record(
            customer_id,
            date(2026, 11, 1),
            score=560,
            debt="9600",
            limit="10000",
            delinquencies_90=2,
            missed_payments=6,
        )
    )
    changes = await _published(scoring, "scoring.customer_risk_level_changed.v1", customer_id, 1)

    async def credit_change() -> CustomerRiskLevelChanged | None:
        for event in scoring.published.of("scoring.customer_risk_level_changed.v1", customer_id):
            assert isinstance(event, CustomerRiskLevelChanged)
            if event.model_kind == "credit" and event.to_level == "critical":
                return event
        return None

    change = await wait_until(credit_change, timeout=20, message="credit level change")
    assert changes
    assert change.from_level == "low"
    assert change.model_version == "credit-expert-1"
    assert change.sequence == 3
    codes = [reason.code for reason in change.reasons]
    assert {"delinquent_90", "low_bureau_score", "bureau_score_drop"} <= set(codes)
    assert codes[0] == "delinquent_90"  # the largest loss of points first (-80)
    assert any("collections" in advice for advice in change.advice)

    risk = (await scoring.client.get(f"/v1/customers/{customer_id}/risk")).json()
    assert risk["levels"]["credit"] == "critical"
    assert risk["overall_level"] == "critical"
    assert risk["assessments"]["credit"]["reasons"][0]["advice"]
    assert risk["advice"]
    overall = [
        e
        for e in scoring.published.of("scoring.customer_risk_level_changed.v1", customer_id)
        if isinstance(e, CustomerRiskLevelChanged) and e.model_kind == "overall"
    ]
    assert overall
    assert overall[-1].to_level == "critical"


async def test_redelivered_events_change_nothing(scoring: ScoringHarness) -> None:
    customer_id = uuid.uuid4()
    engine = scoring.runtime.engine
    txn = transaction(customer_id, T0, "250")
    record = credit_record(customer_id, date(2026, 11, 1))
    originals = (created(customer_id), txn, record)
    await scoring.publish(*originals)
    await wait_for_version(engine, customer_id, 3)
    await _published(scoring, "scoring.customer_assessed.v1", customer_id, 2)
    assessments_before = await count_rows(engine, ASSESSMENTS, id=customer_id)

    # The same events delivered again (past JetStream's dedup), and the same transaction and
    # credit record re-sent under new event ids.
    await scoring.publish(*originals, msg_id_suffix="-redelivered")
    await scoring.publish(
        msgspec.structs.replace(txn, id=uuid.uuid4()),
        msgspec.structs.replace(record, id=uuid.uuid4()),
    )
    marker = complaint(customer_id, T0 + timedelta(hours=1))
    await scoring.publish(marker)
    await wait_for_version(engine, customer_id, 4)

    async def marker_assessed() -> bool:
        return any(
            isinstance(e, CustomerAssessed) and e.trigger_event_id == marker.id
            for e in scoring.published.of("scoring.customer_assessed.v1", customer_id)
        )

    await wait_until(marker_assessed, timeout=20, message="marker assessed")
    assert await state_version(engine, customer_id) == 4
    # Only the marker's credit and churn assessments were added.
    assert await count_rows(engine, ASSESSMENTS, id=customer_id) == assessments_before + 2
    assert len(scoring.published.of("scoring.transaction_scored.v2", customer_id)) == 1
    sequences = [
        e.sequence
        for e in scoring.published.of("scoring.customer_assessed.v1", customer_id)
        if isinstance(e, CustomerAssessed)
    ]
    assert sequences == sorted(set(sequences))


async def test_a_foreign_currency_transaction_is_converted_to_the_base_currency(
    scoring: ScoringHarness,
) -> None:
    customer_id = uuid.uuid4()
    await scoring.publish(
        transaction(customer_id, T0, "92"),  # EUR: the customer's base currency
        transaction(customer_id, T0 + timedelta(minutes=5), "100", currency="USD"),
    )
    await wait_for_version(scoring.runtime.engine, customer_id, 2)
    features = (
        await scoring.client.get(
            f"/v1/customers/{customer_id}/features",
            params={"as_of": (T0 + timedelta(hours=1)).isoformat()},
        )
    ).json()["features"]
    assert features["currency"] == "EUR"
    assert features["amount_sum_24h"] == pytest.approx(92 + 92)  # 100 USD at 0.92 EUR/USD
    assert features["amount_max_24h"] == pytest.approx(92)


async def test_a_dormant_account_feeds_the_churn_assessment(scoring: ScoringHarness) -> None:
    customer_id = uuid.uuid4()
    account = AccountData(
        account_id=uuid.uuid4(),
        number="DE00123",
        type="savings",
        currency="EUR",
        status="dormant",
        opened_at=date(2025, 1, 1),
    )
    await scoring.publish(
        msgspec.structs.replace(created(customer_id), occurred_at=T0),
        AccountChanged(customer_id=customer_id, account=account, occurred_at=T0),
    )
    await wait_for_version(scoring.runtime.engine, customer_id, 2)
    risk = (await scoring.client.get(f"/v1/customers/{customer_id}/risk")).json()
    churn_codes = [reason["code"] for reason in risk["assessments"]["churn"]["reasons"]]
    assert "dormant_accounts" in churn_codes


async def test_an_unusable_event_is_skipped_without_holding_back_the_rest(
    scoring: ScoringHarness,
) -> None:
    customer_id = uuid.uuid4()
    bad = transaction(customer_id, T0, "10")
    naive = msgspec.structs.replace(bad.transaction, occurred_at=T0.replace(tzinfo=None))
    await scoring.publish(
        msgspec.structs.replace(bad, transaction=naive),
        transaction(customer_id, T0 + timedelta(minutes=1), "20"),
    )
    await wait_for_version(scoring.runtime.engine, customer_id, 1)
    features = (await scoring.client.get(f"/v1/customers/{customer_id}/features")).json()
    assert features["sequence"] == 1
    assert features["features"]["lifetime_txn_count"] == 1


async def test_an_idle_customer_is_reassessed_as_event_time_passes(
    scoring: ScoringHarness,
) -> None:
    customer_id = uuid.uuid4()
    engine = scoring.runtime.engine
    await scoring.publish(
        msgspec.structs.replace(created(customer_id), occurred_at=T0),
        transaction(customer_id, T0, "120"),
    )
    await wait_for_version(engine, customer_id, 2)
    # A backfill's end: 30 days of event time after the customer's last transaction, whatever
    # the machine clock says.
    backfill_end = T0 + timedelta(days=30)
    assert await reassess_idle_customers(scoring.runtime, backfill_end) >= 1
    assert await state_version(engine, customer_id) == 3
    # created, the transaction (the first with an event time), then the clock
    assessed = await _published(scoring, "scoring.customer_assessed.v1", customer_id, 3)
    latest = max((e for e in assessed if isinstance(e, CustomerAssessed)), key=lambda e: e.sequence)
    assert latest.trigger_event_type == "scoring.time_passed"
    assert latest.happened_at == backfill_end
    assert latest.customer_features["days_since_last_activity"] == 30
    assert any(r.code == "inactivity" for r in latest.reasons["churn"])
    assert await reassess_idle_customers(scoring.runtime, backfill_end) == 0  # not idle now
    assert await scalar(engine, AS_OF, id=customer_id) == backfill_end


async def test_a_record_published_today_about_a_past_bank_ages_nothing(
    scoring: ScoringHarness,
) -> None:
    """A replay two years in the past: the credit record's event is published by today's
    clock, but the customer is assessed as of the record's own time and the stream's."""
    customer_id, past = uuid.uuid4(), T0 - timedelta(days=730)
    record_day = (past + timedelta(days=2)).date()
    await scoring.publish(
        created(customer_id),  # published now, no event time of its own
        transaction(customer_id, past, "80"),
        transaction(customer_id, past + timedelta(days=3), "95"),
        credit_record(customer_id, record_day, occurred_at=datetime.now(UTC)),
    )
    await wait_for_version(scoring.runtime.engine, customer_id, 4)
    assessed = await _published(scoring, "scoring.customer_assessed.v1", customer_id, 4)
    latest = max((e for e in assessed if isinstance(e, CustomerAssessed)), key=lambda e: e.sequence)
    assert latest.trigger_event_type == "customer.credit_record_added.v1"
    assert latest.happened_at == datetime.combine(record_day, datetime.min.time(), tzinfo=UTC)
    # As of the newest transaction (three days after the first), not of today.
    assert latest.customer_features["days_since_last_activity"] == 0
    assert latest.customer_features["lifetime_txn_count"] == 2
    assert await scalar(scoring.runtime.engine, AS_OF, id=customer_id) == past + timedelta(days=3)
