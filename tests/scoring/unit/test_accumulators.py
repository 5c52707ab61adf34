from __future__ import annotations

import json
import statistics
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskwatch_scoring.domain.accumulators import LastSeenMap, RunningStats, SlidingWindow


def test_window_sums_counts_and_maxima_by_hand() -> None:
    window = SlidingWindow(bucket_seconds=10, bucket_count=3)  # holds buckets head-2..head
    window.add(0, Decimal("5"), inbound=True)
    window.add(15, Decimal("7"), inbound=False)
    window.add(29, Decimal("2"), inbound=False)

    totals = window.totals_as_of()
    assert (totals.count, totals.inbound, totals.outbound, totals.maximum) == (
        3,
        Decimal("5"),
        Decimal("9"),
        Decimal("7"),
    )


def test_window_evicts_buckets_that_fall_out() -> None:
    window = SlidingWindow(bucket_seconds=10, bucket_count=3)
    window.add(0, Decimal("5"), inbound=True)
    window.add(15, Decimal("7"), inbound=False)
    window.add(30, Decimal("1"), inbound=True)  # bucket 3: bucket 0 leaves

    assert window.count == 2
    assert window.inbound == Decimal("1")
    assert window.totals_as_of(45).count == 1  # as of bucket 4 only buckets 2..4 remain
    assert window.totals_as_of(1_000).count == 0
    assert window.count == 2  # reading as of a later moment does not change state


def test_window_takes_late_events_inside_and_drops_those_outside() -> None:
    window = SlidingWindow(bucket_seconds=10, bucket_count=3)
    window.add(35, Decimal("1"), inbound=True)
    assert window.add(12, Decimal("4"), inbound=False)  # bucket 1, head 3: still inside
    assert not window.add(5, Decimal("9"), inbound=False)  # bucket 0: too old

    totals = window.totals_as_of()
    assert (totals.count, totals.outbound, totals.maximum) == (2, Decimal("4"), Decimal("4"))
    window.add(40, Decimal("1"), inbound=True)  # head 4 evicts the late bucket 1 in order
    assert window.count == 2


def test_window_state_round_trips_through_json() -> None:
    window = SlidingWindow(bucket_seconds=60, bucket_count=5)
    for second, amount in [(0, "1.10"), (70, "2.25"), (30, "0.01"), (250, "3")]:
        window.add(second, Decimal(amount), inbound=second % 20 == 0)

    restored = SlidingWindow.from_state(json.loads(json.dumps(window.to_state())))

    assert restored.totals_as_of() == window.totals_as_of()
    assert restored.to_state() == window.to_state()


events_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2_000),
        st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False),
        st.booleans(),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(
    events=events_strategy,
    bucket_seconds=st.integers(min_value=1, max_value=60),
    bucket_count=st.integers(min_value=1, max_value=40),
    query_delay=st.integers(min_value=0, max_value=500),
)
def test_window_matches_brute_force_over_any_event_order(
    events: list[tuple[int, Decimal, bool]],
    bucket_seconds: int,
    bucket_count: int,
    query_delay: int,
) -> None:
    window = SlidingWindow(bucket_seconds, bucket_count)
    for second, amount, inbound in events:
        window.add(second, amount, inbound=inbound)
    as_of = max((second for second, _, _ in events), default=0) + query_delay

    newest_bucket = as_of // bucket_seconds
    inside = [e for e in events if newest_bucket - bucket_count < e[0] // bucket_seconds]
    totals = window.totals_as_of(as_of)

    assert totals.count == len(inside)
    assert totals.inbound == sum((a for _, a, inbound in inside if inbound), Decimal(0))
    assert totals.outbound == sum((a for _, a, inbound in inside if not inbound), Decimal(0))
    assert totals.maximum == max((a for _, a, _ in inside), default=Decimal(0))


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=2, max_size=100))
def test_running_stats_match_statistics_module(values: list[float]) -> None:
    stats = RunningStats()
    for value in values:
        stats.add(value)
    assert abs(stats.mean - statistics.fmean(values)) <= 1e-6 * (1 + abs(statistics.fmean(values)))
    expected_std = statistics.stdev(values)
    assert abs(stats.std - expected_std) <= 1e-6 * (1 + expected_std)


