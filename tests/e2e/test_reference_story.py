"""The reference story: a customer's credit deteriorates, and the risk department follows up.

One test through the gateway, in steps that share a `Story`: each step states what the
department sees at that point, so later work adds its assertions to the step it concerns (the
e-mail read as sentences in `alert_and_email`, the reasons in `credit_deteriorates`, the case
timeline in `timeline_records_the_follow_up`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
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
    wait_for_inbox,
    wait_for_mail,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]
LEVELS = ("low", "medium", "high", "critical")
ESCALATE_AFTER = 15
CONTACT_NOTE = "Called the customer: lost a second job; payment plan offered."


@dataclass
class Story:
    """What the steps share: the system, the department, the customer and their alert."""

    system: RunningSystem
    admin: RiskWatchClient
    department: RiskDepartment
    name: str
    customer_id: str
    account_id: str
    alert: dict[str, Any] = field(default_factory=dict)
    mail: EmailMessage | None = None
    acknowledged: dict[str, Any] = field(default_factory=dict)
    interaction: dict[str, Any] = field(default_factory=dict)
    measure_id: str | None = None

    @property
    def customer_path(self) -> str:
        return f"/v1/customers/{self.customer_id}"

    @property
    def alert_path(self) -> str:
        return f"/v1/alerts/{self.alert['id']}"


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


async def preauthorise(story: Story) -> dict[str, Any]:
    """The pre-authorisation answer for a small card payment from the customer's account."""
    body = {
        "customer_id": story.customer_id,
        "account_id": story.account_id,
        "direction": "outbound",
        "amount": "42.00",
        "currency": "GBP",
        "channel": "card",
    }
    answer: dict[str, Any] = await story.admin.post_json("/v1/scores/transaction", body)
    return answer


# --- the steps ----------------------------------------------------------------------------


async def a_good_borrower(
    system: RunningSystem, admin: RiskWatchClient, department: RiskDepartment
) -> Story:
    """Steady income, little debt, no missed payment: assessed at most medium."""
    name = unique("Reference Story")
    customer = await create_customer(admin, name)
    path = f"/v1/customers/{customer['id']}"
    account = await admin.post_json(
        f"{path}/accounts",
        {"number": f"GB{uuid.uuid4().int % 10**18:018d}", "type": "current", "currency": "GBP",
         "opened_at": days_ago(900).isoformat()},
    )  # fmt: skip
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
        return await credit_level(admin, customer["id"])

    before = await wait_until(assessed, timeout=DEADLINE, interval=0.25, message="assessment")
    assert LEVELS.index(before) <= LEVELS.index("medium")
    return Story(system, admin, department, name, customer["id"], account["id"])


async def credit_deteriorates(story: Story) -> None:
    """Income halves, debts grow, payments are missed: the credit level rises, an alert."""
    admin, path = story.admin, story.customer_path
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
        level = await credit_level(admin, story.customer_id)
        return level if level in ("high", "critical") else None

    await wait_until(risen, timeout=DEADLINE, interval=0.25, message="credit level rises")

    # The story follows the credit level's alert; an early warning on the same records (the
    # bureau's delinquency, the utilisation) may come first and is checked with it below.
    async def level_alert() -> dict[str, Any] | None:
        alerts = await alerts_for(admin, story.customer_id, "credit_risk")
        rose = [a for a in alerts if a["message_code"] == "alert.credit_level_rose"]
        return rose[0] if rose else None

    story.alert = await wait_until(
        level_alert, timeout=DEADLINE, interval=0.25, message="credit level alert"
    )
    assert story.alert["reasons"], "a credit-risk alert carries its reasons"
    assert story.alert["status"] == "new"


