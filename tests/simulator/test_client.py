"""The gateway client: retries with the same Idempotency-Key, Retry-After, timeouts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskwatch_simulator.client import (
    GatewayError,
    RetryPolicy,
    RiskWatchClient,
    batch_idempotency_key,
    parse_retry_after,
)

from .fake_gateway import PASSWORD, FakeState, fake_gateway


class FlakyTransport(httpx.AsyncBaseTransport):
    """Loses the answers of the first `timeouts` requests (the app did the work), then works."""

    def __init__(self, inner: httpx.AsyncBaseTransport, timeouts: int) -> None:
        self.inner, self.timeouts = inner, timeouts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.timeouts > 0:
            self.timeouts -= 1
            raise httpx.ReadTimeout("simulated timeout", request=request)
        return response


def client_for(state: FakeState, sleeps: list[float], *, timeouts: int = 0) -> RiskWatchClient:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    transport = FlakyTransport(httpx.ASGITransport(app=fake_gateway(state)), timeouts)
    return RiskWatchClient("http://gateway", transport=transport, sleep=sleep)


ITEMS = [{"external_id": f"T{i}", "customer_id": "c", "amount": "10.00", "direction": "inbound"}
         for i in range(3)]  # fmt: skip


async def test_signs_in_and_creates_an_ingest_key_used_for_batches() -> None:
    state, sleeps = FakeState(), list[float]()
    async with client_for(state, sleeps) as client:
        await client.sign_in("admin@riskwatch.local", PASSWORD)
        assert await client.create_ingest_key("core") == state.ingest_key
        result = await client.post_batch(ITEMS)
    assert result.accepted == 3
    assert set(result.transaction_ids) == {"T0", "T1", "T2"}
    auth = {path: header for _, path, header in state.calls}
    assert auth["/v1/api-keys"] == "Bearer user-token"
    assert auth["/v1/transactions/batch"] == f"Bearer {state.ingest_key}"


async def test_retries_5xx_and_429_with_the_same_key_and_honours_retry_after() -> None:
    state, sleeps = FakeState(), list[float]()
    state.failures = [(503, {}), (429, {"Retry-After": "3"}), (502, {})]
    async with client_for(state, sleeps) as client:
        client.ingest_key = state.ingest_key
        result = await client.post_batch(ITEMS)
    assert result.accepted == 3
    assert len(state.batch_keys) == 4
    assert len(set(state.batch_keys)) == 1
    assert state.batch_keys[0] == batch_idempotency_key(["T0", "T1", "T2"])
    assert sleeps[1] == 3.0
    assert client.retries == 3


async def test_a_lost_answer_is_retried_and_the_replay_books_nothing_twice() -> None:
    state, sleeps = FakeState(), list[float]()
    async with client_for(state, sleeps, timeouts=2) as client:
        client.ingest_key = state.ingest_key
        first = await client.post_batch(ITEMS)
        again = await client.post_batch(ITEMS)
    assert len(sleeps) == 2
    assert len(state.batch_keys) == 4
    assert len(set(state.batch_keys)) == 1
    assert first.accepted == 3
    assert again.transaction_ids == first.transaction_ids
    assert len(state.transactions) == 3


async def test_gives_up_after_the_policy_attempts_and_never_retries_4xx() -> None:
    state, sleeps = FakeState(), list[float]()
    state.failures = [(503, {})] * 10
    async with client_for(state, sleeps) as client:
        client.retry = RetryPolicy(attempts=3, base_delay=0.01)
        with pytest.raises(GatewayError) as failed:
            await client.post_batch(ITEMS)
        assert failed.value.status == 503
        assert len(state.batch_keys) == 3
        with pytest.raises(GatewayError) as refused:
            await client.sign_in("admin@riskwatch.local", "wrong")
        assert refused.value.status == 401


def test_retry_after_as_seconds_or_http_date() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert (now + timedelta(seconds=1)).tzinfo is UTC


@given(st.integers(min_value=0, max_value=40), st.randoms(use_true_random=False))
def test_backoff_grows_but_stays_capped(attempt: int, rng: object) -> None:
    import random

    assert isinstance(rng, random.Random)
    policy = RetryPolicy(base_delay=0.1, max_delay=5.0)
    delay = policy.delay(attempt, None, rng)
    assert 0 < delay <= 5.0
    assert delay >= min(5.0, 0.1 * 2**attempt) / 2
