"""Sliding-window aggregates against a brute-force reference."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from riskwatch_alerting.rules import AggregateSpec
from riskwatch_alerting.rules.windows import (
    GroupKey,
    SlidingWindow,
    WindowStore,
    bucket_seconds_for,
)

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_WINDOWS = [60, 600, 3_600, 7_200, 86_400, 3 * 86_400, 90 * 86_400]
_events = st.lists(
    st.tuples(
        st.integers(0, 4 * 86_400),
        st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False),
        st.sampled_from(["DE", "FR", "IR", "US"]),
    ),
    max_size=60,
)


def _reference(func: str, values: list[tuple[Decimal, str]]) -> object:
    amounts = [amount for amount, _ in values]
    if func == "count":
        return len(values)
    if func == "sum":
        return sum(amounts, Decimal(0))
    if func == "distinct":
        return len({country for _, country in values})
    if not amounts:
        return None
    if func == "avg":
        return sum(amounts, Decimal(0)) / len(amounts)
    return max(amounts) if func == "max" else min(amounts)


@settings(max_examples=200, deadline=None)
@given(
    events=_events,
    func=st.sampled_from(["count", "sum", "avg", "max", "min", "distinct"]),
    window_seconds=st.sampled_from(_WINDOWS),
    query_delay=st.integers(0, 2 * 86_400),
    shuffle=st.randoms(use_true_random=False),
)
def test_window_matches_a_bucketed_brute_force(
    events: list[tuple[int, Decimal, str]],
    func: str,
    window_seconds: int,
    query_delay: int,
    shuffle: object,
) -> None:
    window = SlidingWindow(func, window_seconds)
    arrival = list(events)
    shuffle.shuffle(arrival)  # type: ignore[attr-defined]
    for offset, amount, country in arrival:
        window.add(_EPOCH + timedelta(seconds=offset), country if func == "distinct" else amount)
    now_offset = max((offset for offset, _, _ in events), default=0) + query_delay
    bucket = bucket_seconds_for(window_seconds)
    first_bucket = now_offset // bucket - -(-window_seconds // bucket)
    included = [
        (amount, country)
        for offset, amount, country in events
        if first_bucket <= offset // bucket <= now_offset // bucket
    ]
    now = _EPOCH + timedelta(seconds=now_offset)
    assert window.value(now) == _reference(func, included)
    exact = [(a, c) for o, a, c in events if now_offset - window_seconds < o <= now_offset]
    widened = [
        (a, c) for o, a, c in events if now_offset - window_seconds - bucket < o <= now_offset
    ]
    if func in {"count", "distinct"}:
        measured = window.value(now)
        assert _reference(func, exact) <= measured <= _reference(func, widened)  # type: ignore[operator]
    restored = SlidingWindow.from_state(
        func, window_seconds, json.loads(json.dumps(window.to_state()))
    )
    assert restored.value(now) == window.value(now)


def test_decimal_sums_stay_exact() -> None:
    window = SlidingWindow("sum", 3_600)
    for second in range(10):
        window.add(_EPOCH + timedelta(seconds=second), Decimal("0.1"))
    assert window.value(_EPOCH + timedelta(seconds=10)) == Decimal("1.0")
    restored = SlidingWindow.from_state("sum", 3_600, json.loads(json.dumps(window.to_state())))
    assert restored.value(_EPOCH + timedelta(seconds=10)) == Decimal("1.0")


def test_old_buckets_are_evicted() -> None:
    window = SlidingWindow("count", 600)
    for minute in range(0, 24 * 60):
        window.add(_EPOCH + timedelta(minutes=minute))
    assert len(window.to_state()["buckets"]) <= 600 // 10 + 1
    assert window.value(_EPOCH + timedelta(minutes=24 * 60 - 1)) == 11


def test_store_observes_groups_filters_with_where_and_round_trips() -> None:
    structuring = AggregateSpec("count", None, 86_400, "customer", "(txn.amount >= 9000)")
    per_account = AggregateSpec("sum", "amount", 3_600, "account")
    store = WindowStore([structuring, per_account])
    for minute, amount in enumerate(["9500", "100", "9900.50", "9000"]):
        txn = {"customer_id": "c1", "account_id": "a1", "amount": Decimal(amount)}
        store.observe(txn, _EPOCH + timedelta(minutes=minute))
    now = _EPOCH + timedelta(minutes=5)
    values = store.values_for({"customer_id": "c1", "account_id": "a1"}, now)
    assert values == {structuring: 3, per_account: Decimal("28500.50")}
    restored = WindowStore.from_state(
        [structuring, per_account], json.loads(json.dumps(store.to_state()))
    )
    assert restored.value(GroupKey("account", "a1"), per_account, now) == Decimal("28500.50")
    assert restored.value(GroupKey("account", "other"), per_account, now) == 0
