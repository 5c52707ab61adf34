from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from riskwatch_notify.domain.models import Channel, Severity
from riskwatch_notify.domain.storm import (
    DigestDecision,
    DigestWindow,
    ProviderRateLimiter,
    TokenBucket,
    admit_to_digest,
    close_digest,
    dedup_key,
    digest_key,
    take_token,
)

START = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)


def test_dedup_key_is_one_per_alert_recipient_and_channel() -> None:
    alert_id = uuid4()
    assert dedup_key(alert_id, "u-1", Channel.EMAIL) == dedup_key(alert_id, "u-1", Channel.EMAIL)
    keys = {
        dedup_key(alert_id, "u-1", Channel.EMAIL),
        dedup_key(alert_id, "u-1", Channel.SMS),
        dedup_key(alert_id, "u-2", Channel.EMAIL),
        dedup_key(uuid4(), "u-1", Channel.EMAIL),
    }
    assert len(keys) == 4
    assert digest_key("u-1", Channel.EMAIL, START) == digest_key("u-1", Channel.EMAIL, START)


def admit(
    window: DigestWindow | None, seconds: int, severity: Severity = Severity.MEDIUM
) -> tuple[DigestDecision, DigestWindow | None]:
    return admit_to_digest(
        window,
        recipient_id="u-1",
        channel=Channel.EMAIL,
        alert_id=uuid4(),
        severity=severity,
        now=START + timedelta(seconds=seconds),
        window_seconds=300,
    )


def test_first_alert_goes_alone_followers_are_bundled_when_the_window_closes() -> None:
    decision, window = admit(None, 0)
    assert decision is DigestDecision.SEND_NOW
    decisions = []
    for offset in (10, 100, 299):
        decision, window = admit(window, offset)
        decisions.append(decision)
    assert decisions == [DigestDecision.HOLD] * 3
    assert window is not None
    assert close_digest(window, START + timedelta(seconds=299)) is None
    bundle = close_digest(window, START + timedelta(seconds=300))
    assert bundle == window.held_alert_ids
    assert len(bundle) == 3


def test_critical_alerts_bypass_the_digest() -> None:
    _, window = admit(None, 0)
    decision, after = admit(window, 10, Severity.CRITICAL)
    assert decision is DigestDecision.SEND_NOW
    assert after == window


def test_alert_after_the_window_closes_opens_a_new_one() -> None:
    _, window = admit(None, 0)
    decision, reopened = admit(window, 301)
    assert decision is DigestDecision.SEND_NOW
    assert reopened is not None
    assert reopened.opened_at == START + timedelta(seconds=301)
    assert reopened.held_alert_ids == ()


def test_token_bucket_allows_a_burst_then_refills() -> None:
    bucket = TokenBucket.full(capacity=3, refill_per_second=1.0, now=START)
    for _ in range(3):
        granted, _, bucket = take_token(bucket, START)
        assert granted
    granted, wait_seconds, bucket = take_token(bucket, START)
    assert not granted
    assert wait_seconds == 1.0
    granted, _, bucket = take_token(bucket, START + timedelta(seconds=1))
    assert granted


@given(
    gaps=st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=200),
    capacity=st.integers(min_value=1, max_value=20),
    rate=st.floats(min_value=0.1, max_value=50),
)
def test_token_bucket_never_grants_more_than_capacity_plus_refill(
    gaps: list[float], capacity: int, rate: float
) -> None:
    bucket = TokenBucket.full(capacity, rate, START)
    now, granted_count = START, 0
    for gap in gaps:
        now += timedelta(seconds=gap)
        granted, wait_seconds, bucket = take_token(bucket, now)
        granted_count += granted
        assert granted or wait_seconds > 0
    elapsed = (now - START).total_seconds()
    assert granted_count <= capacity + elapsed * rate + 1e-6


def test_rate_limiter_keeps_one_bucket_per_provider() -> None:
    limiter = ProviderRateLimiter(capacity=1, refill_per_second=0.5)
    assert limiter.try_acquire("twilio", START) == 0.0
    assert limiter.try_acquire("twilio", START) == 2.0
    assert limiter.try_acquire("smtp", START) == 0.0
    assert limiter.try_acquire("twilio", START + timedelta(seconds=2)) == 0.0
