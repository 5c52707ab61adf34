"""`riskwatch simulate` end to end against the in-process fake gateway."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from riskwatch_simulator.client import RiskWatchClient
from riskwatch_simulator.simulate import SimulationConfig, simulate

from .fake_gateway import PASSWORD, FakeState, fake_gateway


async def no_sleep(_: float) -> None:
    return None


async def test_simulate_pushes_the_bank_and_reports_what_was_caught() -> None:
    state = FakeState()
    state.failures = [(503, {"Retry-After": "0"})]
    transport = httpx.ASGITransport(app=fake_gateway(state))
    client = RiskWatchClient("http://gateway", transport=transport, sleep=no_sleep)
    config = SimulationConfig(
        gateway="http://gateway",
        customers=12,
        days=150,
        seed=4,
        rate=None,
        batch_size=400,
        admin_password=PASSWORD,
        settle_seconds=0.05,
        now=datetime(2026, 2, 1, tzinfo=UTC),
    )
    err = io.StringIO()
    async with client:
        report = await simulate(config, client=client, err=err)
    assert len(state.customers) == 12
    assert [rule["status"] for rule in state.rules] == ["active"]
    assert len(state.subscriptions) == 1
    assert report.transactions_sent == len(state.transactions)
    assert report.records_sent == len(state.records)
    # Every transaction carries the service ids the onboarding got back.
    accounts = {a["id"] for found in state.accounts.values() for a in found}
    sample = list(state.transactions.values())[:200]
    assert all(t["customer_id"] in state.customers for t in sample)
    assert all(t.get("account_id") in accounts for t in sample)
    assert all(Decimal(t["amount"]) > 0 for t in sample)
    # In time order, as a core system sends it: records in step with the payments (a payment
    # batch after the first record), each customer's records in the order they happened.
    first_record = state.arrivals.index("record")
    assert "batch" in state.arrivals[first_record:]
    for customer_id in state.customers:
        pulls = [
            b["as_of"]
            for c, kind, b in state.records
            if c == customer_id and kind == "credit-records"
        ]
        assert pulls == sorted(pulls)
    # Only trainable kinds are posted as labels.
    assert {label["kind"] for label in state.labels} == {"credit", "churn"}
    figures = {f.pattern: f for f in report.patterns}
    assert figures["account_takeover"].caught == figures["account_takeover"].injected >= 1
    assert figures["account_takeover"].event_to_alert_seconds
    assert figures["account_takeover"].alert_to_notification_seconds
    assert figures["credit_deterioration"].caught == figures["credit_deterioration"].injected
    assert figures["churn"].caught == 0
    assert report.auc["credit"] == 1.0
    assert "account_takeover" in report.render()
    assert "customers" in err.getvalue()
    # The credit early warning's lead time: from the first warning to each default.
    defaults = [
        label for label in state.labels if label["kind"] == "credit" and label["outcome"] == 1
    ]
    warning = report.credit_warning
    assert warning is not None
    assert warning.defaults == len(defaults)
    if defaults:
        [arrears, overall] = warning.indicators
        assert len(arrears.days) == len(defaults)
        assert arrears.median == overall.median
        assert "credit early warning, lead time to default" in report.render()


async def test_the_live_stream_follows_the_history() -> None:
    state = FakeState()
    transport = httpx.ASGITransport(app=fake_gateway(state))
    client = RiskWatchClient("http://gateway", transport=transport, sleep=no_sleep)
    config = SimulationConfig(
        gateway="http://gateway",
        customers=6,
        days=20,
        seed=5,
        rate=4_000.0,
        admin_password=PASSWORD,
        setup_rules=False,
        post_labels=False,
        live_seconds=0.25,
        settle_seconds=0.05,
    )
    started = datetime.now(UTC)
    async with client:
        report = await simulate(config, client=client, err=io.StringIO())
    live = [t for external_id, t in state.transactions.items() if external_id.startswith("L5-")]
    assert len(live) == 1_000
    assert report.transactions_sent == len(state.transactions)
    moments = sorted(datetime.fromisoformat(t["occurred_at"]) for t in live)
    assert started <= moments[0]
    assert moments[-1] - moments[0] < timedelta(seconds=1)
    assert state.rules == []
    assert state.labels == []