async def alert_and_email(story: Story) -> None:
    """The department is told: the e-mail lands in the catcher, the in-app message arrives."""
    story.mail = await wait_for_mail(story.system, story.name, story.department.email)
    assert story.department.email in str(story.mail["To"])

    async def with_the_level_alert() -> list[dict[str, Any]] | None:
        alerts = await alerts_for(story.admin, story.customer_id, "credit_risk")
        codes = {alert["message_code"] for alert in alerts}
        return alerts if "alert.credit_level_rose" in codes else None

    credit_alerts = await wait_until(
        with_the_level_alert, timeout=DEADLINE, interval=0.25, message="credit level alert"
    )
    assert_reads_as_sentences(credit_alerts, story.mail, story.name)
    message = await wait_for_inbox(story.admin, story.alert["id"])
    assert message["read_at"] is None


async def analyst_acknowledges(story: Story) -> None:
    story.acknowledged = await story.admin.post_json(
        f"{story.alert_path}/acknowledge", {"comment": "on it"}
    )
    assert story.acknowledged["status"] == "acknowledged"
    investigating = await story.admin.post_json(
        f"{story.alert_path}/investigate", {"comment": "pulling statements"}
    )
    assert investigating["status"] == "investigating"


async def contact_reaches_the_customer_record(story: Story) -> None:
    """The contact logged on the alert appears in the customer's interactions and the 360."""
    await story.admin.post_json(
        f"{story.alert_path}/contact", {"channel": "call", "note": CONTACT_NOTE}
    )

    async def filed() -> dict[str, Any] | None:
        items = page_items(await story.admin.get_json(f"{story.customer_path}/interactions"))
        return next((i for i in items if i.get("alert_id") == story.alert["id"]), None)

    interaction = await wait_until(filed, timeout=DEADLINE, interval=0.25, message="interaction")
    assert interaction is not None
    assert (interaction["channel"], interaction["summary"]) == ("call", CONTACT_NOTE)
    assert interaction["staff_member"] == story.department.admin_subject
    view = await story.admin.get_json(f"{story.customer_path}/360")
    assert interaction["id"] in [i["id"] for i in view["recent_interactions"]]
    story.interaction = interaction


async def freeze_blocks_the_next_payment(story: Story) -> None:
    """Freezing the account makes the next pre-authorisation for it answer `block`."""
    before = await preauthorise(story)
    assert before["recommended_action"] != "block", before
    await story.admin.post_json(
        f"{story.alert_path}/measures",
        {"kind": "freeze_account", "account_id": story.account_id,
         "reason": "credit deteriorated; no new spending until a plan is agreed"},
    )  # fmt: skip

    async def blocked() -> dict[str, Any] | None:
        answer = await preauthorise(story)
        return answer if answer["recommended_action"] == "block" else None

    answer = await wait_until(blocked, timeout=DEADLINE, interval=0.25, message="block")
    assert answer is not None
    assert answer["reasons"][0]["code"] == "account_frozen"
    customer = await story.admin.get_json(story.customer_path)
    [measure] = customer["active_measures"]
    assert (measure["kind"], measure["account_id"]) == ("freeze_account", story.account_id)
    assert measure["alert_id"] == story.alert["id"]
    story.measure_id = measure["id"]
    view = await story.admin.get_json(f"{story.customer_path}/360")
    assert [m["id"] for m in view["active_measures"]] == [story.measure_id]
    features = await story.admin.get_json(f"{story.customer_path}/features")
    assert features["features"]["frozen_account_ids"] == [story.account_id]


async def analyst_resolves(story: Story) -> None:
    resolved = await story.admin.post_json(
        f"{story.alert_path}/resolve",
        {"outcome": "mitigated_account_frozen", "comment": "payment plan agreed"},
    )
    assert resolved["status"] == "resolved"
    assert resolved["outcome"] == "mitigated_account_frozen"


async def timeline_records_the_follow_up(story: Story) -> None:
    timeline = page_items(await story.admin.get_json(f"{story.alert_path}/timeline"))
    changes = [entry["change"] for entry in timeline]
    for step in ("acknowledged", "investigating", "customer_contacted", "measure_taken"):
        assert step in changes, f"{step} missing from {changes}"
    assert changes[-1] == "resolved"
    assert changes.index("acknowledged") < changes.index("investigating")
    [contact] = [e for e in timeline if e["change"] == "customer_contacted"]
    assert contact["detail"]["contact_id"] == story.interaction["id"]
    [measure] = [e for e in timeline if e["change"] == "measure_taken"]
    assert measure["detail"]["measure_id"] == story.measure_id


