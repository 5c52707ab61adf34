"""Bounded, incrementally updated accumulators behind the behavioural features.

A `SlidingWindow` keeps per-bucket count, inflow, outflow and maximum for the last
`bucket_count` buckets of `bucket_seconds` each, plus running totals, so adding a
transaction costs O(1) amortised (plus O(evicted buckets)) and never rescans history.

Precision: bucket k holds the events with floor(epoch / bucket_seconds) == k. As of a
moment in bucket a, the window holds buckets a - bucket_count < k <= a: the current,
partly elapsed bucket plus `bucket_count - 1` full ones. So a "24h" window of 24 hourly
buckets covers between 23 and 24 hours, and its old edge is exact to one bucket.

A window can also serve shorter windows of the same bucket width from its own buckets
(`SlidingWindow(3_600, 168, spans=(24,))` holds a 7-day and a 24-hour window): each span
keeps only running totals, so an event updates one bucket map instead of one per window.
A span reads exactly as a `SlidingWindow(3_600, 24)` fed the same events would.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any

_ZERO = Decimal(0)
_STALE: list[Any] = []  # placeholder of a bucket state not encoded yet
_state_key = itemgetter(0)  # a bucket state's key


@dataclass(slots=True)
class _Bucket:
    count: int
    inbound: Decimal
    outbound: Decimal
    maximum: Decimal
    # The persisted form, kept until the bucket changes: a state write re-encodes only the
    # bucket an event touched, not every Decimal of the window.
    state: list[Any] | None = None

    def to_state(self, key: int) -> list[Any]:
        if self.state is None:
            self.state = [key, self.count, str(self.inbound), str(self.outbound), str(self.maximum)]
        return self.state


@dataclass(slots=True)
class WindowTotals:
    """A window's aggregates as of one moment. Treated as a value; not `frozen` because a
    frozen dataclass's `__init__` costs several times more and ten are built per event."""

    count: int
    inbound: Decimal
    outbound: Decimal
    maximum: Decimal

    @property
    def total(self) -> Decimal:
        return self.inbound + self.outbound


@dataclass(slots=True)
class _Span:
    """Running totals of the newest `bucket_count` buckets of an enclosing window."""

    bucket_count: int
    count: int = 0
    inbound: Decimal = _ZERO
    outbound: Decimal = _ZERO
    # The largest amount in the span, None once an eviction may have removed it.
    maximum: Decimal | None = _ZERO
    state: dict[str, Any] | None = None


