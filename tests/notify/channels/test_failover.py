import httpx
import pytest

from riskwatch_notify.channels.email import EmailAdapter, SmtpSecurity, SmtpSettings
from riskwatch_notify.channels.failover import FailoverAdapter
from riskwatch_notify.domain.circuit_breaker import CircuitState
from riskwatch_notify.domain.models import DeliveryStatus

from .conftest import FakeProviders, ScriptedReply, free_port
from .test_sms import gateway, sms_to, twilio

UNAVAILABLE: ScriptedReply = (503, {}, {"error": "down"})


def circuit(adapter: FailoverAdapter) -> CircuitState:
    return adapter.circuit_state


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_fails_over_to_the_secondary_after_consecutive_transient_failures(
    providers: FakeProviders, http_client: httpx.AsyncClient
) -> None:
    clock = FakeClock()
    adapter = FailoverAdapter(
        twilio(http_client, providers.base_url),
        gateway(http_client, providers.base_url),
        failure_threshold=2,
        cooldown_seconds=30,
        clock=clock,
    )
    providers.script("twilio", UNAVAILABLE, UNAVAILABLE, UNAVAILABLE)

    first = await adapter.send(sms_to("+14155550100"))
    assert first.status is DeliveryStatus.TRANSIENT_FAILURE
    assert first.provider == "twilio"
    assert circuit(adapter) is CircuitState.CLOSED

    # The failure that trips the breaker is rescued by the secondary at once.
    second = await adapter.send(sms_to("+14155550100"))
    assert (second.status, second.provider) == (DeliveryStatus.SENT, "sms-gateway")
    assert circuit(adapter) is CircuitState.OPEN

    # While open, the primary is not even tried.
    third = await adapter.send(sms_to("+14155550100"))
    assert third.provider == "sms-gateway"
    assert len(providers.requests_to("twilio")) == 2
    assert len(providers.requests_to("sms")) == 2

    # After the cool-down one probe goes to the primary: it fails, the breaker re-opens.
    clock.now += 30
    assert circuit(adapter) is CircuitState.HALF_OPEN
    probe = await adapter.send(sms_to("+14155550100"))
    assert probe.provider == "sms-gateway"
    assert len(providers.requests_to("twilio")) == 3
    assert circuit(adapter) is CircuitState.OPEN

    # Next probe succeeds (no more scripted outages): back to the primary.
    clock.now += 30
    recovered = await adapter.send(sms_to("+14155550100"))
    assert (recovered.status, recovered.provider) == (DeliveryStatus.SENT, "twilio")
    assert circuit(adapter) is CircuitState.CLOSED


async def test_permanent_failures_do_not_trip_the_breaker(
    providers: FakeProviders, http_client: httpx.AsyncClient
) -> None:
    adapter = FailoverAdapter(
        twilio(http_client, providers.base_url),
        gateway(http_client, providers.base_url),
        failure_threshold=1,
    )
    providers.script("twilio", (400, {}, {"message": "Invalid To"}))
    result = await adapter.send(sms_to("+14155550100"))
    assert (result.status, result.provider) == (DeliveryStatus.PERMANENT_FAILURE, "twilio")
    assert circuit(adapter) is CircuitState.CLOSED
    assert providers.requests_to("sms") == []


def test_primary_and_secondary_must_share_a_channel(http_client: httpx.AsyncClient) -> None:
    email = EmailAdapter(
        SmtpSettings("127.0.0.1", free_port(), "a@bank.example", SmtpSecurity.NONE)
    )
    with pytest.raises(ValueError, match="same channel"):
        FailoverAdapter(twilio(http_client, "http://127.0.0.1"), email)
