from uuid import uuid4

import httpx
import pytest

from riskwatch_notify.channels.sms import GenericHttpSmsAdapter, TwilioSmsAdapter
from riskwatch_notify.domain.models import Channel, DeliveryStatus, OutboundMessage
from riskwatch_notify.domain.rendering import render_alert_sms

from ..unit.factories import make_alert, make_recipient
from .conftest import (
    HANG,
    SMS_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    FakeProviders,
    free_port,
)

SENDER = "+4930123456"


def sms_to(number: str, text: str = "RiskWatch test") -> OutboundMessage:
    return OutboundMessage(uuid4(), Channel.SMS, number, text=text)


def gateway(
    client: httpx.AsyncClient, base_url: str, token: str = SMS_TOKEN, timeout: float = 2.0
) -> GenericHttpSmsAdapter:
    return GenericHttpSmsAdapter(
        client, url=f"{base_url}/sms", token=token, sender=SENDER, timeout_seconds=timeout
    )


def twilio(
    client: httpx.AsyncClient, base_url: str, auth_token: str = TWILIO_TOKEN
) -> TwilioSmsAdapter:
    return TwilioSmsAdapter(
        client, account_sid=TWILIO_SID, auth_token=auth_token, sender=SENDER, base_url=base_url
    )


async def test_generic_gateway_posts_json_with_bearer_token(
    providers: FakeProviders, http_client: httpx.AsyncClient
) -> None:
    recipient = make_recipient(locale="zh-CN", time_zone="Asia/Shanghai")
    text = render_alert_sms(make_alert(), recipient)
    message = sms_to("+8613812345678", text)

    result = await gateway(http_client, providers.base_url).send(message)

    assert result.status is DeliveryStatus.SENT, result.detail
    assert result.provider == "sms-gateway"
    [request] = providers.requests_to("sms")
    assert request.json() == {"to": "+8613812345678", "from": SENDER, "text": text}
    assert "【高】" in request.json()["text"]
    assert request.headers["idempotency-key"] == str(message.message_id)
    assert result.provider_message_id is not None
    assert result.provider_message_id.startswith("gw-")


async def test_twilio_posts_form_fields_with_basic_auth(
    providers: FakeProviders, http_client: httpx.AsyncClient
) -> None:
    result = await twilio(http_client, providers.base_url).send(sms_to("+14155550100", "Hi"))

    assert result.status is DeliveryStatus.SENT, result.detail
    [request] = providers.requests_to("twilio")
    assert request.form() == {"To": "+14155550100", "From": SENDER, "Body": "Hi"}
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert result.provider_message_id is not None
    assert result.provider_message_id.startswith("SM")


async def test_rejected_credentials_are_permanent(
    providers: FakeProviders, http_client: httpx.AsyncClient
) -> None:
    twilio_result = await twilio(http_client, providers.base_url, "wrong").send(
        sms_to("+14155550100")
    )
    gateway_result = await gateway(http_client, providers.base_url, "wrong").send(
        sms_to("+14155550100")
    )
    assert twilio_result.status is DeliveryStatus.PERMANENT_FAILURE
    assert "HTTP 401" in twilio_result.detail
    assert gateway_result.status is DeliveryStatus.PERMANENT_FAILURE


@pytest.mark.parametrize(
    ("reply", "status", "retry_after"),
    [
        (
            (503, {"Retry-After": "7"}, {"error": "maintenance"}),
            DeliveryStatus.TRANSIENT_FAILURE,
            7,
        ),
        ((429, {}, {"error": "slow down"}), DeliveryStatus.TRANSIENT_FAILURE, None),
        ((500, {}, {"error": "boom"}), DeliveryStatus.TRANSIENT_FAILURE, None),
        (
            (400, {}, {"code": 21211, "message": "Invalid To"}),
            DeliveryStatus.PERMANENT_FAILURE,
            None,
        ),
    ],
)
async def test_provider_replies_are_classified(
    providers: FakeProviders,
    http_client: httpx.AsyncClient,
    reply: tuple[int, dict[str, str], object],
    status: DeliveryStatus,
    retry_after: float | None,
) -> None:
    providers.script("twilio", reply)
    result = await twilio(http_client, providers.base_url).send(sms_to("+14155550100"))
    assert result.status is status
    assert result.retry_after_seconds == retry_after
    assert f"HTTP {reply[0]}" in result.detail


async def test_hung_provider_times_out_as_transient(
    providers: FakeProviders, http_client: httpx.AsyncClient
) -> None:
    providers.script("sms", HANG)
    result = await gateway(http_client, providers.base_url, timeout=0.3).send(
        sms_to("+14155550100")
    )
    assert result.status is DeliveryStatus.TRANSIENT_FAILURE
    assert "Timeout" in result.detail


async def test_unreachable_provider_is_transient(http_client: httpx.AsyncClient) -> None:
    result = await gateway(http_client, f"http://127.0.0.1:{free_port()}").send(
        sms_to("+14155550100")
    )
    assert result.status is DeliveryStatus.TRANSIENT_FAILURE
    assert "ConnectError" in result.detail


@pytest.mark.parametrize("number", ["004915112345678", "+0123456789", "+49 151 1234", "", "+1"])
async def test_invalid_numbers_are_permanent_and_never_sent(
    providers: FakeProviders, http_client: httpx.AsyncClient, number: str
) -> None:
    result = await twilio(http_client, providers.base_url).send(sms_to(number))
    assert result.status is DeliveryStatus.PERMANENT_FAILURE
    assert providers.received == []