class SlidingWindow:
    """Counts, sums and maxima over a time window made of fixed-width buckets."""

    __slots__ = (
        "_bucket_states",
        "_buckets",
        "_count",
        "_dirty_tail",
        "_head",
        "_inbound",
        "_maximum",
        "_outbound",
        "_spans",
        "_state",
        "bucket_count",
        "bucket_seconds",
    )

    def __init__(self, bucket_seconds: int, bucket_count: int, spans: Iterable[int] = ()) -> None:
        if bucket_seconds <= 0 or bucket_count <= 0:
            raise ValueError("bucket_seconds and bucket_count must be positive")
        self._spans = [_Span(span) for span in spans]
        if any(not 0 < span.bucket_count < bucket_count for span in self._spans):
            raise ValueError("a span must be shorter than its window")
        self.bucket_seconds = bucket_seconds
        self.bucket_count = bucket_count
        # Keys stay in ascending order so eviction pops from the front.
        self._buckets: dict[int, _Bucket] = {}
        self._head: int | None = None
        # The largest amount in the window, cached until an eviction invalidates it.
        self._maximum: Decimal | None = _ZERO
        self._count = 0
        self._inbound = _ZERO
        self._outbound = _ZERO
        # `to_state()`, kept until the window changes (most windows of a state written back
        # were not touched by the batch: interactions, complaints, a quiet customer's).
        self._state: dict[str, Any] | None = None
        # The buckets' persisted forms in key order, kept in step with `_buckets` by the
        # common in-order changes (append, touch the newest, evict the oldest); the newest
        # `_dirty_tail` entries are stale. None: rebuild on the next `to_state()`.
        self._bucket_states: list[list[Any]] | None = None
        self._dirty_tail = 0

    @property
    def count(self) -> int:
        """Events in the window as of the newest bucket seen."""
        return self._count

    @property
    def inbound(self) -> Decimal:
        return self._inbound

    @property
    def outbound(self) -> Decimal:
        return self._outbound

    def bucket_of(self, epoch_seconds: int) -> int:
        return epoch_seconds // self.bucket_seconds

    def advance(self, epoch_seconds: int) -> None:
        """Move the window's end forward to `epoch_seconds`, evicting buckets that fall out."""
        index = epoch_seconds // self.bucket_seconds
        head_before = self._head
        if head_before is not None and index <= head_before:
            return
        self._head = index
        self._state = None
        buckets = self._buckets
        for span in self._spans:
            span.state = None
            if buckets and head_before is not None:
                self._evict_from_span(span, head_before, index)
        oldest_kept = index - self.bucket_count + 1
        if not buckets or next(iter(buckets)) >= oldest_kept:
            return  # nothing falls out
        evicted_count = 0
        while buckets:
            first = next(iter(buckets))
            if first >= oldest_kept:
                break
            evicted = buckets.pop(first)
            evicted_count += 1
            # The maximum moves only if it may have been in an evicted bucket.
            if self._maximum is not None and evicted.maximum >= self._maximum:
                self._maximum = None
            self._count -= evicted.count
            self._inbound -= evicted.inbound
            self._outbound -= evicted.outbound
        states = self._bucket_states
        if evicted_count and states is not None:
            del states[:evicted_count]
            self._dirty_tail = min(self._dirty_tail, len(states))

    def _evict_from_span(self, span: _Span, head: int, index: int) -> None:
        """Take out of `span` the buckets that leave it as the head moves from `head` to
        `index` (they may stay in the window)."""
        buckets = self._buckets
        first = head - span.bucket_count + 1  # the span's oldest bucket before the move
        for key in range(first, min(index - span.bucket_count + 1, head + 1)):
            bucket = buckets.get(key)
            if bucket is None:
                continue
            maximum = span.maximum
            if maximum is not None and bucket.maximum >= maximum:
                span.maximum = None
            span.count -= bucket.count
            span.inbound -= bucket.inbound
            span.outbound -= bucket.outbound

    def covers(self, epoch_seconds: int) -> bool:
        """Whether an event at `epoch_seconds` would be kept (not older than the window)."""
        return self._covers(epoch_seconds, self.bucket_count)

    def _covers(self, epoch_seconds: int, bucket_count: int) -> bool:
        index = self.bucket_of(epoch_seconds)
        head = index if self._head is None else max(self._head, index)
        return index > head - bucket_count

    def add(self, epoch_seconds: int, amount: Decimal, *, inbound: bool) -> bool:
        """Add one event; False when it is older than the window and was dropped."""
        index = epoch_seconds // self.bucket_seconds
        head = self._head
        if head is None or index > head:
            self.advance(epoch_seconds)
            head = index
        elif index <= head - self.bucket_count:
            return False
        buckets = self._buckets
        bucket = buckets.get(index)
        states = self._bucket_states
        if bucket is None:
            bucket = _Bucket(0, _ZERO, _ZERO, amount)
            # Bucket keys never pass the head: a new bucket below it may be out of order.
            out_of_order = index < head and bool(buckets) and index < next(reversed(buckets))
            buckets[index] = bucket
            if out_of_order:
                self._buckets = dict(sorted(buckets.items()))
                self._bucket_states = None
            elif states is not None:
                states.append(_STALE)
                self._dirty_tail += 1
        elif states is not None:
            # The head's bucket, when it exists, is the newest one.
            if index == head or index == next(reversed(buckets)):
                if not self._dirty_tail:
                    self._dirty_tail = 1
            else:
                self._bucket_states = None
        bucket.count += 1
        bucket.state = None
        self._state = None
        if inbound:
            bucket.inbound += amount
            self._inbound += amount
        else:
            bucket.outbound += amount
            self._outbound += amount
        if amount > bucket.maximum:
            bucket.maximum = amount
        maximum = self._maximum
        if maximum is not None and amount > maximum:
            self._maximum = amount
        self._count += 1
        for span in self._spans:
            span.state = None
            if index > head - span.bucket_count:
                span.count += 1
                if inbound:
                    span.inbound += amount
                else:
                    span.outbound += amount
                maximum = span.maximum
                if maximum is not None and amount > maximum:
                    span.maximum = amount
        return True

    def _window_maximum(self) -> Decimal:
        if self._maximum is None:
            self._maximum = max((b.maximum for b in self._buckets.values()), default=_ZERO)
        return self._maximum

    def totals_as_of(self, epoch_seconds: int | None = None) -> WindowTotals:
        """Aggregates as of a moment at or after the newest event, without changing state."""
        return WindowTotals(*self.totals_tuple(epoch_seconds))

    def totals_tuple(
        self, epoch_seconds: int | None = None
    ) -> tuple[int, Decimal, Decimal, Decimal]:
        """`totals_as_of` as a plain (count, inbound, outbound, maximum) tuple: the feature
        code reads several windows per transaction and needs no object per read."""
        head = self._head
        if head is None:
            return 0, _ZERO, _ZERO, _ZERO
        index = head
        if epoch_seconds is not None and epoch_seconds // self.bucket_seconds > head:
            index = epoch_seconds // self.bucket_seconds
        oldest_kept = index - self.bucket_count + 1
        buckets = self._buckets
        if not buckets or next(iter(buckets)) >= oldest_kept:
            # Nothing falls out: the running totals are the answer.
            maximum = self._maximum
            if maximum is None:
                maximum = self._window_maximum()
            return self._count, self._inbound, self._outbound, maximum
        # Buckets ascend: only a prefix falls out, and the maximum moves only if it was there.
        count, inbound, outbound, expired_maximum = (
            self._count,
            self._inbound,
            self._outbound,
            _ZERO,
        )
        for key, bucket in buckets.items():
            if key >= oldest_kept:
                break
            count -= bucket.count
            inbound -= bucket.inbound
            outbound -= bucket.outbound
            expired_maximum = max(expired_maximum, bucket.maximum)
        maximum = self._window_maximum()
        if expired_maximum >= maximum:
            kept = (b.maximum for k, b in buckets.items() if k >= oldest_kept)
            maximum = max(kept, default=_ZERO)
        return count, inbound, outbound, maximum

    def _span_totals(
        self, span: _Span, epoch_seconds: int | None
    ) -> tuple[int, Decimal, Decimal, Decimal]:
        """`totals_tuple` of a span: its running totals less what has left it by then."""
        head = self._head
        if head is None:
            return 0, _ZERO, _ZERO, _ZERO
        index = head
        if epoch_seconds is not None and epoch_seconds // self.bucket_seconds > head:
            index = epoch_seconds // self.bucket_seconds
        bucket_count = span.bucket_count
        oldest_kept = index - bucket_count + 1
        first = head - bucket_count + 1
        maximum = span.maximum
        if maximum is None:
            maximum = span.maximum = self._maximum_since(first)
        if oldest_kept <= first:
            return span.count, span.inbound, span.outbound, maximum
        count, inbound, outbound, expired_maximum = span.count, span.inbound, span.outbound, _ZERO
        buckets = self._buckets
        for key in range(first, min(oldest_kept, head + 1)):
            bucket = buckets.get(key)
            if bucket is None:
                continue
            count -= bucket.count
            inbound -= bucket.inbound
            outbound -= bucket.outbound
            expired_maximum = max(expired_maximum, bucket.maximum)
        if expired_maximum >= maximum:
            maximum = self._maximum_since(oldest_kept)
        return count, inbound, outbound, maximum

    def _maximum_since(self, oldest: int) -> Decimal:
        """The largest amount in the buckets from `oldest` on."""
        maximum = _ZERO
        for key, bucket in reversed(self._buckets.items()):
            if key < oldest:
                break
            if bucket.maximum > maximum:
                maximum = bucket.maximum
        return maximum

    def _span_state(self, span: _Span) -> dict[str, Any]:
        """The state a separate window of the span's length would write (its buckets are
        this window's newest ones)."""
        if span.state is None:
            head = self._head
            states: list[list[Any]] = []
            if head is not None:
                states = self._current_bucket_states()
                oldest = head - span.bucket_count + 1
                states = states[bisect_left(states, oldest, key=_state_key) :]
            span.state = {
                "bucket_seconds": self.bucket_seconds,
                "bucket_count": span.bucket_count,
                "head": head,
                "buckets": states,
            }
        return span.state

    def span(self, bucket_count: int) -> WindowSpan:
        """The window of the newest `bucket_count` buckets (one of `spans`)."""
        for span in self._spans:
            if span.bucket_count == bucket_count:
                return WindowSpan(self, span)
        raise KeyError(f"no span of {bucket_count} buckets")

    def _current_bucket_states(self) -> list[list[Any]]:
        states = self._bucket_states
        if states is None:
            states = [bucket.to_state(key) for key, bucket in self._buckets.items()]
        elif self._dirty_tail == 1:  # the common case: one event since the last write-back
            key, bucket = next(reversed(self._buckets.items()))
            states[-1] = bucket.to_state(key)
        elif self._dirty_tail:
            newest = itertools.islice(reversed(self._buckets.items()), self._dirty_tail)
            for position, (key, bucket) in enumerate(newest, start=1):
                states[-position] = bucket.to_state(key)
        self._bucket_states, self._dirty_tail = states, 0
        return states

    def to_state(self) -> dict[str, Any]:
        if self._state is None:
            self._state = {
                "bucket_seconds": self.bucket_seconds,
                "bucket_count": self.bucket_count,
                "head": self._head,
                "buckets": list(self._current_bucket_states()),
            }
        return self._state

    @classmethod
    def from_state(cls, state: dict[str, Any], spans: Iterable[int] = ()) -> SlidingWindow:
        window = cls(state["bucket_seconds"], state["bucket_count"], spans)
        head = window._head = state["head"]
        window._maximum = None
        for key, count, inbound, outbound, maximum in sorted(state["buckets"]):
            bucket = _Bucket(count, Decimal(inbound), Decimal(outbound), Decimal(maximum))
            window._buckets[key] = bucket
            window._count += bucket.count
            window._inbound += bucket.inbound
            window._outbound += bucket.outbound
            for span in window._spans:
                if key > head - span.bucket_count:
                    span.count += bucket.count
                    span.inbound += bucket.inbound
                    span.outbound += bucket.outbound
        for span in window._spans:
            span.maximum = None
        return window


