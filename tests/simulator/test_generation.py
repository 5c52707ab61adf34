"""The synthetic bank: deterministic, realistic in shape, and every injected pattern labelled."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice

import pytest

from riskwatch_simulator.bank import PATTERNS, Bank, Label, Transaction, label_outcomes
from riskwatch_simulator.generator import (
    BankSpec,
    assign_patterns,
    generate_bank,
    generate_customer,
    live_stream,
    push_order,
    record_moment,
    timeline,
)
from riskwatch_simulator.population import FOREIGN_COUNTRIES

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SPEC = BankSpec(seed=7, customers=24, days=200, now=NOW)
FOREIGN = {country.code for country in FOREIGN_COUNTRIES}


@pytest.fixture(scope="module")
def bank() -> Bank:
    return generate_bank(SPEC)


def by_id(bank: Bank) -> dict[str, Transaction]:
    return {t.external_id: t for t in bank.transactions}


def labels_of(bank: Bank, pattern: str) -> list[Label]:
    found = [label for label in bank.labels if label.pattern == pattern]
    assert found, f"no {pattern} injected"
    return found


def test_same_seed_same_bank(bank: Bank) -> None:
    again = generate_bank(SPEC)
    assert again.counts() == bank.counts()
    assert again.transactions[:50] == bank.transactions[:50]
    assert again.transactions[-50:] == bank.transactions[-50:]
    assert again.labels == bank.labels
    assert again.credit_records == bank.credit_records


def test_another_seed_another_bank(bank: Bank) -> None:
    other = generate_bank(BankSpec(seed=8, customers=24, days=200, now=NOW))
    assert other.transactions[:50] != bank.transactions[:50]


def test_every_pattern_is_injected_and_spread_evenly() -> None:
    counts = Counter(assign_patterns(BankSpec(seed=3, customers=600)).values())
    assert set(counts) == set(PATTERNS)
    assert max(counts.values()) - min(counts.values()) <= 1
    # Even a tiny bank carries one of each.
    assert set(assign_patterns(BankSpec(seed=3, customers=6)).values()) == set(PATTERNS)


def test_records_are_within_the_history_and_well_formed(bank: Bank) -> None:
    counts = bank.counts()
    assert counts["individuals"] > 0
    assert counts["corporates"] > 0
    assert counts["transactions"] > 24 * 200
    for transaction in bank.transactions:
        assert SPEC.start <= transaction.occurred_at <= NOW
        assert isinstance(transaction.amount, Decimal)
        assert transaction.amount > 0
        assert transaction.amount == transaction.amount.quantize(Decimal("0.01"))
        assert len(transaction.currency) == 3
        assert transaction.currency.isupper()
    moments = [t.occurred_at for t in bank.transactions]
    assert moments == sorted(moments)
    accounts = {account.external_id: account for account in bank.accounts}
    for transaction in islice(bank.transactions, 2_000):
        assert accounts[transaction.account_external_id].currency == transaction.currency


def test_everyday_rhythms(bank: Bank) -> None:
    people = {c.external_id for c in bank.customers if c.kind == "individual"}
    cards = [t for t in bank.transactions if t.channel == "card"]
    person_cards = [t for t in cards if t.customer_external_id in people]
    by_hour = Counter(t.occurred_at.hour for t in person_cards)
    assert by_hour[12] + by_hour[18] > 5 * (by_hour[3] + by_hour[4])
    companies = [t for t in bank.transactions if t.customer_external_id not in people]
    weekdays = Counter(t.occurred_at.weekday() for t in companies if t.channel == "transfer")
    assert weekdays[2] > 4 * weekdays[6]
    # Log-normal amounts: a long right tail, the mean well above the median.
    amounts = sorted(float(t.amount) for t in person_cards)
    assert sum(amounts) / len(amounts) > amounts[len(amounts) // 2]
    salaries = [
        t for t in bank.transactions if t.direction == "inbound" and t.occurred_at.day == 25
    ]
    assert salaries


def test_labels_name_real_records(bank: Bank) -> None:
    transactions = by_id(bank)
    records = {r.external_id for r in bank.credit_records}
    records |= {r.external_id for r in bank.financial_profiles}
    records |= {r.external_id for r in bank.interactions}
    for label in bank.labels:
        assert label.starts_at <= label.ends_at <= NOW
        for external_id in label.transaction_external_ids:
            assert transactions[external_id].customer_external_id == label.customer_external_id
        assert set(label.record_external_ids) <= records


def test_card_fraud_burst_is_many_payments_in_minutes_abroad(bank: Bank) -> None:
    transactions = by_id(bank)
    for label in labels_of(bank, "card_fraud_burst"):
        burst = [transactions[i] for i in label.transaction_external_ids]
        assert len(burst) >= 8
        assert label.ends_at - label.starts_at < timedelta(minutes=15)
        assert {t.country for t in burst} <= FOREIGN


def test_account_takeover_is_a_new_device_and_country_then_large_transfers(bank: Bank) -> None:
    transactions = by_id(bank)
    for label in labels_of(bank, "account_takeover"):
        steps = [transactions[i] for i in label.transaction_external_ids]
        before = [
            t
            for t in bank.transactions
            if t.customer_external_id == label.customer_external_id
            and t.occurred_at < label.starts_at
        ]
        seen_devices = {t.device_id for t in before}
        # The very first payment from the new device and country is already a large one.
        assert steps[0].device_id not in seen_devices
        assert steps[0].country in FOREIGN
        assert steps[0].country not in {t.country for t in before}
        assert all(t.direction == "outbound" and t.amount >= 5_000 for t in steps)
        assert len(steps) >= 2


def test_structuring_stays_just_under_the_threshold(bank: Bank) -> None:
    transactions = by_id(bank)
    for label in labels_of(bank, "structuring"):
        deposits = [transactions[i] for i in label.transaction_external_ids]
        assert len(deposits) >= 4
        assert all(Decimal(9_000) <= t.amount < Decimal(10_000) for t in deposits)
        assert label.ends_at - label.starts_at < timedelta(hours=24)


def test_mule_accounts_receive_from_many_and_forward_fast(bank: Bank) -> None:
    transactions = by_id(bank)
    for label in labels_of(bank, "mule_account"):
        moves = [transactions[i] for i in label.transaction_external_ids]
        inbound = [t for t in moves if t.direction == "inbound"]
        outbound = [t for t in moves if t.direction == "outbound"]
        assert len({t.counterparty_account for t in inbound}) >= 9
        assert sum(t.amount for t in outbound) > Decimal("0.9") * sum(t.amount for t in inbound)


def test_credit_deterioration_worsens_and_some_default(bank: Bank) -> None:
    labels = labels_of(bank, "credit_deterioration")
    for label in labels:
        records = sorted(
            (r for r in bank.credit_records if r.external_id in label.record_external_ids),
            key=lambda r: r.as_of,
        )
        assert [r.credit_score for r in records] == sorted(
            (r.credit_score for r in records), reverse=True
        )
        assert records[-1].missed_payments >= 2
        assert (records[-1].defaults == 1) == (label.outcome == 1)
        profiles = [
            p
            for p in bank.financial_profiles
            if p.customer_external_id == label.customer_external_id
        ]
        assert profiles[-1].annual_income < profiles[0].annual_income
        assert sum(profiles[-1].liabilities.values()) > sum(profiles[0].liabilities.values())
    short = BankSpec(seed=11, customers=20, days=150, now=NOW)
    outcomes = Counter(
        generate_customer(short, index, "credit_deterioration").labels[0].outcome
        for index in range(20)
    )
    assert outcomes[1] > outcomes[0] > 0


def test_churners_fade_complain_drain_and_go_dormant(bank: Bank) -> None:
    for label in labels_of(bank, "churn"):
        own = [t for t in bank.transactions if t.customer_external_id == label.customer_external_id]
        last = max(t.occurred_at for t in own)
        assert NOW - last > timedelta(days=60)
        complaints = [
            i
            for i in bank.interactions
            if i.customer_external_id == label.customer_external_id and i.channel == "complaint"
        ]
        assert len(complaints) >= 2
        drains = [t for t in own if t.external_id in label.transaction_external_ids]
        assert all(t.direction == "outbound" for t in drains)


def test_label_outcomes_cover_every_customer_and_kind(bank: Bank) -> None:
    outcomes = label_outcomes(bank)
    assert len(outcomes) == 3 * len(bank.customers)
    positives = {(o.customer_external_id, o.kind) for o in outcomes if o.outcome}
    churned = {(c.customer_external_id, "churn") for c in bank.labels if c.pattern == "churn"}
    assert churned <= positives


def test_timeline_is_ordered_and_complete(bank: Bank) -> None:
    records = timeline(bank)
    expected = (
        len(bank.transactions)
        + len(bank.credit_records)
        + len(bank.financial_profiles)
        + len(bank.interactions)
    )
    assert len(records) == expected
    assert [record_moment(r) for r in records] == sorted(record_moment(r) for r in records)


def test_push_order_sends_transactions_first_then_records_in_order(bank: Bank) -> None:
    order = push_order(bank)
    assert sorted(r.external_id for r in order) == sorted(r.external_id for r in timeline(bank))
    first_record = next(i for i, r in enumerate(order) if not isinstance(r, Transaction))
    assert all(not isinstance(r, Transaction) for r in order[first_record:])
    assert order[:first_record] == bank.transactions
    records = order[first_record:]
    assert [record_moment(r) for r in records] == sorted(record_moment(r) for r in records)


def test_live_stream_is_deterministic_paced_and_leaves_churners_dormant(bank: Bank) -> None:
    start = NOW + timedelta(minutes=5)
    first = list(islice(live_stream(bank, start=start, rate=100, seed=5), 500))
    again = list(islice(live_stream(bank, start=start, rate=100, seed=5), 500))
    assert first == again
    assert first[100].occurred_at - first[0].occurred_at == timedelta(seconds=1)
    churned = {c.customer_external_id for c in bank.labels if c.pattern == "churn"}
    assert not churned & {t.customer_external_id for t in first}
    assert len({t.external_id for t in first}) == 500


def test_live_stream_time_scale_stretches_the_bank_clock_only(bank: Bank) -> None:
    start = NOW + timedelta(minutes=5)
    real_time = list(islice(live_stream(bank, start=start, rate=100, seed=5), 101))
    stretched = list(islice(live_stream(bank, start=start, rate=100, seed=5, time_scale=3600), 101))
    assert stretched[100].occurred_at - stretched[0].occurred_at == timedelta(hours=1)
    # Same payments, only their moments differ.
    assert [t.amount for t in stretched] == [t.amount for t in real_time]
    assert [t.customer_external_id for t in stretched] == [
        t.customer_external_id for t in real_time
    ]


def test_every_generated_contact_is_one_the_api_accepts(bank: Bank) -> None:
    """Phone numbers valid in their country's plan and e-mail addresses the customer service's
    checks take (`riskwatch_shared.contact`), so a simulated bank is never refused a customer."""
    from riskwatch_shared.contact import normalise_email, normalise_phone
    from riskwatch_simulator.population import COUNTRIES

    for customer in bank.customers:
        assert normalise_phone(customer.phone).startswith("+")
        normalise_email(customer.email)
    for country in (*COUNTRIES, *FOREIGN_COUNTRIES):
        normalise_phone(f"{country.phone_prefix} 1234")
