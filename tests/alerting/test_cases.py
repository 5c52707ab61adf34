"""Cases over the real API, PostgreSQL and NATS: grouping, closing, the timeline with names,
notifications and cancelled escalations, suppression, the report and RM confinement."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from riskwatch_alerting.config import Settings
from riskwatch_alerting.main import create_app
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.common import CustomerSnapshot, Reason
from riskwatch_shared.events.customer import CustomerCreated
from riskwatch_shared.events.notify import DeliveryFailed, EscalationCancelled, NotificationSent
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import checker_headers, identity_headers, running_app, wait_until
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI
from .factories import transaction_scored

ANALYST = Identity(subject="u-alice", name="Alice Analyst", roles=("analyst",), staff_id="alice")
RM_MINE = Identity(subject="u-rm1", name="Rita RM", roles=("relationship_manager",), staff_id="rm1")
RM_OTHER = Identity(subject="u-rm2", roles=("relationship_manager",), staff_id="rm2")


@dataclass
class Api:
    client: httpx.AsyncClient
    runtime: ServiceRuntime
    pipeline: AlertPipeline
    rules: dict[str, str]

    async def feed(self, *events: Event) -> None:
        async with self.runtime.session_factory() as session, session.begin():
            await self.pipeline.handle_batch(list(events), session)

    async def customer(self, name: str, rm: str = "rm1") -> uuid.UUID:
        customer_id = uuid.uuid4()
        snapshot = CustomerSnapshot(
            kind="individual", name=name, status="active", relationship_manager=rm
        )
        await self.feed(CustomerCreated(customer_id=customer_id, customer=snapshot))
        return customer_id

    async def cases_of(self, customer_id: uuid.UUID) -> list[dict[str, Any]]:
        response = await self.client.get("/v1/cases", params={"customer_id": str(customer_id)})
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def get(self, path: str, **params: str) -> Any:
        response = await self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.client.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()


async def _rule(client: httpx.AsyncClient, name: str, **fields: Any) -> str:
    body = {
        "name": name,
        "rule_type": "transaction_anomaly",
        "severity": "high",
        "trigger_event_types": ["scoring.transaction_scored.v1"],
        **fields,
    }
    headers = identity_headers(Identity(subject="boss", roles=("admin",)))
    created = await client.post("/v1/rules", json=body, headers=headers)
    assert created.status_code == 201, created.text
    rule_id = str(created.json()["id"])
    activated = await client.post(f"/v1/rules/{rule_id}/activate", headers=checker_headers())
    assert activated.status_code == 200, activated.text
    return rule_id


@pytest.fixture(scope="module")
async def api(infra: Infra) -> AsyncIterator[Api]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_cases"):
        settings = Settings(
            database_url=url,
            NATS_URL=infra.nats_url,
            consumer_prefix=f"alerting-cases-{uuid.uuid4().hex[:8]}",
            log_level="WARNING",
        )
        async with running_app(create_app(settings), identity=ANALYST) as (client, runtime):
            rules = {
                "big": await _rule(client, "Big payment", condition="txn.amount > 5000"),
                "huge": await _rule(
                    client, "Huge payment", condition="txn.amount > 9000", severity="critical"
                ),
                "odd": await _rule(
                    client,
                    "Odd hour check",
                    condition="txn.amount > 20000",
                    rule_type="custom",
                    severity="low",
                ),
            }
            yield Api(client, runtime, AlertPipeline(), rules)


async def test_a_customers_alerts_group_into_one_case_and_bump_it(api: Api) -> None:
    customer = await api.customer("Jane Borrower")
    await api.feed(transaction_scored(customer, amount="6000"))
    [case] = await api.cases_of(customer)
    assert (case["status"], case["priority"], case["alert_count"]) == ("open", "high", 1)
    first_sla = datetime.fromisoformat(case["sla_due_at"])

    await api.feed(transaction_scored(customer, amount="9500"))  # `huge` joins, critical
    [bumped] = await api.cases_of(customer)
    assert bumped["id"] == case["id"]
    assert (bumped["priority"], bumped["alert_count"]) == ("critical", 2)
    assert datetime.fromisoformat(bumped["sla_due_at"]) < first_sla  # 1 h beats 4 h
    assert bumped["updated_at"] > case["updated_at"]
    detail = await api.get(f"/v1/cases/{case['id']}")
    assert sorted(a["rule_name"] for a in detail["alerts"]) == ["Big payment", "Huge payment"]
    assert {"assign", "close", "comment"} <= set(detail["allowed_actions"])
    assert {a["case_id"] for a in detail["alerts"]} == {case["id"]}

    # A rule type whose policy is `separate` (custom) gets a case of its own.
    await api.feed(transaction_scored(customer, amount="25000"))
    cases = await api.cases_of(customer)
    assert len(cases) == 2
    [own] = [c for c in cases if c["id"] != case["id"]]
    assert (own["alert_count"], own["priority"]) == (1, "low")
    assert (await api.get(f"/v1/cases/{case['id']}"))["alert_count"] == 2


async def test_closing_a_case_resolves_its_alerts_and_the_next_alert_opens_a_new_one(
    api: Api,
) -> None:
    customer = await api.customer("Carl Closer")
    await api.feed(transaction_scored(customer, amount="9500"))  # big + huge
    [case] = await api.cases_of(customer)
    alerts = (await api.get(f"/v1/cases/{case['id']}"))["alerts"]
    huge = next(a["id"] for a in alerts if a["rule_name"] == "Huge payment")
    await api.post(f"/v1/cases/{case['id']}/assign", {"assignee": "alice"})
    closed = await api.post(
        f"/v1/cases/{case['id']}/close",
        {"outcome": "confirmed_risk", "comment": "fraud", "outcomes": {huge: "false_positive"}},
    )
    assert (closed["status"], closed["outcome"], closed["assignee"]) == (
        "closed",
        "confirmed_risk",
        "alice",
    )
    outcomes = {
        a["rule_name"]: (a["status"], a["outcome"])
        for a in (await api.get(f"/v1/cases/{case['id']}"))["alerts"]
    }
    assert outcomes == {
        "Big payment": ("resolved", "confirmed_risk"),
        "Huge payment": ("resolved", "false_positive"),
    }
    again = await api.client.post(
        f"/v1/cases/{case['id']}/close", json={"outcome": "false_positive"}
    )
    assert again.status_code == 409

    await api.feed(transaction_scored(customer, amount="6000"))
    cases = await api.cases_of(customer)
    assert len(cases) == 2
    assert cases[0]["id"] != case["id"]
    assert cases[0]["status"] == "open"
    # The old case cannot be reopened beside the customer's new open case.
    refused = await api.client.post(f"/v1/cases/{case['id']}/reopen", json={})
    assert refused.status_code == 409


async def test_the_timeline_names_people_and_shows_notifications_and_cancelled_escalations(
    api: Api,
) -> None:
    customer = await api.customer("Tina Timeline")
    await api.feed(transaction_scored(customer, amount="6000"))
    [case] = await api.cases_of(customer)
    [alert] = (await api.get(f"/v1/cases/{case['id']}"))["alerts"]
    await api.post(f"/v1/alerts/{alert['id']}/acknowledge")
    await api.post(f"/v1/alerts/{alert['id']}/contact", {"channel": "call", "note": "reached"})
    await api.post(f"/v1/cases/{case['id']}/comments", {"comment": "looking into it"})
    # What notify did, as notify publishes it on the NOTIFY stream.
    sent = NotificationSent(
        notification_id=uuid.uuid4(),
        alert_id=uuid.UUID(alert["id"]),
        recipient_id=uuid.uuid4(),
        channel="email",
        provider="smtp",
        kind="alert",
    )
    cancelled = EscalationCancelled(
        alert_id=uuid.UUID(alert["id"]), steps_done=1, cancelled_notifications=2
    )
    for event in (sent, cancelled):
        await api.runtime.bus.js.publish(event.type, event.to_json_bytes())

    async def notify_seen() -> bool:
        items = await api.get(f"/v1/cases/{case['id']}/timeline")
        return {"notification_sent", "escalation_cancelled"} <= {i["change"] for i in items}

    await wait_until(notify_seen, timeout=15, message="notify's events on the case timeline")
    items = await api.get(f"/v1/cases/{case['id']}/timeline")
    changes = [i["change"] for i in items]
    assert changes.index("opened") < changes.index("acknowledged") < changes.index("commented")
    by_change = {i["change"]: i for i in items}
    for change in ("acknowledged", "customer_contacted", "commented"):
        assert by_change[change]["actor_name"] == "Alice Analyst"
        assert by_change[change]["actor_roles"] == ["analyst"]
    assert by_change["customer_contacted"]["detail"]["note"] == "reached"
    assert by_change["raised"]["actor_name"] == "System"
    email = by_change["notification_sent"]
    assert (email["detail"]["channel"], email["detail"]["delivered"]) == ("email", True)
    assert email["detail"]["recipient_id"] == str(sent.recipient_id)
    assert by_change["escalation_cancelled"]["detail"]["cancelled_notifications"] == 2
    # A redelivered event is stored once (the failure published after it marks it handled).
    failed = DeliveryFailed(
        notification_id=uuid.uuid4(),
        alert_id=uuid.UUID(alert["id"]),
        recipient_id=uuid.uuid4(),
        channel="sms",
        attempts=6,
        detail="provider answered 400",
        kind="escalation",
    )
    for event in (sent, failed):
        await api.runtime.bus.js.publish(event.type, event.to_json_bytes())

    async def failure_seen() -> bool:
        items = await api.get(f"/v1/cases/{case['id']}/timeline")
        return "escalation_failed" in {i["change"] for i in items}

    await wait_until(failure_seen, timeout=15, message="the failed escalation page")
    again = await api.get(f"/v1/cases/{case['id']}/timeline")
    assert [i["change"] for i in again].count("notification_sent") == 1
    [page] = [i for i in again if i["change"] == "escalation_failed"]
    assert (page["detail"]["channel"], page["detail"]["delivered"]) == ("sms", False)


async def test_a_suppressed_rule_does_not_raise_for_its_target_until_lifted(api: Api) -> None:
    customer = await api.customer("Sam Snoozed")
    await api.feed(transaction_scored(customer, amount="6000"))
    [case] = await api.cases_of(customer)
    [alert] = (await api.get(f"/v1/cases/{case['id']}"))["alerts"]
    await api.post(f"/v1/cases/{case['id']}/close", {"outcome": "false_positive"})
    until = datetime.now(UTC) + timedelta(days=7)
    suppression = await api.post(
        f"/v1/rules/{api.rules['big']}/suppressions",
        {
            "target_kind": "customer",
            "target_value": str(customer),
            "until": until.isoformat(),
            "reason": "payroll run, agreed with the customer",
            "case_id": case["id"],
        },
    )
    assert (suppression["created_by"], suppression["created_by_name"]) == (
        "u-alice",
        "Alice Analyst",
    )
    assert suppression["active"] is True

    await api.feed(transaction_scored(customer, amount="7000"))  # snoozed: nothing
    assert len(await api.cases_of(customer)) == 1
    other = await api.customer("Other Olga")
    await api.feed(transaction_scored(other, amount="7000"))  # someone else: raised
    assert len(await api.cases_of(other)) == 1

    detail = await api.get(f"/v1/cases/{case['id']}")
    assert [s["reason"] for s in detail["suppressions"]] == [
        "payroll run, agreed with the customer"
    ]
    timeline = await api.get(f"/v1/cases/{case['id']}/timeline")
    [noted] = [i for i in timeline if i["change"] == "suppression_added"]
    assert (noted["actor_name"], noted["detail"]["rule_id"]) == ("Alice Analyst", api.rules["big"])

    lifted = await api.post(f"/v1/rules/{api.rules['big']}/suppressions/{suppression['id']}/lift")
    assert (lifted["active"], lifted["lifted_by"]) == (False, "u-alice")
    await api.feed(transaction_scored(customer, amount="7000"))  # raises again
    cases = await api.cases_of(customer)
    assert len(cases) == 2
    assert cases[0]["alert_count"] == 1
    audit = await api.get(f"/v1/rules/{api.rules['big']}/suppressions")
    assert [(s["id"], s["lifted_by"]) for s in audit if s["id"] == suppression["id"]] == [
        (suppression["id"], "u-alice")
    ]
    assert alert["id"] not in {
        a["id"] for a in (await api.get(f"/v1/cases/{cases[0]['id']}"))["alerts"]
    }


async def test_the_case_report_in_both_languages_as_html_and_json(api: Api) -> None:
    customer = await api.customer("<b>王 Wei</b>")
    spike = Reason(
        code="amount_vs_average",
        message="Amount is 60.0x the 30-day average",
        params={"value": "60"},
        advice="Confirm the payment with the customer",
    )
    await api.feed(transaction_scored(customer, amount="6000", reasons=[spike]))
    [case] = await api.cases_of(customer)
    await api.post(f"/v1/cases/{case['id']}/comments", {"comment": "called the branch"})
    await api.post(f"/v1/cases/{case['id']}/close", {"outcome": "mitigated_limit_reduced"})

    data = await api.get(f"/v1/cases/{case['id']}/report", format="json")
    assert data["customer"]["name"] == "<b>王 Wei</b>"
    [alert] = data["alerts"]
    assert (alert["type"], alert["severity"], alert["outcome"]) == (
        "transaction_anomaly",
        "high",
        "mitigated_limit_reduced",
    )
    assert alert["evidence"]
    assert alert["reasons"]
    assert alert["raised_at"]
    assert {"commented", "closed", "resolved"} <= {a["change"] for a in data["actions"]}
    assert data["outcome"] == "mitigated_limit_reduced"

    english = await api.client.get(f"/v1/cases/{case['id']}/report", params={"lang": "en"})
    assert english.headers["content-type"].startswith("text/html")
    assert "Case report" in english.text
    assert "Evidence" in english.text
    assert "mitigated limit reduced" in english.text
    assert "Alice Analyst" in english.text
    assert "&lt;b&gt;王 Wei&lt;/b&gt;" in english.text
    assert "<b>王" not in english.text
    chinese = await api.client.get(f"/v1/cases/{case['id']}/report", params={"lang": "zh-CN"})
    assert '<html lang="zh-CN">' in chinese.text
    for words in (
        "案件报告",
        "证据",
        "原因",
        "建议",
        "时间线",
        "处置措施",
        "已降低额度",
        "交易异常",
    ):
        assert words in chinese.text, words
    # The alert's own words follow the language too (from its message code and reason codes).
    zh_data = await api.get(f"/v1/cases/{case['id']}/report", format="json", lang="zh-CN")
    [zh_alert] = zh_data["alerts"]
    assert zh_alert["reasons"] == ["金额为30日平均的60.0倍 — 放款前与客户确认该笔付款"]
    assert "触发规则" in zh_alert["summary"]
    assert "金额为30日平均的60.0倍" in chinese.text
    assert alert["reasons"] == [
        "Amount is 60.0x the 30-day average — Confirm the payment with the customer"
    ]
    bad = await api.client.get(f"/v1/cases/{case['id']}/report", params={"lang": "fr"})
    assert bad.status_code == 422


async def test_the_case_export_is_spreadsheet_safe(api: Api) -> None:
    customer = await api.customer('=HYPERLINK("http://x")')
    await api.feed(transaction_scored(customer, amount="6000"))
    response = await api.client.get("/v1/cases/export", params={"customer_id": str(customer)})
    assert response.status_code == 200
    assert response.text.startswith("\ufeff")
    [row] = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert row["customer_name"].startswith("'=HYPERLINK")


async def test_a_relationship_manager_sees_and_works_only_their_customers_cases(
    api: Api,
) -> None:
    mine, theirs = await api.customer("Mine", rm="rm1"), await api.customer("Theirs", rm="rm2")
    await api.feed(
        transaction_scored(mine, amount="6000"), transaction_scored(theirs, amount="6000")
    )
    [own] = await api.cases_of(mine)
    [other] = await api.cases_of(theirs)
    headers = identity_headers(RM_MINE)
    listed = await api.client.get("/v1/cases", headers=headers)
    ids = {c["id"] for c in listed.json()["items"]}
    assert own["id"] in ids
    assert other["id"] not in ids
    assert (await api.client.get(f"/v1/cases/{own['id']}", headers=headers)).status_code == 200
    for method, path, body in (
        ("GET", f"/v1/cases/{other['id']}", None),
        ("GET", f"/v1/cases/{other['id']}/timeline", None),
        ("GET", f"/v1/cases/{other['id']}/report", None),
        ("POST", f"/v1/cases/{other['id']}/comments", {"comment": "peek"}),
    ):
        response = await api.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 404, (method, path, response.status_code)
    commented = await api.client.post(
        f"/v1/cases/{own['id']}/comments", json={"comment": "I know them"}, headers=headers
    )
    assert commented.status_code == 200
    # Closing is for analysts (the policy table): an RM is refused.
    refused = await api.client.post(
        f"/v1/cases/{own['id']}/close", json={"outcome": "false_positive"}, headers=headers
    )
    assert refused.status_code == 403
    other_rm = await api.client.get("/v1/cases", headers=identity_headers(RM_OTHER))
    assert own["id"] not in {c["id"] for c in other_rm.json()["items"]}
    # The total counts what the caller may see, no more.
    assert other_rm.json()["total"] == len(other_rm.json()["items"])


async def test_cases_page_by_cursor_and_filter_by_status(api: Api) -> None:
    customers = [await api.customer(f"Paula Pager {n}") for n in range(3)]
    await api.feed(*(transaction_scored(c, amount="6000") for c in customers))
    [case] = await api.cases_of(customers[0])
    await api.post(f"/v1/cases/{case['id']}/investigate", {"comment": "starting"})
    everything = (await api.get("/v1/cases", limit="500"))["items"]
    paged, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await api.get("/v1/cases", **params)
        paged += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [c["id"] for c in paged] == [c["id"] for c in everything]
    assert len(everything) >= 3
    assert page["total"] == len(everything)
    assert page["total_is_estimate"] is False
    investigating = (await api.get("/v1/cases", status="investigating"))["items"]
    assert case["id"] in {c["id"] for c in investigating}
    assert {c["status"] for c in investigating} == {"investigating"}
    bad = await api.client.get("/v1/cases", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422
