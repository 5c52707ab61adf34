"""Cases and suppressions as pure logic: grouping policy, bumping, transitions, the index."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from riskwatch_alerting.domain.cases import (
    CaseTransitionRefused,
    OpenCase,
    allowed_case_actions,
    group_key,
    next_case_status,
    place_alerts,
)
from riskwatch_alerting.domain.suppression import ActiveSuppression, SuppressionIndex

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CUSTOMER = uuid.uuid4()


def _alert(severity: str, rule_type: str = "credit_risk", hours: int = 4) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "rule_type": rule_type,
        "customer_id": CUSTOMER,
        "severity": severity,
        "sla_due_at": NOW + timedelta(hours=hours),
    }


def test_grouped_types_share_the_customers_case_and_separate_ones_do_not() -> None:
    alert_id = uuid.uuid4()
    assert group_key("credit_risk", CUSTOMER, alert_id) == f"customer:{CUSTOMER}"
    assert group_key("custom", CUSTOMER, alert_id) == f"alert:{alert_id}"
    assert group_key("credit_risk", None, alert_id) == f"alert:{alert_id}"
    overrides = {"credit_risk": "separate", "custom": "grouped"}
    assert group_key("credit_risk", CUSTOMER, alert_id, overrides) == f"alert:{alert_id}"
    assert group_key("custom", CUSTOMER, alert_id, overrides) == f"customer:{CUSTOMER}"


def test_a_batch_opens_one_case_with_the_worst_priority_and_earliest_sla() -> None:
    alerts = [_alert("medium", hours=24), _alert("critical", hours=1), _alert("low", "custom")]
    drafts = place_alerts(alerts, {})
    grouped = drafts[f"customer:{CUSTOMER}"]
    assert grouped.is_new
    assert (grouped.priority, grouped.sla_due_at) == ("critical", NOW + timedelta(hours=1))
    assert [a["severity"] for a in grouped.alerts] == ["medium", "critical"]
    assert len(drafts) == 2


def test_a_new_alert_joins_the_open_case_and_bumps_it_only_when_worse() -> None:
    existing = OpenCase(uuid.uuid4(), "high", NOW + timedelta(hours=4))
    key = f"customer:{CUSTOMER}"
    milder = place_alerts([_alert("low", hours=72)], {key: existing})[key]
    assert (milder.case_id, milder.is_new, milder.priority, milder.bumped) == (
        existing.id,
        False,
        "high",
        False,
    )
    worse = place_alerts([_alert("critical", hours=1)], {key: existing})[key]
    assert (worse.priority, worse.bumped) == ("critical", True)


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        ("open", "investigate", "investigating"),
        ("open", "close", "closed"),
        ("investigating", "close", "closed"),
        ("closed", "reopen", "investigating"),
        ("closed", "comment", "closed"),
        ("open", "assign", "open"),
    ],
)
def test_case_transitions(status: str, action: str, expected: str) -> None:
    assert next_case_status(status, action) == expected
    assert action in allowed_case_actions(status)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("closed", "close"),
        ("closed", "assign"),
        ("open", "reopen"),
        ("investigating", "investigate"),
    ],
)
def test_refused_case_transitions(status: str, action: str) -> None:
    with pytest.raises(CaseTransitionRefused):
        next_case_status(status, action)


def test_the_suppression_index_matches_its_rule_and_target_until_it_expires() -> None:
    rule, other_rule = uuid.uuid4(), uuid.uuid4()
    index = SuppressionIndex(
        [
            ActiveSuppression(rule, "customer", str(CUSTOMER), NOW + timedelta(hours=1)),
            ActiveSuppression(rule, "counterparty", "de89 3704 0044", NOW + timedelta(days=1)),
        ]
    )
    assert index.suppressed(rule, CUSTOMER, {}, NOW)
    assert not index.suppressed(rule, CUSTOMER, {}, NOW + timedelta(hours=2))  # expired
    assert not index.suppressed(other_rule, CUSTOMER, {}, NOW)
    stranger = uuid.uuid4()
    assert not index.suppressed(rule, stranger, {"counterparty_account": "FR76"}, NOW)
    txn = {"counterparty_account": "DE8937040044"}
    assert index.suppressed(rule, stranger, txn, NOW + timedelta(hours=2))
    assert not SuppressionIndex()
