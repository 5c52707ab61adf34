from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx

from riskwatch_notify.channels.webhook import WebhookAdapter
from riskwatch_notify.domain.models import Channel, DeliveryStatus, OutboundMessage
from riskwatch_notify.domain.rendering import render_webhook_payload
from riskwatch_notify.domain.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, verify

from ..unit.factories import make_alert
from .conftest import HANG, WEBHOOK_SECRET, FakeProviders


def webhook_message(base_url: str) -> OutboundMessage:
    event_id = uuid4()
    payload = render_webhook_payload(make_alert(), event_id=event_id, created_at=datetime.now(UTC))
    return OutboundMessage(event_id, Channel.WEBHOOK, f"{base_url}/hooks/alerts", payload=payload)


async def test_receiver_verifies_the_signature_and_gets_the_payload(
    providers: FakeProviders, http_client: httpx.AsyncClient
) -> None:
    message = webhook_message(providers.base_url)
    adapter = WebhookAdapter(http_client, signing_secret=WEBHOOK_SECRET)

    result = await adapter.send(message)

    assert result.status is DeliveryStatus.SENT, result.detail
    assert result.provider_message_id == str(message.message_id)
    [request] = providers.requests_to("webhook")
    assert request.json() == message.payload
    assert request.headers[EVENT_ID_HEADER.lower()] == str(message.message_id)
    assert request.headers["content-type"] == "application/json"
    header = request.headers[SIGNATURE_HEADER.lower()]
    verify(WEBHOOK_SECRET, request.body, header, datetime.now(UTC))


async def test_wrong_secret_and_stale_clock_are_refused_by_the_receiver(
    providers: FakeProviders, http_client: httpx.AsyncClient
) -> None:
    wrong_secret = WebhookAdapter(http_client, signing_secret="not-the-secret")
    stale_clock = WebhookAdapter(
        http_client,
        signing_secret=WEBHOOK_SECRET,
        clock=lambda: datetime.now(UTC) - timedelta(minutes=10),
    )
    mismatch = await wrong_secret.send(webhook_message(providers.base_url))
    replay = await stale_clock.send(webhook_message(providers.base_url))
    assert mismatch.status is DeliveryStatus.PERMANENT_FAILURE
    assert replay.status is DeliveryStatus.PERMANENT_FAILURE
    # The receiver said why (its body), but only its status code is kept.
    assert (mismatch.detail, mismatch.remote_status) == ("HTTP 401", 401)
    assert (replay.detail, replay.remote_status) == ("HTTP 401", 401)


async def test_receiver_outage_and_timeout_are_transient(
    providers: FakeProviders, http_client: httpx.AsyncClient
) -> None:
    providers.script("webhook", (502, {}, {"error": "bad gateway"}), HANG)
    adapter = WebhookAdapter(http_client, signing_secret=WEBHOOK_SECRET, timeout_seconds=0.3)
    outage = await adapter.send(webhook_message(providers.base_url))
    timeout = await adapter.send(webhook_message(providers.base_url))
    assert outage.status is DeliveryStatus.TRANSIENT_FAILURE
    assert timeout.status is DeliveryStatus.TRANSIENT_FAILURE
    assert "Timeout" in timeout.detail


async def test_message_without_payload_or_with_bad_url_is_permanent(
    http_client: httpx.AsyncClient,
) -> None:
    adapter = WebhookAdapter(http_client, signing_secret=WEBHOOK_SECRET)
    no_payload = OutboundMessage(uuid4(), Channel.WEBHOOK, "http://127.0.0.1:1/x")
    bad_url = OutboundMessage(uuid4(), Channel.WEBHOOK, "ftp://example/x", payload={"a": 1})
    assert (await adapter.send(no_payload)).status is DeliveryStatus.PERMANENT_FAILURE
    assert (await adapter.send(bad_url)).status is DeliveryStatus.PERMANENT_FAILURE
