"""The harder simulated bank: realistic prevalence, subtle forms, everyday noise, determinism;
and the pusher's windows of the bank's time."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from random import Random
from statistics import median

import pytest

from riskwatch_simulator.bank import PATTERNS, Bank, CreditRecord, Label, Transaction
from riskwatch_simulator.generator import (
    HARD_SHARES,
    BankSpec,
    assign_forms,
    generate_bank,
    generate_customer,
    record_moment,
    timeline,
)
from riskwatch_simulator.history import CustomerHistory
from riskwatch_simulator.population import (
    FOREIGN_COUNTRIES,
    first_financial_profile,
    healthy_credit_records,
    new_customer,
)
from riskwatch_simulator.pushing import RecordStep, TransactionStep, push_steps
from riskwatch_simulator.subtle import FIRST_ARREARS_DAYS

NOW = datetime(2026, 6, 1, tzinfo=UTC)
# Small enough to build in a second; every form is still injected once (at least one each).
SPEC = BankSpec(seed=11, customers=60, days=365, now=NOW, hard=True)
FOREIGN = {country.code for country in FOREIGN_COUNTRIES}


@pytest.fixture(scope="module")
def bank() -> Bank:
    return generate_bank(SPEC)


def forms_of(bank: Bank, pattern: str, variant: str) -> list[Label]:
    found = [label for label in bank.labels if (label.pattern, label.variant) == (pattern, variant)]
    assert found, f"no {pattern}/{variant or 'blatant'} injected"
    return found


def transactions_of(bank: Bank, customer: str) -> list[Transaction]:
    return [t for t in bank.transactions if t.customer_external_id == customer]


def test_prevalence_is_realistic_every_form_on_its_share() -> None:
    spec = BankSpec(seed=3, customers=1_000, hard=True)
    forms = Counter(assign_forms(spec).values())
    assert forms == {form: round(1_000 * share) for form, share in HARD_SHARES.items()}
    per_pattern = Counter(pattern for pattern, _ in assign_forms(spec).values())
    assert set(per_pattern) == set(PATTERNS)
    assert all(count / 1_000 < 0.01 for count in per_pattern.values())  # well under 1% each
    # Each customer carries at most one pattern.
    assert len(assign_forms(spec)) == sum(forms.values())


def test_every_form_is_injected_even_in_a_small_bank(bank: Bank) -> None:
    assert Counter((label.pattern, label.variant) for label in bank.labels) == dict.fromkeys(
        HARD_SHARES, 1
    )


def test_the_same_seed_gives_the_same_customers_another_seed_another(bank: Bank) -> None:
    forms = assign_forms(SPEC)
    assert forms == assign_forms(SPEC)
    for index, (pattern, variant) in list(forms.items())[:4]:
        again = generate_customer(SPEC, index, pattern, variant)
        assert again.labels == [
            label
            for label in bank.labels
            if label.customer_external_id == again.customer.external_id
        ]
        mine = sorted(again.transactions, key=lambda t: (t.occurred_at, t.external_id))
        assert mine == transactions_of(bank, again.customer.external_id)
    other = BankSpec(seed=12, customers=60, days=365, now=NOW, hard=True)
    assert assign_forms(other) != forms


def test_card_fraud_near_usual_looks_like_the_customers_own_spending(bank: Bank) -> None:
    (label,) = forms_of(bank, "card_fraud_burst", "near_usual")
    own = transactions_of(bank, label.customer_external_id)
    fraud = [t for t in own if t.external_id in set(label.transaction_external_ids)]
    usual = [t for t in own if t not in fraud and t.channel in ("card", "online", "mobile")]
    usual_median = median(float(t.amount) for t in usual)
    assert 5 <= len(fraud) <= 8
    assert all(float(t.amount) < 6 * usual_median for t in fraud)
    assert max(t.occurred_at for t in fraud) - min(t.occurred_at for t in fraud) < timedelta(
        minutes=15
    )
    # At home, at ordinary shops; only the device was never the customer's.
    assert {t.country for t in fraud} == {usual[0].country}
    assert not {t.device_id for t in fraud} & {t.device_id for t in usual}


def test_structuring_across_days_never_shows_three_deposits_in_a_day(bank: Bank) -> None:
    (label,) = forms_of(bank, "structuring", "across_days")
    own = {t.external_id: t for t in transactions_of(bank, label.customer_external_id)}
    deposits = [own[external_id] for external_id in label.transaction_external_ids]
    assert len(deposits) >= 5
    assert all(Decimal(7_000) <= t.amount < Decimal(10_000) for t in deposits)
    assert {(t.channel, t.direction) for t in deposits} == {("atm", "inbound")}
    per_day = Counter(t.occurred_at.date() for t in deposits)
    assert len(per_day) >= 3
    assert max(per_day.values()) <= 2


def test_slow_layering_takes_weeks_and_forwards_less_than_it_took(bank: Bank) -> None:
    (label,) = forms_of(bank, "mule_account", "slow_layering")
    own = {t.external_id: t for t in transactions_of(bank, label.customer_external_id)}
    moves = [own[external_id] for external_id in label.transaction_external_ids]
    inbound = [t for t in moves if t.direction == "inbound"]
    outbound = [t for t in moves if t.direction == "outbound"]
    assert label.ends_at - label.starts_at >= timedelta(days=7)
    assert len({t.counterparty_account for t in inbound}) == len(inbound) >= 9
    assert all(t.amount <= Decimal(1_800) for t in inbound)
    assert len({t.counterparty_account for t in outbound}) <= 2
    assert {t.counterparty_country for t in outbound} <= FOREIGN
    assert sum(t.amount for t in outbound) < sum(t.amount for t in inbound)


def test_gradual_credit_decline_warns_months_before_the_default(bank: Bank) -> None:
    (label,) = forms_of(bank, "credit_deterioration", "gradual")
    ids = set(label.record_external_ids)
    pulls: list[CreditRecord] = sorted(
        (r for r in bank.credit_records if r.external_id in ids), key=lambda r: r.as_of
    )
    assert len(pulls) >= 8  # monthly
    assert pulls[0].credit_score - pulls[-1].credit_score >= 90
    steps = [b.credit_score - a.credit_score for a, b in itertools.pairwise(pulls)]
    assert max(steps) < 20
    assert min(steps) > -40
    first_missed = next(r for r in pulls if r.missed_payments > 0)
    if label.outcome:
        assert label.outcome_at is not None
        lead = label.outcome_at.date() - first_missed.as_of
        assert lead >= timedelta(days=FIRST_ARREARS_DAYS - 31)
        assert pulls[-1].defaults == 1
    # The healthy quarterly pulls stop where the decline starts.
    healthy = [
        r
        for r in bank.credit_records
        if r.customer_external_id == label.customer_external_id and r.external_id not in ids
    ]
    assert all(r.as_of < pulls[0].as_of for r in healthy)


def test_the_hard_bank_has_everyday_noise_the_classic_one_has_not(bank: Bank) -> None:
    classic = generate_bank(BankSpec(seed=11, customers=60, days=90, now=NOW))
    labelled = {t for label in bank.labels for t in label.transaction_external_ids}

    def cash_deposits(of: Bank) -> list[Transaction]:
        return [
            t
            for t in of.transactions
            if (t.channel, t.direction) == ("atm", "inbound") and t.external_id not in labelled
        ]

    assert cash_deposits(bank)
    assert not [
        t
        for t in cash_deposits(classic)
        if t.external_id
        not in {x for label in classic.labels for x in label.transaction_external_ids}
    ]
    # Some healthy borrowers miss a payment once (and cure it): not every warning is a default.
    pulls = []
    for index in range(20):
        rng = Random(f"noise:{index}")
        history = CustomerHistory(
            new_customer(rng, seed=1, index=index, kind="individual", start=NOW), rng
        )
        first_financial_profile(history, as_of=NOW.date())
        end = NOW.date() + timedelta(days=3_650)
        healthy_credit_records(history, start=NOW.date(), end=end, noisy=True)
        pulls.extend(history.credit_records)
    missed = sum(1 for r in pulls if r.missed_payments) / len(pulls)
    assert 0 < missed < 0.05


def test_push_steps_keep_the_timeline_and_wait_once_a_window(bank: Bank) -> None:
    items = timeline(bank)
    window = timedelta(hours=24)
    steps = list(push_steps(items, window))
    flattened = [
        item
        for step in steps
        for item in (step.records if isinstance(step, RecordStep) else step.transactions)
    ]
    assert sorted(i.external_id for i in flattened) == sorted(i.external_id for i in items)
    # Each customer's payments in time order, window after window; a record at most one
    # window after the payments around it.
    payments = [i for i in flattened if isinstance(i, Transaction)]
    for customer in {t.customer_external_id for t in payments[:500]}:
        mine = [t for t in payments if t.customer_external_id == customer]
        assert mine == sorted(mine, key=lambda t: t.occurred_at)
    sent_after: datetime | None = None
    for step in steps:
        if isinstance(step, TransactionStep):
            latest = max(t.occurred_at for t in step.transactions)
            assert sent_after is None or min(t.occurred_at for t in step.transactions) > (
                sent_after - window
            )
            sent_after = latest
            continue
        for record in step.records:
            assert sent_after is None or record_moment(record) > sent_after - window
    # One wait per window at most (not one per record).
    record_steps = sum(isinstance(step, RecordStep) for step in steps)
    assert record_steps <= SPEC.days + 2
    # Each customer's records keep their order.
    order = [i.external_id for i in flattened if not isinstance(i, Transaction)]
    expected = [i.external_id for i in items if not isinstance(i, Transaction)]
    by_customer = {external_id.split("-")[0] for external_id in expected}
    for customer in by_customer:
        mine = [e for e in order if e.startswith(customer)]
        assert mine == [e for e in expected if e.startswith(customer)]
