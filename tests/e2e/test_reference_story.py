"""The reference story: a customer's credit deteriorates, and the risk department follows up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from riskwatch_shared.testing import wait_until
from riskwatch_simulator.api import page_items
from riskwatch_simulator.client import GatewayError, RiskWatchClient
from riskwatch_simulator.harness import RunningSystem

from .conftest import RiskDepartment
from .helpers import (
    DEADLINE,
    alerts_for,
    create_customer,
    days_ago,
    unique,
    wait_for_alert,
    wait_for_inbox,
    wait_for_mail,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]
LEVELS = ("low", "medium", "high", "critical")
ESCALATE_AFTER = 15


async def credit_level(admin: RiskWatchClient, customer_id: str) -> str | None:
    """The customer's credit level, None until scoring has assessed them (404)."""
    try:
        risk = await admin.get_json(f"/v1/customers/{customer_id}/risk")
    except GatewayError as exc:
        if exc.status == 404:
            return None
        raise
    level: str | None = risk.get("levels", {}).get("credit")
    return level


async def test_credit_deterioration_to_a_resolved_alert(
    system: RunningSystem,
    admin: RiskWatchClient,
    scenario_rules: dict[str, dict[str, Any]],
    risk_department: RiskDepartment,
) -> None:
    # High alerts page the team in-app at once, then by email after ESCALATE_AFTER seconds
    # unless someone acknowledges first.
    team = [risk_department.team_id]
    await admin.request(
        "PUT",
        "/v1/escalation-policies/high",
        json={"levels": [
            {"after_seconds": 1, "channels": ["in_app"], "team_ids": team},
            {"after_seconds": ESCALATE_AFTER, "channels": ["email"], "team_ids": team},
        ]},
    )  # fmt: skip
    name = unique("Reference Story")
    customer = await create_customer(admin, name)
    customer_id = customer["id"]
    path = f"/v1/customers/{customer_id}"

    # A good borrower: steady income, little debt, no missed payment.
    await admin.post_json(
        f"{path}/financial-profile",
        {"annual_income": "85000.00", "currency": "GBP", "assets": {"deposits": "30000.00"},
         "liabilities": {"mortgage": "60000.00"}, "as_of": days_ago(200).isoformat()},
    )  # fmt: skip
    await admin.post_json(
        f"{path}/credit-records",
        {"source": "bureau", "credit_score": 790, "outstanding_debt": "1500.00",
         "credit_limit": "15000.00", "currency": "GBP", "as_of": days_ago(180).isoformat()},
    )  # fmt: skip

    async def assessed() -> str | None:
        return await credit_level(admin, customer_id)

    before = await wait_until(assessed, timeout=DEADLINE, interval=0.25, message="assessment")
    assert LEVELS.index(before) <= LEVELS.index("medium")

    # Then it goes wrong: income halves, debts grow, payments are missed.
    await admin.post_json(
        f"{path}/financial-profile",
        {"annual_income": "31000.00", "currency": "GBP", "assets": {"deposits": "900.00"},
         "liabilities": {"mortgage": "60000.00", "loans": "42000.00", "overdraft": "6000.00"},
         "as_of": days_ago(20).isoformat()},
    )  # fmt: skip
    await admin.post_json(
        f"{path}/credit-records",
        {"source": "bureau", "credit_score": 455, "missed_payments": 3, "delinquencies_30": 2,
         "delinquencies_60": 1, "delinquencies_90": 1, "outstanding_debt": "14800.00",
         "credit_limit": "15000.00", "recent_inquiries": 5, "currency": "GBP",
         "as_of": days_ago(5).isoformat()},
    )  # fmt: skip

    async def risen() -> str | None:
        level = await credit_level(admin, customer_id)
        return level if level in ("high", "critical") else None

    await wait_until(risen, timeout=DEADLINE, interval=0.25, message="credit level rises")

    alert = await wait_for_alert(admin, customer_id, "credit_risk")
    assert alert["reasons"], "a credit-risk alert carries its reasons"
    assert alert["status"] == "new"

    mail = await wait_for_mail(system, name, risk_department.email)
    assert risk_department.email in str(mail["To"])

    async def with_the_level_alert() -> list[dict[str, Any]] | None:
        alerts = await alerts_for(admin, customer_id, "credit_risk")
        codes = {alert["message_code"] for alert in alerts}
        return alerts if "alert.credit_level_rose" in codes else None

    credit_alerts = await wait_until(
        with_the_level_alert, timeout=DEADLINE, interval=0.25, message="credit level alert"
    )
    assert_reads_as_sentences(credit_alerts, mail, name)
    message = await wait_for_inbox(admin, alert["id"])
    assert message["read_at"] is None

    alert_path = f"/v1/alerts/{alert['id']}"
    acknowledged = await admin.post_json(f"{alert_path}/acknowledge", {"comment": "on it"})
    assert acknowledged["status"] == "acknowledged"
    investigating = await admin.post_json(
        f"{alert_path}/investigate", {"comment": "pulling statements"}
    )
    assert investigating["status"] == "investigating"
    await admin.post_json(
        f"{alert_path}/comments", {"comment": "Called the customer: lost a second job."}
    )
    resolved = await admin.post_json(
        f"{alert_path}/resolve",
        {"outcome": "mitigated_customer_contacted", "comment": "payment plan agreed"},
    )
    assert resolved["status"] == "resolved"
    assert resolved["outcome"] == "mitigated_customer_contacted"

    timeline = page_items(await admin.get_json(f"{alert_path}/timeline"))
    changes = [entry["change"] for entry in timeline]
    for step in ("acknowledged", "investigating", "commented", "resolved"):
        assert step in changes, f"{step} missing from {changes}"
    assert changes.index("acknowledged") < changes.index("investigating")
    assert changes.index("investigating") < changes.index("resolved")

    # Escalation stopped at the acknowledgement: once the second level was due, nothing
    # was paged after the acknowledgement (notify hears of it a moment later: 2 s margin).
    raised_at = parse_time(alert["raised_at"])
    acknowledged_at = parse_time(acknowledged["acknowledged_at"])

    async def second_level_due() -> bool:
        return datetime.now(UTC) > raised_at + timedelta(seconds=ESCALATE_AFTER + 3)

    await wait_until(second_level_due, timeout=ESCALATE_AFTER + 10, interval=0.5)
    sent = page_items(await admin.get_json(f"{alert_path}/notifications"), "notifications")
    assert any(item["channel"] == "email" for item in sent)
    late_pages = [
        item
        for item in sent
        if item.get("escalation_step") is not None
        and parse_time(item["created_at"]) > acknowledged_at + timedelta(seconds=2)
    ]
    assert not late_pages, late_pages
    if acknowledged_at > raised_at + timedelta(seconds=4):
        # The first level (in-app, after 1 s) went out before anyone acknowledged.
        assert any(item.get("escalation_step") == 0 for item in sent), sent
    if acknowledged_at < raised_at + timedelta(seconds=ESCALATE_AFTER):
        # Steps count from 0: step 1 is the email level the acknowledgement cancelled.
        assert not [item for item in sent if item.get("escalation_step") == 1]


