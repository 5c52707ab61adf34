import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskwatch_notify.domain.models import DeliveryStatus
from riskwatch_notify.domain.retry import (
    ALLOWED_TRANSITIONS,
    BackoffPolicy,
    DeliveryState,
    InvalidDeliveryTransition,
    backoff_delay,
    next_attempt_at,
    state_after_attempt,
    transition,
)

POLICY = BackoffPolicy(base_seconds=2.0, cap_seconds=300.0, max_attempts=6)
NOW = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)


@given(attempt=st.integers(min_value=1, max_value=10_000), seed=st.integers())
def test_backoff_stays_within_full_jitter_bounds(attempt: int, seed: int) -> None:
    delay = backoff_delay(POLICY, attempt, random.Random(seed))
    assert 0.0 <= delay <= min(POLICY.cap_seconds, 2.0 * 2 ** min(attempt - 1, 62))


def test_backoff_ceiling_doubles_until_the_cap() -> None:
    class AlwaysMax(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    always_max = AlwaysMax()
    delays = [backoff_delay(POLICY, attempt, always_max) for attempt in range(1, 10)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0]


def test_jitter_spreads_retries() -> None:
    rng = random.Random(7)
    delays = {round(backoff_delay(POLICY, 5, rng), 3) for _ in range(50)}
    assert len(delays) > 40


@given(retry_after=st.floats(min_value=0.001, max_value=10**7), seed=st.integers())
def test_retry_after_is_honoured_but_bounded(retry_after: float, seed: int) -> None:
    delay = backoff_delay(POLICY, 1, random.Random(seed), retry_after)
    assert delay >= min(retry_after, POLICY.max_retry_after_seconds)
    assert delay <= max(2.0, POLICY.max_retry_after_seconds)


def test_next_attempt_is_scheduled_until_attempts_are_spent() -> None:
    rng = random.Random(1)
    due = next_attempt_at(POLICY, 1, NOW, rng, retry_after_seconds=30)
    assert due is not None
    assert NOW + timedelta(seconds=30) <= due <= NOW + timedelta(seconds=30.001)
    assert next_attempt_at(POLICY, POLICY.max_attempts, NOW, rng) is None


def test_invalid_policies_and_attempts_are_refused() -> None:
    with pytest.raises(ValueError, match="base_seconds"):
        BackoffPolicy(base_seconds=10, cap_seconds=1)
    with pytest.raises(ValueError, match="max_attempts"):
        BackoffPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="1-based"):
        backoff_delay(POLICY, 0, random.Random())


def test_happy_path_and_retry_path_are_allowed() -> None:
    state = DeliveryState.QUEUED
    for target in (DeliveryState.SENDING, DeliveryState.FAILED, DeliveryState.SENDING):
        state = transition(state, target)
    assert transition(state, DeliveryState.SENT) is DeliveryState.SENT


@pytest.mark.parametrize("final", [DeliveryState.SENT, DeliveryState.DEAD])
def test_final_states_allow_nothing(final: DeliveryState) -> None:
    assert final.is_final
    for target in DeliveryState:
        with pytest.raises(InvalidDeliveryTransition):
            transition(final, target)


@given(path=st.lists(st.sampled_from(list(DeliveryState)), max_size=12))
def test_random_walks_only_follow_allowed_edges(path: list[DeliveryState]) -> None:
    state = DeliveryState.QUEUED
    for target in path:
        if target in ALLOWED_TRANSITIONS[state]:
            state = transition(state, target)
        else:
            with pytest.raises(InvalidDeliveryTransition):
                transition(state, target)
    # Nothing reaches SENT without having been SENDING, which QUEUED cannot skip.
    assert DeliveryState.SENT not in ALLOWED_TRANSITIONS[DeliveryState.QUEUED]


def test_queued_cannot_be_marked_sent_without_sending() -> None:
    with pytest.raises(InvalidDeliveryTransition, match="queued to sent"):
        transition(DeliveryState.QUEUED, DeliveryState.SENT)


def test_attempt_outcome_decides_the_next_state() -> None:
    assert state_after_attempt(DeliveryStatus.SENT, 1, POLICY) is DeliveryState.SENT
    assert state_after_attempt(DeliveryStatus.TRANSIENT_FAILURE, 1, POLICY) is DeliveryState.FAILED
    assert state_after_attempt(DeliveryStatus.PERMANENT_FAILURE, 1, POLICY) is DeliveryState.DEAD
    last = POLICY.max_attempts
    assert state_after_attempt(DeliveryStatus.TRANSIENT_FAILURE, last, POLICY) is DeliveryState.DEAD