class WindowSpan:
    """A shorter window served from a longer one's buckets (see `SlidingWindow.span`): reads
    and persists as a `SlidingWindow` of its own length; events go to the longer window."""

    __slots__ = ("_span", "_window")

    def __init__(self, window: SlidingWindow, span: _Span) -> None:
        self._window = window
        self._span = span

    @property
    def bucket_seconds(self) -> int:
        return self._window.bucket_seconds

    @property
    def bucket_count(self) -> int:
        return self._span.bucket_count

    def covers(self, epoch_seconds: int) -> bool:
        return self._window._covers(epoch_seconds, self._span.bucket_count)

    def totals_as_of(self, epoch_seconds: int | None = None) -> WindowTotals:
        return WindowTotals(*self.totals_tuple(epoch_seconds))

    def totals_tuple(
        self, epoch_seconds: int | None = None
    ) -> tuple[int, Decimal, Decimal, Decimal]:
        return self._window._span_totals(self._span, epoch_seconds)

    def to_state(self) -> dict[str, Any]:
        return self._window._span_state(self._span)


class LastSeenMap:
    """Last-seen moment per key, keeping at most `capacity` keys (least recently seen go first).

    A key evicted for capacity reads as new when it returns: with the default capacities
    (hundreds of counterparties) that only happens for customers with very wide networks.
    The last-seen moments are also kept as a sorted list, so `count_since` and
    `count_before` are a binary search, not a scan of every key (they run per transaction).
    """

    __slots__ = ("_last_seen", "_ordered", "capacity")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._last_seen: dict[str, int] = {}
        # Every value of `_last_seen`, ascending (a multiset: equal moments repeat).
        self._ordered: list[int] = []

    def __contains__(self, key: str) -> bool:
        return key in self._last_seen

    def __len__(self) -> int:
        return len(self._last_seen)

    def touch(self, key: str, epoch_seconds: int) -> None:
        last_seen, ordered = self._last_seen, self._ordered
        previous = last_seen.pop(key, None)
        if previous is None:
            seen = epoch_seconds
        elif previous >= epoch_seconds:
            # An out-of-order event never moves a key's last-seen time backwards.
            last_seen[key] = previous
            return
        else:
            seen = epoch_seconds
            del ordered[bisect_left(ordered, previous)]
        last_seen[key] = seen
        if not ordered or seen >= ordered[-1]:
            ordered.append(seen)
        else:
            insort(ordered, seen)
        if len(last_seen) > self.capacity:
            dropped = last_seen.pop(next(iter(last_seen)))
            del ordered[bisect_left(ordered, dropped)]

    def last_seen(self, key: str) -> int | None:
        return self._last_seen.get(key)

    def oldest(self) -> int | None:
        """The earliest last-seen moment kept (None when empty)."""
        return self._ordered[0] if self._ordered else None

    def count_since(self, epoch_seconds: int) -> int:
        ordered = self._ordered
        return len(ordered) - bisect_left(ordered, epoch_seconds)

    def count_before(self, epoch_seconds: int) -> int:
        return bisect_left(self._ordered, epoch_seconds)

    def to_state(self) -> dict[str, Any]:
        return {"capacity": self.capacity, "last_seen": list(self._last_seen.items())}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> LastSeenMap:
        seen_map = cls(state["capacity"])
        seen_map._last_seen = {key: int(seen) for key, seen in state["last_seen"]}
        seen_map._ordered = sorted(seen_map._last_seen.values())
        return seen_map


class RunningStats:
    """Welford's running mean and variance: numerically stable, one pass, O(1) state."""

    __slots__ = ("_m2", "count", "mean")

    def __init__(self, count: int = 0, mean: float = 0.0, m2: float = 0.0) -> None:
        self.count = count
        self.mean = mean
        self._m2 = m2

    def add(self, value: float) -> None:
        self.count += 1
        delta = value - self.mean
        self.mean += delta / self.count
        self._m2 += delta * (value - self.mean)

    @property
    def variance(self) -> float:
        """Sample variance (n - 1 in the denominator); 0 below two observations."""
        return self._m2 / (self.count - 1) if self.count > 1 else 0.0

    @property
    def std(self) -> float:
        return math.sqrt(self.variance)

    def zscore(self, value: float) -> float | None:
        """How many standard deviations `value` sits from the mean; None without a spread."""
        std = self.std
        if self.count < 2 or std == 0.0:
            return None
        return (value - self.mean) / std

    def to_state(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean, "m2": self._m2}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> RunningStats:
        return cls(state["count"], state["mean"], state["m2"])