def assert_reads_as_sentences(alerts: list[dict[str, Any]], mail: EmailMessage, name: str) -> None:
    """The words a risk officer reads: sentences with the customer named once in the subject,
    never the rule expression; the credit alert's title, severity and evidence agree; each
    reason once with its code; when it happened (the records' as-of dates, days ago) beside
    when it was raised."""
    subject = str(mail["Subject"])
    assert subject.count(name) == 1, subject
    assert subject.endswith(f" — {name}"), subject
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    body = str(part.get_content())
    assert any(alert["summary"] in body for alert in alerts), body
    for text in [body, *(alert["summary"] for alert in alerts)]:
        assert " held (" not in text, text
        assert "customer." not in text, text
        assert "risk.credit_level >" not in text, text
    for alert in alerts:
        codes = [reason["code"] for reason in alert["coded_reasons"]]
        assert codes, alert
        assert len(codes) == len(set(codes)), codes
        assert len(alert["reasons"]) == len(set(alert["reasons"])), alert["reasons"]
        assert parse_time(alert["happened_at"]) < parse_time(alert["raised_at"]) - timedelta(days=1)
    [rose] = [alert for alert in alerts if alert["message_code"] == "alert.credit_level_rose"]
    assert rose["title"] == f"Credit risk rose to {rose['severity']}: {name}"
    assert rose["evidence"]["risk.credit_level"] == rose["severity"]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