async def escalation_stopped_at_the_acknowledgement(story: Story) -> None:
    """Once the second level was due, nothing was paged after the acknowledgement (notify
    hears of it a moment later: 2 s margin)."""
    raised_at = parse_time(story.alert["raised_at"])
    acknowledged_at = parse_time(story.acknowledged["acknowledged_at"])

    async def second_level_due() -> bool:
        return datetime.now(UTC) > raised_at + timedelta(seconds=ESCALATE_AFTER + 3)

    await wait_until(second_level_due, timeout=ESCALATE_AFTER + 10, interval=0.5)
    sent = page_items(
        await story.admin.get_json(f"{story.alert_path}/notifications"), "notifications"
    )
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


async def the_case_shows_mail_escalation_and_names(story: Story) -> None:
    """The customer's case (issue 20): the e-mail sent, the escalation the acknowledgement
    cancelled, and who acted, by name and role."""
    raised_at = parse_time(story.alert["raised_at"])
    acknowledged_at = parse_time(story.acknowledged["acknowledged_at"])
    [case] = page_items(await story.admin.get_json("/v1/cases", customer_id=story.customer_id))
    case_path = f"/v1/cases/{case['id']}"
    cancelled = acknowledged_at < raised_at + timedelta(seconds=ESCALATE_AFTER)
    expected = {"notification_sent"} | ({"escalation_cancelled"} if cancelled else set())

    async def case_timeline() -> list[dict[str, Any]] | None:
        items = page_items(await story.admin.get_json(f"{case_path}/timeline"))
        return items if expected <= {item["change"] for item in items} else None

    items = await wait_until(case_timeline, timeout=DEADLINE, interval=0.25, message="timeline")
    emails = [
        i for i in items if i["change"] == "notification_sent" and i["detail"]["channel"] == "email"
    ]
    assert emails, items
    acted = [i for i in items if i["change"] in ("acknowledged", "customer_contacted", "resolved")]
    assert {i["change"] for i in acted} == {"acknowledged", "customer_contacted", "resolved"}, items
    assert all(i["actor_name"] and "admin" in i["actor_roles"] for i in acted), acted


# --- the story ----------------------------------------------------------------------------


async def test_credit_deterioration_to_a_resolved_alert(
    system: RunningSystem,
    admin: RiskWatchClient,
    checker: RiskWatchClient,
    scenario_rules: dict[str, dict[str, Any]],
    risk_department: RiskDepartment,
) -> None:
    # High alerts page the team in-app at once, then by email after ESCALATE_AFTER seconds
    # unless someone acknowledges first.
    team = [risk_department.team_id]
    proposed = await admin.request(
        "PUT",
        "/v1/escalation-policies/high",
        json={"levels": [
            {"after_seconds": 1, "channels": ["in_app"], "team_ids": team},
            {"after_seconds": ESCALATE_AFTER, "channels": ["email"], "team_ids": team},
        ]},
    )  # fmt: skip
    # Maker-checker: a second admin puts the policy live.
    await checker.post_json(
        f"/v1/escalation-policy-proposals/{proposed.json()['id']}/approve",
        {"comment": "reference story"},
    )
    story = await a_good_borrower(system, admin, risk_department)
    await credit_deteriorates(story)
    await alert_and_email(story)
    await analyst_acknowledges(story)
    await contact_reaches_the_customer_record(story)
    await freeze_blocks_the_next_payment(story)
    await analyst_resolves(story)
    await timeline_records_the_follow_up(story)
    await escalation_stopped_at_the_acknowledgement(story)
    await the_case_shows_mail_escalation_and_names(story)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


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
