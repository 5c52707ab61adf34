"""The watch list's events through notify (issue 22): a team subscribes to entries, reviews,
exits and reviews due; they reach its members by email (the real aiosmtpd server) and in-app,
in each one's language; a subscription to the watch list only gets no alerts; a redelivered
event sends nothing twice. Detection health's operational alerts (issue 23) reach the rule's
author, its owner team and the teams subscribed to every alert, nobody else."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from riskwatch_shared.events.alerting import (
    CustomerEnteredWatchlist,
    CustomerExitedWatchlist,
    OperationalAlertRaised,
    WatchlistReviewDue,
)
from riskwatch_shared.events.base import Event
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import wait_until

from .conftest import Notify, alert_raised, make_recipient, make_team, plain_text, subscribe


async def _publish(service: Notify, event: Event) -> None:
    headers = {"Nats-Msg-Id": str(event.id)}
    await service.runtime.bus.js.publish(event.type, event.to_json_bytes(), headers=headers)


async def _watchlist_rows(service: Notify, entry_id: uuid.UUID) -> list[Any]:
    return await service.sql(
        "SELECT channel, status, subject, recipient_id FROM notifications "
        "WHERE kind = 'watchlist' AND body_text LIKE :entry",
        entry=f"%{entry_id}%",
    )


async def _sent(service: Notify, entry_id: uuid.UUID, count: int) -> list[Any]:
    async def reached() -> list[Any] | None:
        rows = await _watchlist_rows(service, entry_id)
        return rows if len(rows) == count and all(r[1] == "sent" for r in rows) else None

    found = await wait_until(reached, timeout=20, message=f"{count} watch-list messages sent")
    assert found is not None
    return found


async def test_watch_list_events_reach_the_subscribed_team(service: Notify) -> None:
    team = await make_team(service)
    user = Identity(subject=f"user-{uuid.uuid4().hex[:6]}", roles=("analyst",))
    english = await make_recipient(
        service, team_ids=[team["id"]], locale="en", user_subject=user.subject
    )
    chinese = await make_recipient(service, team_ids=[team["id"]], locale="zh")
    outsider = await make_recipient(service)  # in no team: hears nothing
    subscription = await subscribe(
        service,
        team_id=team["id"],
        channels=["email", "in_app"],
        watchlist_events=["entered", "exited", "review_due"],
        alerts=False,
    )
    assert subscription["watchlist_events"] == ["entered", "exited", "review_due"]
    assert subscription["alerts"] is False

    entry_id, customer_id = uuid.uuid4(), uuid.uuid4()
    entered = CustomerEnteredWatchlist(
        entry_id=entry_id,
        customer_id=customer_id,
        relationship_manager="rm-9",
        reason="RED Early arrears (1-30 days past due) since 2026-11-02: days_past_due 31 >= 30",
        owner="rm-9",
        review_due=date(2026, 12, 15),
        required_actions=["Contact the customer within 5 working days"],
        exit_criteria="No days past due on two consecutive monthly records",
        origin="warning",
        origin_ref="early_arrears",
        entered_by="system:early-warning",
        entered_at=datetime.now(UTC),
    )
    await _publish(service, entered)
    await _publish(service, entered)  # a redelivery: nothing more
    # Two people x (email + in-app); the outsider gets nothing.
    rows = await _sent(service, entry_id, 4)
    assert {str(r[3]) for r in rows} == {english["id"], chinese["id"]}
    assert outsider["id"] not in {str(r[3]) for r in rows}

    mail = {str(m["To"]): m for m in service.mail() if str(entry_id) in plain_text(m)}
    assert set(mail) == {english["email"], chinese["email"]}
    en_text = plain_text(mail[english["email"]])
    assert str(mail[english["email"]]["Subject"]) == (
        f"Customer {customer_id} entered the watch list"
    )
    assert "Owner: rm-9" in en_text
    assert "Required actions: Contact the customer within 5 working days" in en_text
    assert "Review due: 2026-12-15" in en_text
    assert "已列入观察名单" in str(mail[chinese["email"]]["Subject"])

    inbox = await service.client.get("/v1/inbox", headers=service.headers_for(user))
    titles = [item["title"] for item in inbox.json()["items"]]
    assert f"Customer {customer_id} entered the watch list" in titles

    # Review due and exit: announced too; an alert is not (the subscription says so).
    await _publish(
        service,
        WatchlistReviewDue(
            entry_id=entry_id,
            customer_id=customer_id,
            owner="rm-9",
            review_due=date(2026, 12, 15),
            reason="RED Early arrears",
        ),
    )
    await _publish(
        service,
        CustomerExitedWatchlist(
            entry_id=entry_id,
            customer_id=customer_id,
            owner="rm-9",
            reason="Arrears cleared for two months",
            exited_by="ana",
            exited_at=datetime.now(UTC),
        ),
    )
    alert = alert_raised(severity="critical")
    await service.publish(alert)
    rows = await _sent(service, entry_id, 12)
    subjects = {r[2] for r in rows}
    assert f"Watch-list review due for customer {customer_id}" in subjects
    assert f"Customer {customer_id} left the watch list" in subjects
    await wait_until(service.consumer_idle, timeout=15, message="alert consumed")
    assert await service.notifications(alert.alert_id) == []


async def test_operational_alert_reaches_the_owners_and_the_every_alert_teams(
    service: Notify,
) -> None:
    author = Identity(subject=f"u-op-{uuid.uuid4().hex[:6]}", roles=("risk_manager",))
    owner = await make_recipient(service, user_subject=author.subject, locale="en")
    fraud_team = await make_team(service, name=f"Fraud desk {uuid.uuid4().hex[:6]}")
    fraud_member = await make_recipient(service, team_ids=[fraud_team["id"]], locale="zh")
    risk_team = await make_team(service)
    risk_member = await make_recipient(service, team_ids=[risk_team["id"]])
    await subscribe(service, team_id=risk_team["id"], channels=["email", "in_app", "sms"])
    credit_team = await make_team(service)  # follows credit alerts only: not this
    credit_member = await make_recipient(service, team_ids=[credit_team["id"]])
    await subscribe(
        service, team_id=credit_team["id"], channels=["email"], alert_types=["credit_risk"]
    )
    outsider = await make_recipient(service)

    alert_id = uuid.uuid4()
    raised = OperationalAlertRaised(
        operational_alert_id=alert_id,
        kind="rule_spike",
        subject_type="rule",
        subject_id=str(uuid.uuid4()),
        subject_name="Big payment",
        severity="high",
        title="Rule 'Big payment' fires 8.0x its baseline",
        report="Rule 'Big payment' raised 24 alerts in the last 24 hours, 8.0x its baseline "
        f"of 3 a day ({alert_id}).",
        figures={"alerts_last_24h": 24.0, "baseline_per_day": 3.0, "baseline_ratio": 8.0},
        owners=[author.subject],
        owner_team=fraud_team["name"],
        raised_at=datetime.now(UTC),
    )
    await _publish(service, raised)
    await _publish(service, raised)  # a redelivery: nothing more

    async def reached() -> list[Any] | None:
        rows = await service.sql(
            "SELECT channel, status, recipient_id FROM notifications "
            "WHERE kind = 'operational' AND body_text LIKE :alert",
            alert=f"%{alert_id}%",
        )
        return rows if len(rows) >= 6 and all(r[1] == "sent" for r in rows) else None

    rows = await wait_until(reached, timeout=20, message="operational alert sent")
    mine = {(str(r[2]), r[0]) for r in rows}
    # Owner, owner team and the every-alert team, on e-mail and in-app (never SMS).
    expected = {
        (person["id"], channel)
        for person in (owner, fraud_member, risk_member)
        for channel in ("email", "in_app")
    }
    assert expected <= mine
    reached_ids = {rid for rid, _ in mine}
    assert credit_member["id"] not in reached_ids
    assert outsider["id"] not in reached_ids
    assert "sms" not in {channel for _, channel in mine}

    mail = {str(m["To"]): m for m in service.mail() if str(alert_id) in plain_text(m)}
    text = plain_text(mail[owner["email"]])
    assert str(mail[owner["email"]]["Subject"]) == (
        "Detection health: Rule 'Big payment' fires 8.0x its baseline"
    )
    assert "raised 24 alerts in the last 24 hours" in text
    assert "baseline_ratio: 8" in text
    assert "检测健康告警" in str(mail[fraud_member["email"]]["Subject"])
    inbox = await service.client.get("/v1/inbox", headers=service.headers_for(author))
    titles = [item["title"] for item in inbox.json()["items"]]
    assert "Detection health: Rule 'Big payment' fires 8.0x its baseline" in titles


async def test_watch_list_message_reaches_the_customers_rm_inbox_and_no_other_rm(
    service: Notify,
) -> None:
    tag = uuid.uuid4().hex[:6]
    rm = Identity(subject=f"u-rm-{tag}", roles=("relationship_manager",), staff_id=f"rm-wl-{tag}")
    other_rm = Identity(
        subject=f"u-rmx-{tag}", roles=("relationship_manager",), staff_id=f"rm-wlx-{tag}"
    )
    await make_recipient(service, staff_id=rm.staff_id, user_subject=rm.subject)
    stranger = await make_recipient(
        service, staff_id=other_rm.staff_id, user_subject=other_rm.subject
    )
    # The credit desk follows entries and wants the customer's RM told (as for alerts); the
    # other RM subscribed to every entry themself, but may not read about others' customers.
    desk = await make_team(service)
    await subscribe(
        service,
        team_id=desk["id"],
        channels=["in_app"],
        watchlist_events=["entered"],
        alerts=False,
        include_relationship_manager=True,
    )
    await subscribe(
        service,
        recipient_id=stranger["id"],
        channels=["in_app"],
        watchlist_events=["entered"],
        alerts=False,
    )
    entry_id, customer_id = uuid.uuid4(), uuid.uuid4()
    await _publish(
        service,
        CustomerEnteredWatchlist(
            entry_id=entry_id,
            customer_id=customer_id,
            relationship_manager=rm.staff_id,
            reason="RED Returned payments",
            owner=rm.staff_id or "",
            review_due=date(2026, 12, 15),
            required_actions=["Call the customer"],
            exit_criteria="No returned payment for 90 days",
            origin="analyst",
            entered_by="ana",
            entered_at=datetime.now(UTC),
        ),
    )
    await _sent(service, entry_id, 2)  # the RM's and the stranger's in-app messages

    title = f"Customer {customer_id} entered the watch list"
    inbox = (await service.client.get("/v1/inbox", headers=service.headers_for(rm))).json()
    [message] = [item for item in inbox["items"] if item["title"] == title]
    assert message["link"].endswith(f"/watchlist/{entry_id}")
    assert message["customer_id"] == str(customer_id)
    assert inbox["unread_count"] >= 1
    marked = await service.client.post(
        f"/v1/inbox/{message['id']}/read", headers=service.headers_for(rm)
    )
    assert marked.status_code == 200

    theirs = await service.client.get("/v1/inbox", headers=service.headers_for(other_rm))
    assert theirs.status_code == 200
    assert title not in [item["title"] for item in theirs.json()["items"]]


async def test_watch_list_events_by_sms_and_signed_webhook(service: Notify) -> None:
    phone = f"+86138{uuid.uuid4().int % 10**8:08d}"
    hook = f"{service.providers.base_url}/hooks/credit-desk"
    person = await make_recipient(service, phone=phone, webhook_url=hook, locale="en")
    await subscribe(
        service,
        recipient_id=person["id"],
        channels=["sms", "webhook"],
        watchlist_events=["entered"],
        alerts=False,
    )
    entry_id, customer_id = uuid.uuid4(), uuid.uuid4()
    reason = "RED Early arrears: days_past_due 31 >= 30 on 12,000.00 EUR"
    await _publish(
        service,
        CustomerEnteredWatchlist(
            entry_id=entry_id,
            customer_id=customer_id,
            relationship_manager="rm-9",
            reason=reason,
            owner="rm-9",
            review_due=date(2026, 12, 15),
            required_actions=["Contact the customer within 5 working days"],
            exit_criteria="No days past due on two consecutive monthly records",
            origin="warning",
            origin_ref="early_arrears",
            entered_by="system:early-warning",
            entered_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        ),
    )

    async def delivered() -> list[Any] | None:
        rows = await service.sql(
            "SELECT channel, status, id FROM notifications "
            "WHERE kind = 'watchlist' AND recipient_id = :rid",
            rid=uuid.UUID(person["id"]),
        )
        return rows if len(rows) == 2 and all(r[1] == "sent" for r in rows) else None

    rows = await wait_until(delivered, timeout=20, message="SMS and webhook sent")
    assert rows is not None
    ids = {r[0]: str(r[2]) for r in rows}

    [sms] = [m for m in service.providers.sms_accepted if m["to"] == phone]
    assert sms["key"] == ids["sms"]
    assert sms["text"].startswith("RiskWatch: a customer of yours entered the watch list")
    assert "2026-12-15" in sms["text"]
    assert sms["text"].endswith(f"/watchlist/{entry_id}")
    # Nothing about who or why: not the customer, the reason, nor the amount.
    assert str(customer_id) not in sms["text"]
    assert "12,000" not in sms["text"]
    assert "arrears" not in sms["text"].lower()

    [webhook] = [w for w in service.providers.webhooks if w["hook"] == "credit-desk"]
    assert service.providers.webhook_rejections == []
    assert webhook["event_id"] == ids["webhook"]
    body = json.loads(webhook["body"])
    assert body["type"] == "riskwatch.watchlist.entered.v1"
    assert body["id"] == ids["webhook"]
    data = body["data"]
    assert data["entry_id"] == str(entry_id)
    assert data["customer_id"] == str(customer_id)
    assert data["reason"] == reason
    assert data["review_due"] == "2026-12-15"
    assert data["required_actions"] == ["Contact the customer within 5 working days"]
    assert data["origin_ref"] == "early_arrears"
    assert data["url"].endswith(f"/watchlist/{entry_id}")


async def test_quiet_hours_hold_a_watch_list_sms_then_release_it(service: Notify) -> None:
    local = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    start = (local - timedelta(hours=1)).time().replace(microsecond=0).isoformat()
    end = (local + timedelta(seconds=4)).time().replace(microsecond=0).isoformat()
    phone = f"+86139{uuid.uuid4().int % 10**8:08d}"
    sleeper = await make_recipient(
        service, phone=phone, time_zone="Asia/Shanghai", quiet_start=start, quiet_end=end
    )
    await subscribe(
        service,
        recipient_id=sleeper["id"],
        channels=["sms"],
        watchlist_events=["review_due"],
        alerts=False,
    )
    entry_id = uuid.uuid4()
    await _publish(
        service,
        WatchlistReviewDue(
            entry_id=entry_id,
            customer_id=uuid.uuid4(),
            owner="rm-9",
            review_due=date(2026, 12, 15),
            reason="RED Early arrears",
        ),
    )

    async def status_is(wanted: str) -> list[Any] | None:
        rows = await service.sql(
            "SELECT status, held_until, sent_at FROM notifications "
            "WHERE kind = 'watchlist' AND recipient_id = :rid",
            rid=uuid.UUID(sleeper["id"]),
        )
        return rows if len(rows) == 1 and rows[0][0] == wanted else None

    [held] = await wait_until(lambda: status_is("held"), timeout=15, message="held") or []
    assert held[1] is not None
    assert [m for m in service.providers.sms_accepted if m["to"] == phone] == []
    [sent] = await wait_until(lambda: status_is("sent"), timeout=20, message="released") or []
    assert sent[2] >= held[1]
    [sms] = [m for m in service.providers.sms_accepted if m["to"] == phone]
    assert sms["text"].startswith("RiskWatch: a watch-list review is due (review by 2026-12-15).")