def test_last_seen_map_is_capped_and_never_goes_back_in_time() -> None:
    seen = LastSeenMap(capacity=2)
    seen.touch("a", 10)
    seen.touch("b", 20)
    seen.touch("a", 5)  # late event: a stays at 10 but is now most recently touched
    seen.touch("c", 30)  # over capacity: b, least recently touched, goes

    assert "b" not in seen
    assert seen.last_seen("a") == 10
    assert seen.count_since(10) == 2
    assert (
        LastSeenMap.from_state(json.loads(json.dumps(seen.to_state()))).to_state()
        == seen.to_state()
    )


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=4_000),  # seconds: in and out of order
            st.integers(min_value=1, max_value=10_000),  # cents
            st.booleans(),  # inbound
            st.booleans(),  # encode the state after this event
        ),
        min_size=1,
        max_size=60,
    )
)
def test_kept_bucket_states_always_equal_a_fresh_encoding(
    steps: list[tuple[int, int, bool, bool]],
) -> None:
    """`to_state()` keeps encoded buckets between calls; it must never serve a stale one."""
    window = SlidingWindow(60, 10)
    for seconds, cents, inbound, encode_now in steps:
        window.add(seconds, Decimal(cents) / 100, inbound=inbound)
        if encode_now:
            fresh = SlidingWindow.from_state(json.loads(json.dumps(window.to_state())))
            assert fresh.to_state() == window.to_state()
            assert window.to_state()["buckets"] == [
                [key, b.count, str(b.inbound), str(b.outbound), str(b.maximum)]
                for key, b in window._buckets.items()
            ]
    assert SlidingWindow.from_state(window.to_state()).totals_as_of() == window.totals_as_of()


@settings(max_examples=120, deadline=None)
@given(
    touches=st.lists(
        st.tuples(
            st.sampled_from("abcdefgh"),
            st.integers(min_value=0, max_value=200),  # seconds: in and out of order
            st.booleans(),  # reload from the persisted state after this touch
        ),
        max_size=80,
    ),
    capacity=st.integers(min_value=1, max_value=6),
    since=st.integers(min_value=-5, max_value=210),
)
def test_last_seen_counts_match_a_scan_of_every_key(
    touches: list[tuple[str, int, bool]], capacity: int, since: int
) -> None:
    """`count_since` / `count_before` answer from a sorted index kept beside the map; they
    must equal the plain scan over the last-seen moments (with evictions, late events and
    reloads)."""
    seen = LastSeenMap(capacity)
    reference: dict[str, int] = {}  # the original algorithm, as a dict in touch order
    for key, second, reload in touches:
        previous = reference.pop(key, None)
        reference[key] = second if previous is None else max(previous, second)
        if len(reference) > capacity:
            del reference[next(iter(reference))]
        seen.touch(key, second)
        if reload:
            seen = LastSeenMap.from_state(json.loads(json.dumps(seen.to_state())))
        assert seen.to_state()["last_seen"] == list(reference.items())
        assert seen.count_since(since) == len([v for v in reference.values() if v >= since])
        assert seen.count_before(since) == len([v for v in reference.values() if v < since])


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3_000),  # seconds: in and out of order
            st.integers(min_value=0, max_value=10_000),  # cents
            st.booleans(),  # inbound
            st.integers(min_value=0, max_value=400),  # read this long after the event
        ),
        max_size=60,
    ),
    bucket_seconds=st.integers(min_value=1, max_value=60),
    span_count=st.integers(min_value=1, max_value=20),
    extra_buckets=st.integers(min_value=1, max_value=30),
)
def test_a_span_reads_and_persists_as_a_window_of_its_own(
    steps: list[tuple[int, int, bool, int]],
    bucket_seconds: int,
    span_count: int,
    extra_buckets: int,
) -> None:
    """A span of a longer window answers exactly as a separate window fed the same events,
    also after the longer window went through its state (as a reload would)."""
    longer = SlidingWindow(bucket_seconds, span_count + extra_buckets, spans=(span_count,))
    separate = SlidingWindow(bucket_seconds, span_count)
    for number, (seconds, cents, inbound, delay) in enumerate(steps):
        amount = Decimal(cents) / 100
        longer.add(seconds, amount, inbound=inbound)
        separate.add(seconds, amount, inbound=inbound)
        if number % 7 == 6:
            state = json.loads(json.dumps(longer.to_state()))
            longer = SlidingWindow.from_state(state, spans=(span_count,))
        span = longer.span(span_count)
        for as_of in (None, seconds, seconds + delay):
            assert span.totals_tuple(as_of) == separate.totals_tuple(as_of)
        assert span.covers(seconds + delay) == separate.covers(seconds + delay)
        assert span.covers(seconds - delay) == separate.covers(seconds - delay)
        assert span.to_state() == separate.to_state()
    assert longer.span(span_count).to_state() == separate.to_state()


def test_a_span_must_be_shorter_than_its_window() -> None:
    with pytest.raises(ValueError, match="shorter"):
        SlidingWindow(60, 10, spans=(10,))
    with pytest.raises(KeyError):
        SlidingWindow(60, 10, spans=(5,)).span(4)
