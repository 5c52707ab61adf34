"""Risk-control measures in scoring's state and what they do to a payment (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import msgspec

from riskwatch_scoring.domain.customer import ScoredCustomer
from riskwatch_scoring.domain.measures import measure_action, measure_features, stricter
from riskwatch_scoring.pipeline import apply_measure
from riskwatch_shared.events.common import RiskMeasureData
from riskwatch_shared.events.customer import RiskMeasureRecorded

ACCOUNT = str(uuid.UUID(int=11))
OTHER = str(uuid.UUID(int=12))
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def recorded(customer: ScoredCustomer, kind: str, **fields: object) -> RiskMeasureRecorded:
    data = msgspec.convert(
        {"measure_id": uuid.uuid4(), "kind": kind, "taken_at": AT, **fields}, RiskMeasureData
    )
    return RiskMeasureRecorded(customer_id=customer.uuid, measure=data)


def test_the_strictest_action_wins() -> None:
    assert stricter("approve", "review") == "review"
    assert stricter("block", "review") == "block"
    assert stricter("approve", "approve") == "approve"


def test_a_frozen_account_blocks_its_payments_only() -> None:
    measures = {"m1": {"kind": "freeze_account", "account_id": ACCOUNT}}
    action, reasons = measure_action(measures, account_id=ACCOUNT, direction="inbound")
    assert action == "block"
    assert [(r["code"], r["value"]) for r in reasons] == [("account_frozen", "m1")]
    assert measure_action(measures, account_id=OTHER, direction="outbound") == ("approve", [])
    assert measure_action(measures, account_id=None, direction="outbound") == ("approve", [])


def test_payment_review_covers_outgoing_payments() -> None:
    measures = {"m2": {"kind": "require_payment_review"}}
    action, reasons = measure_action(measures, account_id=OTHER, direction="outbound")
    assert (action, reasons[0]["code"]) == ("review", "payment_review_required")
    assert measure_action(measures, account_id=OTHER, direction="inbound") == ("approve", [])
    both = {**measures, "m1": {"kind": "freeze_account", "account_id": ACCOUNT}}
    action, reasons = measure_action(both, account_id=ACCOUNT, direction="outbound")
    assert action == "block"
    assert {r["code"] for r in reasons} == {"account_frozen", "payment_review_required"}


def test_a_reduced_limit_reviews_outgoing_payments_above_it_in_its_currency() -> None:
    measures = {
        "old": {"kind": "reduce_limit", "limit_amount": "500", "limit_currency": "EUR",
                "taken_at": "2026-11-01T00:00:00+00:00"},
        "new": {"kind": "reduce_limit", "limit_amount": "2000.00", "limit_currency": "EUR",
                "taken_at": "2026-12-01T00:00:00+00:00"},
    }  # fmt: skip

    def action(amount: str, currency: str = "EUR", direction: str = "outbound") -> str:
        return measure_action(
            measures, account_id=OTHER, direction=direction, amount=Decimal(amount),
            currency=currency,
        )[0]  # fmt: skip

    assert action("2000.01") == "review"  # above the latest limit
    _, reasons = measure_action(
        measures, account_id=OTHER, direction="outbound", amount=Decimal("2500"), currency="EUR"
    )
    assert [(r["code"], r["value"]) for r in reasons] == [("reduced_limit_exceeded", "new")]
    assert action("2000.00") == "approve"  # at the limit; the older, lower limit is replaced
    assert action("9000", currency="USD") == "approve"  # another currency: not comparable
    assert action("9000", direction="inbound") == "approve"


def test_measures_are_kept_lifted_once_and_survive_the_state_round_trip() -> None:
    customer = ScoredCustomer(str(uuid.uuid4()))
    freeze = recorded(customer, "freeze_account", account_id=ACCOUNT)
    limit = recorded(customer, "reduce_limit", limit_amount="2500.00", limit_currency="EUR")
    assert apply_measure(customer, freeze)
    assert not apply_measure(customer, freeze)  # re-delivered
    assert apply_measure(customer, limit)
    restored = ScoredCustomer.from_state(customer.to_state())
    features = measure_features(restored.measures)
    assert features["frozen_account_ids"] == [ACCOUNT]
    assert (features["reduced_limit"], features["reduced_limit_currency"]) == ("2500.00", "EUR")
    assert features["active_measures"] == 2

    lifted = msgspec.structs.replace(freeze.measure, status="lifted", lifted_at=AT)
    lift = RiskMeasureRecorded(customer_id=customer.uuid, measure=lifted)
    assert apply_measure(restored, lift)
    assert not apply_measure(restored, lift)
    assert measure_features(restored.measures)["frozen_accounts"] == 0


def test_a_state_stored_before_measures_loads_without_any() -> None:
    state = ScoredCustomer(str(uuid.uuid4())).to_state()
    assert "measures" not in state  # nothing in force: the blob is as it was
    assert ScoredCustomer.from_state(state).measures == {}
