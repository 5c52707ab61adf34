"""Notify settings: SMS provider URLs go through the outbound guard at start-up, and the
retry and worker knobs are bounded."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from riskwatch_notify.config import Settings
from riskwatch_notify.domain.escalation import EscalationLevel, EscalationPolicy
from riskwatch_notify.domain.models import Channel, Severity


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"sms_url": "http://sms.bank.example/send"}, "only https"),
        ({"sms_url": "https://169.254.169.254/latest/"}, "metadata"),
        ({"sms_url": "https://127.0.0.1:9000/sms"}, "loopback"),
        ({"sms2_url": "https://10.1.2.3/sms"}, "private"),
        (
            {
                "sms_url": "https://sms.bank.example/",
                "RISKWATCH_OUTBOUND_ALLOWED_DOMAINS": "x.example",
            },
            "allowed domains",
        ),
    ],
)
def test_a_refused_sms_provider_url_stops_the_service_at_start_up(
    fields: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(sms_provider="generic", **fields)
    assert "NOTIFY_SMS" in str(refused.value)
    assert reason in str(refused.value)


def test_provider_urls_that_pass() -> None:
    assert Settings(sms_url="https://sms.bank.example/send").sms_url
    assert Settings(sms_url="http://127.0.0.1:9000/sms", RISKWATCH_DEV_MODE=True).sms_url
    internal = Settings(
        sms_url="https://10.1.2.3/sms", RISKWATCH_OUTBOUND_ALLOWED_NETWORKS="10.1.0.0/16"
    )
    assert internal.outbound_policy().allowed_networks


@pytest.mark.parametrize(
    "fields",
    [
        {"retry_max_attempts": 0},
        {"retry_max_attempts": 10_000},
        {"retry_base_seconds": 0},
        {"retry_cap_seconds": 2**40},
        {"retry_base_seconds": 30, "retry_cap_seconds": 10},
        {"digest_window_seconds": 2**40},
        {"delivery_lanes": 0},
        {"http_timeout_seconds": -1},
    ],
)
def test_retry_and_worker_settings_are_bounded(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Settings(**fields)


def test_the_domain_refuses_a_policy_past_its_bounds() -> None:
    def policy(after: int, **extra: Any) -> EscalationPolicy:
        level = EscalationLevel(after, frozenset({Channel.EMAIL}), frozenset({"t"}))
        return EscalationPolicy(Severity.CRITICAL, (level,), **extra)

    assert policy(7 * 86_400).total_steps == 1
    for bad in (
        {"after": 2**40},
        {"after": 60, "cycle_seconds": 2**40},
        {"after": 0, "repeat": 101},
    ):
        after = int(bad.pop("after"))
        with pytest.raises(ValueError):
            policy(after, **bad)
