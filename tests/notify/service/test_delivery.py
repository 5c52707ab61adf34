"""Alerts in, messages out: real SMTP, SMS, webhook and SSE endpoints on loopback."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import msgspec
import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from riskwatch_notify.domain.locales import LABELS
from riskwatch_notify.domain.signing import DEFAULT_TOLERANCE_SECONDS
from riskwatch_notify.providers import build_adapters
from riskwatch_notify.worker import DeliveryWorker
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import wait_until

from .conftest import (
    Notify,
    alert_raised,
    make_recipient,
    make_team,
    subscribe,
    wait_statuses,
)


async def published_payloads(service: Notify, subject: str) -> list[str]:
    """Every message of `subject` on the NOTIFY stream right now (ephemeral consumer): the
    relay deletes outbox rows as it publishes them, so the stream is where they are."""
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=10.0
    )
    sub = await service.runtime.bus.js.pull_subscribe(subject, stream="NOTIFY", config=config)
    payloads: list[str] = []
    try:
        while True:
            try:
                msgs = await sub.fetch(1000, timeout=0.3)
            except (nats.errors.TimeoutError, TimeoutError):
                return payloads
            payloads += [msg.data.decode() for msg in msgs]
    finally:
        await sub.unsubscribe()


async def test_email_reaches_the_smtp_server_in_each_recipients_locale(service: Notify) -> None:
    team = await make_team(service)
    english = await make_recipient(service, team_ids=[team["id"]], locale="en")
    chinese = await make_recipient(
        service, team_ids=[team["id"]], locale="zh", time_zone="Asia/Shanghai"
    )
    await subscribe(service, team_id=team["id"], channels=["email"], min_severity="medium")
    alert = alert_raised(severity="high")
    ignored = alert_raised(severity="low")  # below the subscription's minimum

    await service.publish(alert)
    await service.publish(ignored)
    await wait_statuses(service, alert.alert_id, {"sent": 2})

    link = f"https://riskwatch.test/alerts/{alert.alert_id}"
    by_address = {str(m["To"]): m for m in service.mail_about(alert.alert_id)}
    assert set(by_address) == {english["email"], chinese["email"]}
    en_mail, zh_mail = by_address[english["email"]], by_address[chinese["email"]]
    assert str(en_mail["Subject"]).startswith(f"[{LABELS['en']['severity.high']}]")
    assert alert.title in str(en_mail["Subject"])
    assert str(zh_mail["Subject"]).startswith(f"【{LABELS['zh-CN']['severity.high']}】")
    en_text = en_mail.get_body(("plain",))
    zh_html = zh_mail.get_body(("html",))
    assert en_text is not None
    assert zh_html is not None
    assert link in en_text.get_content()
    assert link in zh_html.get_content()
    assert LABELS["zh-CN"]["open_alert"] in zh_html.get_content()
    assert await service.notifications(ignored.alert_id) == []


async def test_sms_and_signed_webhook_reach_the_local_http_provider(service: Notify) -> None:
    hook = f"{service.providers.base_url}/hooks/chatops"
    person = await make_recipient(service, phone="+8613800138000", webhook_url=hook)
    await subscribe(service, recipient_id=person["id"], channels=["sms", "webhook"])
    alert = alert_raised(severity="critical")

    await service.publish(alert)
    found = await wait_statuses(service, alert.alert_id, {"sent": 2})

    [sms] = service.providers.sms_accepted
    assert sms["to"] == "+8613800138000"
    assert alert.title in sms["text"]
    assert str(alert.alert_id) in sms["text"]
    by_channel = {n["channel"]: n for n in found}
    assert sms["key"] == by_channel["sms"]["id"]
    assert by_channel["sms"]["provider_message_id"] == "gw-000001"
    [webhook] = service.providers.webhooks
    assert service.providers.webhook_rejections == []
    assert abs(webhook["signed_at"] - time.time()) < DEFAULT_TOLERANCE_SECONDS
    assert webhook["event_id"] == by_channel["webhook"]["id"]
    payload = json.loads(webhook["body"])
    assert payload["data"]["alert_id"] == str(alert.alert_id)
    assert payload["data"]["severity"] == "critical"


async def test_in_app_message_arrives_on_the_sse_stream_and_in_the_inbox(service: Notify) -> None:
    user = Identity(subject=f"user-{uuid.uuid4().hex[:6]}", roles=("analyst",))
    person = await make_recipient(service, user_subject=user.subject)
    await subscribe(service, recipient_id=person["id"], channels=["in_app"])
    alert = alert_raised(severity="medium")
    headers = service.headers_for(user)

    async with (
        httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=10) as client,
        client.stream("GET", "/v1/inbox/stream") as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        published = time.monotonic()
        await service.publish(alert)
        event = await next_sse_event(lines)
        received = datetime.now(UTC)
        elapsed = time.monotonic() - published
    message = json.loads(event["data"])
    assert event["event"] == "message"
    assert message["alert_id"] == str(alert.alert_id)
    assert alert.title in message["title"]
    written = datetime.fromisoformat(message["created_at"])
    assert (received - written).total_seconds() < 1.0  # the stream's own latency
    assert elapsed < 5.0  # publish -> consumer -> worker -> stream, on a loaded machine

    inbox = await service.client.get("/v1/inbox", headers=headers)
    assert inbox.status_code == 200
    assert inbox.json()["unread_count"] == 1
    [item] = inbox.json()["items"]
    read = await service.client.post(f"/v1/inbox/{item['id']}/read", headers=headers)
    assert read.json() == {"marked": 1, "unread_count": 0}
    again = await service.client.get("/v1/inbox", params={"unread": "true"}, headers=headers)
    assert again.json()["items"] == []
    assert again.json()["unread_count"] == 0

    # A client that reconnects with Last-Event-ID gets what it missed.
    resume = {**headers, "Last-Event-ID": str(int(event["id"]) - 1)}
    async with (
        httpx.AsyncClient(base_url=service.base_url, headers=resume, timeout=10) as client,
        client.stream("GET", "/v1/inbox/stream") as stream,
    ):
        replayed = await next_sse_event(stream.aiter_lines())
    assert replayed["id"] == event["id"]


async def next_sse_event(lines: AsyncIterator[str]) -> dict[str, str]:
    event: dict[str, str] = {}
    async for line in lines:
        if line.startswith(("event:", "data:", "id:")):
            key, _, value = line.partition(": ")
            event[key] = value
        elif line == "" and "data" in event:
            return event
    raise AssertionError("the stream ended without an event")


async def test_provider_failing_30_percent_transiently_still_gets_everything(
    service: Notify,
) -> None:
    service.providers.sms_fail_every.update({0, 3, 6})  # 503 / 429 on 3 requests in 10
    people = [await make_recipient(service, phone=f"+4915112345{n:03d}") for n in range(4)]
    for person in people:
        await subscribe(service, recipient_id=person["id"], channels=["sms"])
    alerts = [alert_raised(severity="high") for _ in range(10)]

    for alert in alerts:
        await service.publish(alert)
    for alert in alerts:
        await wait_statuses(service, alert.alert_id, {"sent": 4}, timeout=30)

    accepted = service.providers.sms_accepted
    assert len(accepted) == 40
    assert len({a["key"] for a in accepted}) == 40  # nothing twice
    failures = len(service.providers.sms_requests) - 40
    assert failures >= 10
    retried = await service.sql(
        "SELECT count(*) FROM delivery_attempts WHERE status = 'failed' "
        "AND (detail LIKE 'HTTP 503%' OR detail LIKE 'HTTP 429%')"
    )
    assert retried[0][0] >= failures


async def test_redelivered_alert_event_sends_nothing_twice(service: Notify) -> None:
    person = await make_recipient(service)
    await subscribe(service, recipient_id=person["id"], channels=["email", "in_app"])
    alert = alert_raised(severity="high")
    republished = msgspec.structs.replace(alert, id=uuid.uuid4())  # same alert, new event

    await service.publish(alert)
    await service.publish(alert, msg_id=f"again-{alert.id}")  # past JetStream's dedup
    await service.publish(republished)
    await wait_until(service.consumer_idle, timeout=15, message="all three consumed")
    found = await wait_statuses(service, alert.alert_id, {"sent": 2})

    assert sorted(n["channel"] for n in found) == ["email", "in_app"]
    assert len(service.mail_about(alert.alert_id)) == 1
    [[attempts]] = await service.sql(
        "SELECT count(*) FROM delivery_attempts a JOIN notifications n "
        "ON n.id = a.notification_id WHERE n.alert_id = :alert_id",
        alert_id=alert.alert_id,
    )
    assert attempts == 2

    async def sent_events() -> list[str]:
        payloads = await published_payloads(service, "notify.notification_sent.v1")
        about = [p for p in payloads if str(alert.alert_id) in p]
        return about if len(about) == 2 else []

    await wait_until(sent_events, message="two notification_sent events published")


async def test_permanent_failure_is_dead_at_once_listed_and_redriven(service: Notify) -> None:
    person = await make_recipient(service, phone="+4915199999999")
    await subscribe(service, recipient_id=person["id"], channels=["sms"])
    service.providers.sms_refuse_numbers.add("+4915199999999")
    alert = alert_raised(severity="high")

    await service.publish(alert)
    [dead] = await wait_statuses(service, alert.alert_id, {"dead": 1})

    assert dead["attempts"] == 1  # a 400 is not retried
    assert [a["status"] for a in dead["attempt_log"]] == ["dead"]
    assert "HTTP 400" in dead["attempt_log"][0]["detail"]
    listed = await service.client.get("/v1/deliveries", params={"status": "dead"})
    assert dead["id"] in [d["id"] for d in listed.json()["items"]]

    async def published_failure() -> list[str]:
        payloads = await published_payloads(service, "notify.delivery_failed.v1")
        return [p for p in payloads if dead["id"] in p]

    [event] = await wait_until(published_failure, message="delivery_failed published")
    assert json.loads(event)["attempts"] == 1

    service.providers.sms_refuse_numbers.clear()
    redriven = await service.client.post(f"/v1/deliveries/{dead['id']}/redrive")
    assert redriven.status_code == 200, redriven.text
    [sent] = await wait_statuses(service, alert.alert_id, {"sent": 1})
    assert [a["status"] for a in sent["attempt_log"]] == ["dead", "sent"]
    again = await service.client.post(f"/v1/deliveries/{dead['id']}/redrive")
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


async def test_secondary_smtp_takes_over_when_the_primary_keeps_failing(service: Notify) -> None:
    service.primary_mail.refuse_with = "421 4.3.2 service shutting down"
    people = [await make_recipient(service) for _ in range(4)]
    for person in people:
        await subscribe(service, recipient_id=person["id"], channels=["email"])
    alert = alert_raised(severity="high")

    await service.publish(alert)
    found = await wait_statuses(service, alert.alert_id, {"sent": 4})

    assert len(service.secondary_mail.messages) >= 4
    assert {str(m["To"]) for m in service.mail_about(alert.alert_id)} == {
        p["email"] for p in people
    }
    answers = [a["detail"] for n in found for a in n["attempt_log"] if a["status"] == "failed"]
    assert answers
    assert all("SMTP 421" in answer for answer in answers)
    providers = {n["provider"] for n in found}
    assert providers == {f"smtp:127.0.0.1:{service.settings.smtp2_port}"}


async def test_two_workers_on_one_database_send_each_message_once(service: Notify) -> None:
    settings = service.settings
    second = DeliveryWorker(
        session_factory=service.runtime.session_factory,
        adapters=build_adapters(service.runtime.http, settings),
        settings=settings,
    )
    people = [await make_recipient(service) for _ in range(6)]
    for person in people:
        await subscribe(service, recipient_id=person["id"], channels=["email"])
    alerts = [alert_raised(severity="high") for _ in range(8)]
    await second.start()
    try:
        for alert in alerts:
            await service.publish(alert)
        for alert in alerts:
            await wait_statuses(service, alert.alert_id, {"sent": 6}, timeout=30)
    finally:
        await second.stop()

    ids = [
        str(m["X-RiskWatch-Message-Id"])
        for alert in alerts
        for m in service.mail_about(alert.alert_id)
    ]
    assert len(ids) == 48
    assert len(set(ids)) == 48  # claimed with SKIP LOCKED: no message went out twice
