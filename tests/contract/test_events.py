"""Event contract: every registered type round-trips, and stored v1 payloads keep validating."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from riskwatch_shared.events import EVENT_TYPES, Event, parse_event
from riskwatch_shared.events.alerting import (
    AlertRaised,
    AlertUpdated,
    CaseOpened,
    CaseUpdated,
    CustomerContacted,
    CustomerEnteredWatchlist,
    CustomerExitedWatchlist,
    OperationalAlertRaised,
    RiskMeasureTaken,
    RuleChangeApproved,
    RuleChangeProposed,
    RuleChangeRejected,
    WatchlistReviewDue,
    WatchlistReviewed,
)
from riskwatch_shared.events.common import (
    AccountData,
    CreditRecordData,
    CustomerSnapshot,
    FinancialProfileData,
    InteractionData,
    Reason,
    RiskMeasureData,
    TransactionData,
)
from riskwatch_shared.events.customer import (
    AccountChanged,
    CreditRecordAdded,
    CustomerCreated,
    CustomerUpdated,
    FinancialProfileUpdated,
    InteractionLogged,
    RiskMeasureRecorded,
    TransactionReceived,
)
from riskwatch_shared.events.notify import DeliveryFailed, EscalationCancelled, NotificationSent
from riskwatch_shared.events.scoring import (
    CustomerAssessed,
    CustomerFeatures,
    CustomerRiskLevelChanged,
    CustomerRiskLevels,
    ModelDriftDetected,
    TransactionScored,
    TransactionScoredV2,
    TransactionSignals,
)

SAMPLES = Path(__file__).parent / "samples"
CUSTOMER_ID = UUID("8a6e0804-2bd0-4672-b79d-d97027f9071a")
CASE_ID = UUID("6b0f2c1e-9d3a-4e5b-8c7d-1a2b3c4d5e6f")
AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
WATCH_ID = UUID("2c9d7e4a-1b3f-4a6c-9d8e-7f6a5b4c3d2e")
RULE_ID = UUID("5e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b")
PROPOSAL_ID = UUID("6f2a3b4c-5d6e-4f7a-9b8c-0d1e2f3a4b5c")

TRANSACTION = TransactionData(
    transaction_id=UUID("0b7c2a36-57a5-4e0b-9f3c-7d6f5a1d2e10"),
    external_id="core-000123",
    customer_id=CUSTOMER_ID,
    account_id=UUID("5f1d3a7e-4c1b-4f8e-9a2d-0e6b7c8d9f01"),
    direction="outbound",
    amount=Decimal("12500.50"),
    currency="EUR",
    channel="transfer",
    counterparty_name="ACME Ltd",
    counterparty_account="DE89370400440532013000",
    counterparty_country="DE",
    country="NL",
    device_id="dev-1",
    occurred_at=AT,
    received_at=AT,
)
MEASURE = RiskMeasureData(
    measure_id=UUID("3c9b8f2e-1d4a-4b6c-8e7f-a0b1c2d3e4f5"),
    kind="freeze_account",
    account_id=UUID("5f1d3a7e-4c1b-4f8e-9a2d-0e6b7c8d9f01"),
    reason="card fraud suspected",
    alert_id=UUID("7d2e4f60-8a9b-4c1d-9e0f-1a2b3c4d5e6f"),
    taken_by="analyst@bank.example",
    taken_by_name="Ann Analyst",
    taken_at=AT,
)
# As scoring's event path writes a reason: its value as text, as a parameter, and the advice.
REASON = Reason(
    code="dti_high",
    message="debt-to-income 62%",
    contribution=0.4,
    value="0.62",
    params={"value": "0.62"},
    advice="review the customer's file",
)


def examples() -> list[Event]:
    """One instance of every registered event type (fixed ids: `test_golden_events.py`)."""
    alert_id = UUID("3c5d7e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f")
    return [
        CustomerCreated(
            customer_id=CUSTOMER_ID,
            customer=CustomerSnapshot(kind="individual", name="Li Wei", status="active"),
        ),
        CustomerUpdated(
            customer_id=CUSTOMER_ID,
            customer=CustomerSnapshot(kind="individual", name="Li Wei", status="dormant"),
            changed_fields=["status"],
        ),
        CreditRecordAdded(
            customer_id=CUSTOMER_ID,
            credit_record=CreditRecordData(
                credit_record_id=UUID(int=6291457),
                source="bureau",
                credit_score=610,
                missed_payments=2,
                outstanding_debt=Decimal("48000"),
                credit_limit=Decimal("50000"),
                as_of=date(2026, 10, 31),
                days_past_due=12,
                monthly_instalment=Decimal("1450.00"),
            ),
        ),
        FinancialProfileUpdated(
            customer_id=CUSTOMER_ID,
            financial_profile=FinancialProfileData(
                financial_profile_id=UUID(int=6291458),
                annual_income=Decimal("42000"),
                currency="EUR",
                liabilities={"mortgage": Decimal("180000")},
                as_of=date(2026, 10, 31),
            ),
        ),
        InteractionLogged(
            customer_id=CUSTOMER_ID,
            interaction=InteractionData(
                interaction_id=UUID(int=6291459),
                channel="complaint",
                direction="inbound",
                summary="fees too high",
                occurred_at=AT,
            ),
        ),
        AccountChanged(
            customer_id=CUSTOMER_ID,
            account=AccountData(
                account_id=UUID(int=6291460),
                number="NL91ABNA0417164300",
                type="current",
                currency="EUR",
                status="active",
                opened_at=date(2020, 1, 1),
            ),
        ),
        TransactionReceived(customer_id=CUSTOMER_ID, transaction=TRANSACTION),
        TransactionScored(
            customer_id=CUSTOMER_ID,
            transaction=TRANSACTION,
            anomaly_score=0.91,
            anomaly_level="critical",
            recommended_action="block",
            reasons=[REASON],
            model_version="anomaly-v1",
            transaction_features={"is_new_country": True},
            customer_features={"avg_amount_30d": 800.0},
            risk_levels={"credit": "low"},
        ),
        CustomerAssessed(
            customer_id=CUSTOMER_ID,
            trigger_event_type="customer.credit_record_added.v1",
            sequence=4,
            levels={"credit": "high", "churn": "low", "overall": "high"},
            scores={"credit": 0.31},
            reasons={"credit": [REASON]},
        ),
        CustomerRiskLevelChanged(
            customer_id=CUSTOMER_ID,
            model_kind="credit",
            from_level="medium",
            to_level="high",
            score=0.31,
            sequence=4,
            model_version="credit-expert-v1",
            reasons=[REASON],
            advice=["review the credit limit"],
        ),
        ModelDriftDetected(
            model_id=UUID(int=6291461),
            model_kind="credit",
            psi=0.31,
            threshold=0.25,
            model_version="credit-v3",
            owners=["rita", "rob"],
        ),
        AlertRaised(
            alert_id=alert_id,
            customer_id=CUSTOMER_ID,
            rule_id=UUID(int=6291462),
            rule_version=2,
            rule_name="Credit level rose",
            rule_type="credit_risk",
            severity="high",
            title="Credit risk level rose to high",
            summary="medium -> high",
            raised_at=AT,
            evidence={"risk.credit_level": "high"},
            reasons=["debt-to-income 62%"],
        ),
        AlertUpdated(
            alert_id=alert_id,
            customer_id=CUSTOMER_ID,
            change="acknowledged",
            status="acknowledged",
            severity="high",
            actor="analyst@bank.example",
        ),
        CustomerContacted(
            customer_id=CUSTOMER_ID,
            alert_id=alert_id,
            contact_id=UUID(int=6291463),
            channel="call",
            note="Customer confirmed the payment",
            alert_title="Large payment",
            actor="analyst@bank.example",
            actor_name="Ann Analyst",
            contacted_at=AT,
        ),
        RiskMeasureTaken(customer_id=CUSTOMER_ID, alert_id=alert_id, measure=MEASURE),
        RiskMeasureRecorded(customer_id=CUSTOMER_ID, measure=MEASURE),
        NotificationSent(
            notification_id=UUID(int=6291464),
            alert_id=alert_id,
            recipient_id=UUID(int=6291465),
            channel="email",
            provider="smtp",
        ),
        DeliveryFailed(
            notification_id=UUID(int=6291466),
            alert_id=alert_id,
            recipient_id=UUID(int=6291467),
            channel="sms",
            attempts=6,
            detail="provider answered 400",
        ),
        EscalationCancelled(alert_id=alert_id, steps_done=1, cancelled_notifications=2),
        CaseOpened(
            case_id=CASE_ID,
            customer_id=CUSTOMER_ID,
            relationship_manager="rm-7",
            priority="high",
            alert_id=alert_id,
            opened_at=AT,
            sla_due_at=AT,
        ),
        CaseUpdated(
            case_id=CASE_ID,
            customer_id=CUSTOMER_ID,
            change="closed",
            status="closed",
            priority="high",
            actor="analyst@bank.example",
            outcome="confirmed_risk",
        ),
        CustomerEnteredWatchlist(
            entry_id=WATCH_ID,
            customer_id=CUSTOMER_ID,
            relationship_manager="rm-7",
            reason="Payroll inflows stopped for two months; arrears of 12 days",
            owner="analyst-3",
            review_due=date(2026, 11, 15),
            required_actions=["Call the customer", "Review the overdraft limit"],
            exit_criteria="Three months of regular payroll and no arrears",
            origin="warning",
            origin_ref="income_drop",
            entered_by="analyst@bank.example",
            entered_at=AT,
        ),
        WatchlistReviewed(
            entry_id=WATCH_ID,
            customer_id=CUSTOMER_ID,
            relationship_manager="rm-7",
            owner="analyst-3",
            note="Payment plan agreed; first instalment paid",
            next_review_due=date(2026, 12, 15),
            reviewed_by="analyst@bank.example",
            reviewed_at=AT,
        ),
        CustomerExitedWatchlist(
            entry_id=WATCH_ID,
            customer_id=CUSTOMER_ID,
            relationship_manager="rm-7",
            owner="analyst-3",
            reason="Exit criteria met: payroll regular since September",
            exited_by="analyst@bank.example",
            exited_at=AT,
        ),
        # Last, so the golden files' envelope ids of the types before it stay as they were.
        TransactionScoredV2(
            customer_id=CUSTOMER_ID,
            transaction=TRANSACTION,
            anomaly_score=0.91,
            anomaly_level="critical",
            recommended_action="block",
            reasons=[REASON],
            model_version="anomaly-v1",
            transaction_features=TransactionSignals(
                is_cross_border=True,
                is_new_country=True,
                is_new_device=False,
                is_new_counterparty=True,
                history_count=48,
                history_days=66.5,
                amount_to_avg_30d=15.6,
                velocity_1h=1,
                velocity_24h=3,
                amount_sum_1h=12500.5,
                amount_sum_24h=13100.5,
            ),
            customer_features=CustomerFeatures(
                txn_count_24h=3,
                txn_count_30d=16,
                avg_amount_30d=800.0,
                debt_to_income=0.62,
                delinquencies_30=2,
                bureau_score=601,
                annual_income=37189.0,
            ),
            risk_levels=CustomerRiskLevels(
                credit="low", anomaly="critical", overall="critical", credit_score=0.02, sequence=7
            ),
        ),
        WatchlistReviewDue(
            entry_id=WATCH_ID,
            customer_id=CUSTOMER_ID,
            relationship_manager="rm-7",
            owner="analyst-3",
            review_due=date(2026, 12, 15),
            reason="RED Early arrears (1-30 days past due) since 2026-11-02",
        ),
        RuleChangeProposed(
            proposal_id=PROPOSAL_ID,
            rule_id=RULE_ID,
            rule_name="Big payment",
            version=3,
            kind="change",
            proposed_by="rita",
        ),
        RuleChangeApproved(
            proposal_id=PROPOSAL_ID,
            rule_id=RULE_ID,
            rule_name="Big payment",
            version=3,
            kind="change",
            proposed_by="rita",
            approved_by="rob",
            approval="four_eyes",
            comment="checked against last month's alerts",
        ),
        RuleChangeRejected(
            proposal_id=PROPOSAL_ID,
            rule_id=RULE_ID,
            rule_name="Big payment",
            version=3,
            kind="change",
            proposed_by="rita",
            rejected_by="ada",
            comment="too broad",
        ),
        OperationalAlertRaised(
            operational_alert_id=UUID("7a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"),
            kind="rule_spike",
            subject_type="rule",
            subject_id=str(RULE_ID),
            subject_name="Big payment",
            severity="high",
            title="Rule 'Big payment' fires 7.5x its baseline",
            report="Rule 'Big payment' raised 15 alerts in the last 24 hours, 7.5x its baseline",
            figures={"alerts_last_24h": 15.0, "baseline_per_day": 2.0, "baseline_ratio": 7.5},
            owners=["rita"],
            owner_team="Risk department",
            raised_at=AT,
        ),
    ]


def test_every_registered_type_has_an_example() -> None:
    covered = {event.type for event in examples()}
    registered = {t for t in EVENT_TYPES if not t.startswith(("rwtest.", "rwbench."))}
    assert registered == covered


@pytest.mark.parametrize("event", examples(), ids=lambda e: e.type)
def test_event_round_trips_through_its_subject(event: Event) -> None:
    parsed = parse_event(event.type, event.to_json_bytes())
    assert type(parsed) is type(event)
    assert parsed == event


@pytest.mark.parametrize("event", examples(), ids=lambda e: e.type)
def test_event_type_is_versioned_and_in_its_producers_stream(event: Event) -> None:
    domain, _name, version = event.type.split(".")
    assert version.startswith("v")
    assert version[1:].isdigit()
    assert event.stream == domain.upper()
    assert event.source == domain


def test_money_travels_as_an_exact_decimal_string() -> None:
    payload = json.loads(
        TransactionReceived(customer_id=CUSTOMER_ID, transaction=TRANSACTION).to_json_bytes()
    )
    assert payload["transaction"]["amount"] == "12500.50"
    assert payload["transaction"]["occurred_at"].endswith("Z")


def test_unknown_fields_are_tolerated_for_additive_changes() -> None:
    event = examples()[0]
    payload = json.loads(event.to_json_bytes())
    payload["added_in_a_later_release"] = {"anything": 1}
    assert parse_event(event.type, json.dumps(payload).encode()) == event


def test_unknown_subject_and_bad_payload_are_refused() -> None:
    with pytest.raises(ValueError, match="no event type"):
        parse_event("customer.nonexistent.v1", b"{}")
    with pytest.raises(ValueError, match="invalid"):
        parse_event("customer.created.v1", b'{"customer_id": "not-a-uuid"}')


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_stored_v1_payloads_still_validate(path: Path) -> None:
    """Payloads written by earlier releases must parse forever (or the type needs a v2)."""
    event = parse_event(path.stem, path.read_bytes())
    assert event.type == path.stem


def test_a_stored_sample_exists_for_every_type() -> None:
    stored = {p.stem for p in SAMPLES.glob("*.json")}
    assert {e.type for e in examples()} <= stored


def _dump_samples() -> None:  # pragma: no cover - run by hand when a new type is added
    for event in examples():
        target = SAMPLES / f"{event.type}.json"
        if not target.exists():
            target.write_text(json.dumps(json.loads(event.to_json_bytes()), indent=2) + "\n")
