"""A bank shifted in time: the same records, days later, under identities of its own; and the
report's split of false alerts into the go-live month and after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from riskwatch_simulator.bank import Label
from riskwatch_simulator.generator import BankSpec, generate_bank, shifted
from riskwatch_simulator.report import AlertSeen, PushTimes, SimulationReport, build_report

PAST = datetime(2024, 12, 6, 12, tzinfo=UTC)


def test_a_shifted_bank_is_the_same_bank_later_under_new_identities() -> None:
    bank = generate_bank(BankSpec(seed=11, customers=14, days=90, now=PAST))
    later = shifted(bank, days=730, tag="R730")
    assert (later.start, later.now) == (bank.start + timedelta(days=730), PAST + timedelta(730))
    assert len(later.transactions) == len(bank.transactions) > 0
    for before, after in zip(bank.transactions, later.transactions, strict=True):
        assert after.occurred_at == before.occurred_at + timedelta(days=730)
        assert after.external_id == before.external_id.replace("S11C", "S11R730C", 1)
        assert (after.amount, after.currency, after.channel, after.counterparty_account) == (
            before.amount,
            before.currency,
            before.channel,
            before.counterparty_account,
        )
    for before_record, after_record in zip(bank.credit_records, later.credit_records, strict=True):
        assert after_record.as_of == before_record.as_of + timedelta(days=730)
    # What the customer service keeps unique differs, so both banks fit in one RiskWatch.
    assert not {c.document for c in bank.customers} & {c.document for c in later.customers}
    assert not {a.number for a in bank.accounts} & {a.number for a in later.accounts}
    assert [label.pattern for label in later.labels] == [label.pattern for label in bank.labels]
    assert all(
        after.starts_at == before.starts_at + timedelta(days=730)
        and set(after.transaction_external_ids).isdisjoint(before.transaction_external_ids)
        for before, after in zip(bank.labels, later.labels, strict=True)
    )


def test_false_alerts_are_split_into_the_go_live_month_and_after() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    label = Label("churn", "C1", start, start + timedelta(days=80), record_external_ids=("R1",))

    def alert(number: int, rule: str, day: int, customer: str = "c2") -> AlertSeen:
        moment = start + timedelta(days=day)
        return AlertSeen(f"a{number}", customer, "transaction_anomaly", rule, moment, None, moment)

    alerts = {
        "c2": [alert(1, "Large", 2), alert(2, "Large", 29), alert(3, "Large", 31)],
        "c3": [alert(4, "Velocity", 50, "c3")],
    }
    base = SimulationReport(customers=10, transactions_sent=0, records_sent=0, seconds=1.0)
    base.start, base.days = start, 90
    report = build_report(
        labels=[label],
        customer_ids={"C1": "c1", "C2": "c2", "C3": "c3"},
        alerts_by_customer=alerts,
        times=PushTimes({}, {}, {}),
        notified_at={},
        risk_scores={},
        base=base,
    )
    assert report.false_alerts_by_period == {"Large": (2, 1), "Velocity": (0, 1)}
    first, after = report.false_alerts_per_1000_per_day()
    assert first == 2 * 1000 / (10 * 30)
    assert after == 2 * 1000 / (10 * 60)
    assert report.alerts[0] == ("C2", "transaction_anomaly", "Large", start + timedelta(days=2))
    assert "first 30 days 6.67, after 3.33" in report.render()


def test_a_warning_is_measured_from_its_event_time_to_the_outcome() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    quiet = start + timedelta(days=100)
    label = Label(
        "churn",
        "C1",
        start,
        quiet + timedelta(days=70),
        record_external_ids=("R1",),
        outcome_at=quiet,
    )

    def churn_alert(number: int, day: float) -> AlertSeen:
        happened = start + timedelta(days=day)
        raised = quiet + timedelta(days=70)  # a replay: every alert raised at its end
        return AlertSeen(f"a{number}", "c1", "churn", "Early churn warning", raised, None, happened)

    base = SimulationReport(customers=1, transactions_sent=0, records_sent=0, seconds=1.0)
    report = build_report(
        labels=[label],
        customer_ids={"C1": "c1"},
        alerts_by_customer={"c1": [churn_alert(1, 90), churn_alert(2, 72.5)]},
        times=PushTimes({}, {}, {"R1": (start + timedelta(days=1)).timestamp()}),
        notified_at={},
        risk_scores={},
        base=base,
    )
    churn = next(figures for figures in report.patterns if figures.pattern == "churn")
    assert churn.caught == 1
    assert churn.lead_days == [27.5]
    assert "churn: warned 27.5 days before the outcome (median of 1; min 27.5)" in report.render()
