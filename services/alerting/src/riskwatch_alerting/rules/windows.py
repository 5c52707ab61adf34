"""Incremental sliding-window aggregates over transactions, with a compact JSON state.

Each (AggregateSpec, group key) owns one `SlidingWindow` of time buckets: 10 s buckets for
windows up to 1 h, 1 min up to 24 h, 1 h beyond (90 d is 2,160 buckets). A window of W seconds
with buckets of B seconds covers the bucket holding `now` and the W / B (rounded up) buckets
before it, so every observation younger than W is counted and an observation is dropped by
the time it is W + B old: the boundary error is at most one bucket, always on the side of
counting slightly more (an alert fires a little early rather than never). Queries are meant
for `now` at or after the newest observation; buckets older than the newest bucket minus the
span are evicted as time moves on. Sums of Decimal amounts are exact.
"""

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from riskwatch_alerting.rules.aggregates import AggregateSpec
from riskwatch_alerting.rules.compiler import compile_where, number_or_none
from riskwatch_alerting.rules.fields import GROUP_BY_FIELDS

Number = Decimal | int
_Predicate = Callable[[Mapping[str, object]], bool]
STATE_VERSION = 1
_EXTREMES = frozenset({"max", "min"})


def bucket_seconds_for(window_seconds: int) -> int:
    """Bucket width for a window: fine for short windows, coarse for long ones."""
    if window_seconds <= 3_600:
        return 10
    if window_seconds <= 86_400:
        return 60
    return 3_600


class GroupKey(NamedTuple):
    """Whose window: `by` ("customer", "account", ...) and that entity's id."""

    by: str
    value: str


class SlidingWindow:
    """One aggregate (count/sum/avg/max/min/distinct) over one group's observations."""

    __slots__ = ("_buckets", "_distinct", "_newest", "bucket_seconds", "func", "span")

    def __init__(self, func: str, window_seconds: int) -> None:
        self.func = func
        self.bucket_seconds = bucket_seconds_for(window_seconds)
        self.span = math.ceil(window_seconds / self.bucket_seconds)
        # bucket index -> [count, sum, extreme]; insertion is (almost always) in time order.
        self._buckets: dict[int, list[Any]] = {}
        self._distinct: dict[str, int] = {}
        self._newest: int | None = None

    def add(self, at: datetime, value: Number | str | None = None) -> None:
        """Record one observation; `value` is the aggregated field's value (None for count)."""
        index = int(at.timestamp()) // self.bucket_seconds
        if self._newest is not None and index < self._newest - self.span:
            return  # older than any window we can still be asked about
        if self.func == "distinct":
            if isinstance(value, str) and index >= self._distinct.get(value, index):
                self._distinct[value] = index
        else:
            self._add_to_bucket(index, value)
        if self._newest is None or index > self._newest:
            self._newest = index
            self._evict()

    def _add_to_bucket(self, index: int, value: Number | str | None) -> None:
        bucket = self._buckets.get(index)
        if bucket is None:
            bucket = self._buckets[index] = [0, 0, None]
        bucket[0] += 1
        if isinstance(value, Decimal | int):
            bucket[1] += value
            if self.func not in _EXTREMES:
                return  # only max/min read the extreme: the stored state stays small
            extreme = bucket[2]
            if extreme is None or (value > extreme if self.func == "max" else value < extreme):
                bucket[2] = value

    def _evict(self) -> None:
        assert self._newest is not None
        cutoff = self._newest - self.span
        # Dicts keep insertion order, so the oldest buckets sit at the front.
        while self._buckets:
            oldest = next(iter(self._buckets))
            if oldest >= cutoff:
                break
            del self._buckets[oldest]
        if len(self._distinct) > 2 * self.span:
            self._distinct = {key: seen for key, seen in self._distinct.items() if seen >= cutoff}

    def value(self, now: datetime) -> Number | None:
        """The aggregate over the window ending at `now`; None for an empty avg/max/min."""
        now_index = int(now.timestamp()) // self.bucket_seconds
        first = now_index - self.span
        if self.func == "distinct":
            return sum(1 for seen in self._distinct.values() if first <= seen <= now_index)
        buckets = [b for i, b in self._buckets.items() if first <= i <= now_index]
        return _combine(self.func, buckets)

    def to_state(self) -> dict[str, Any]:
        """JSON-serialisable state: Decimals as strings."""
        state: dict[str, Any] = {"v": STATE_VERSION, "newest": self._newest}
        if self.func == "distinct":
            state["values"] = [[key, seen] for key, seen in self._distinct.items()]
        else:
            state["buckets"] = [
                [index, count, str(total), None if extreme is None else str(extreme)]
                for index, (count, total, extreme) in self._buckets.items()
            ]
        return state

    @classmethod
    def from_state(
        cls, func: str, window_seconds: int, state: Mapping[str, Any]
    ) -> "SlidingWindow":
        window = cls(func, window_seconds)
        window._newest = state.get("newest")
        for key, seen in state.get("values", []):
            window._distinct[str(key)] = int(seen)
        for index, count, total, extreme in state.get("buckets", []):
            window._buckets[int(index)] = [
                int(count),
                _number(total),
                None if extreme is None else _number(extreme),
            ]
        return window


def _number(text: str) -> Number:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() and "." not in text else number


def _combine(func: str, buckets: list[list[Any]]) -> Number | None:
    if func == "count":
        count: int = sum(bucket[0] for bucket in buckets)
        return count
    total: Number = sum((bucket[1] for bucket in buckets), start=0)
    if func == "sum":
        return total
    if func == "avg":
        count = sum(bucket[0] for bucket in buckets)
        return Decimal(total) / count if count else None
    extremes = [bucket[2] for bucket in buckets if bucket[2] is not None]
    if not extremes:
        return None
    extreme: Number = max(extremes) if func == "max" else min(extremes)
    return extreme


class WindowStore:
    """All sliding windows the active rules read, keyed by (spec, group key)."""

    def __init__(self, specs: Iterable[AggregateSpec]) -> None:
        self.specs: tuple[AggregateSpec, ...] = tuple(dict.fromkeys(specs))
        self._windows: dict[tuple[AggregateSpec, GroupKey], SlidingWindow] = {}
        # The same windows per group key, so one group's state is read without a full scan.
        self._by_key: dict[GroupKey, dict[AggregateSpec, SlidingWindow]] = {}
        # Loaded states not yet needed: a window is rebuilt only when a rule or a
        # transaction touches it, and an untouched one is stored back as it came.
        self._stored: dict[GroupKey, dict[AggregateSpec, Mapping[str, Any]]] = {}
        self._labels = {spec: spec.label for spec in self.specs}
        self._by_label = {label: spec for spec, label in self._labels.items()}
        # Per group-by: each spec with its compiled `where` (None when it has none).
        self._specs_by: dict[str, tuple[tuple[AggregateSpec, _Predicate | None], ...]] = {
            by: tuple(
                (spec, None if spec.where is None else compile_where(spec.where))
                for spec in self.specs
                if spec.by == by
            )
            for by in {spec.by for spec in self.specs}
        }

    def add(self, key: GroupKey, at: datetime, txn: Mapping[str, object]) -> None:
        """Record transaction `txn` in every window grouped by `key.by`."""
        for spec, where in self._specs_by.get(key.by, ()):
            if where is not None and not where(txn):
                continue
            value = _observed_value(spec, txn)
            if value is None and spec.func != "count":
                continue
            window = self._windows.get((spec, key)) or self._window(spec, key)
            window.add(at, value)

    def observe(
        self, txn: Mapping[str, object], at: datetime, keys: Iterable[GroupKey] | None = None
    ) -> None:
        """Record `txn` under each of its group keys (customer, account, ...); `keys`, when
        given, stands for `group_keys(txn)` computed once by the caller."""
        for key in group_keys(txn) if keys is None else keys:
            self.add(key, at, txn)

    def value(self, key: GroupKey, spec: AggregateSpec, now: datetime) -> Number | None:
        window = self._existing(spec, key)
        if window is None:
            return _combine(spec.func, []) if spec.func != "distinct" else 0
        return window.value(now)

    def values_for(self, txn: Mapping[str, object], now: datetime) -> dict[AggregateSpec, object]:
        """Every spec's value for this transaction's groups, ready for RuleContext.aggregates."""
        keys = {key.by: key for key in group_keys(txn)}
        return {
            spec: self.value(keys[spec.by], spec, now) for spec in self.specs if spec.by in keys
        }

    def lazy_values_for(
        self, txn: Mapping[str, object], now: datetime, keys: Iterable[GroupKey] | None = None
    ) -> "LazyAggregates":
        """Like values_for, computing each value only when a rule reads it; `keys`, when
        given, stands for `group_keys(txn)` computed once by the caller."""
        keys = group_keys(txn) if keys is None else keys
        return LazyAggregates(self, {key.by: key for key in keys}, now)

    def key_state(self, key: GroupKey) -> dict[str, Any]:
        """The state of one group's windows, keyed by spec label: one row per group in SQL."""
        state = {
            self._labels[spec]: dict(stored) for spec, stored in self._stored.get(key, {}).items()
        }
        for spec, window in self._by_key.get(key, {}).items():
            state[self._labels[spec]] = window.to_state()
        return state

    def load_key_state(self, key: GroupKey, state: Mapping[str, Any]) -> None:
        """Restore one group's windows; windows of specs no longer in use are dropped."""
        stored = self._stored.setdefault(key, {})
        for label, window_state in state.items():
            spec = self._by_label.get(label)
            if spec is not None:
                stored[spec] = window_state
                window = self._windows.pop((spec, key), None)
                if window is not None:
                    del self._by_key[key][spec]

    def to_state(self) -> list[dict[str, Any]]:
        keys = dict.fromkeys([*(key for _, key in self._windows), *self._stored])
        return [{"by": key.by, "key": key.value, "windows": self.key_state(key)} for key in keys]

    @classmethod
    def from_state(
        cls, specs: Iterable[AggregateSpec], state: Iterable[Mapping[str, Any]]
    ) -> "WindowStore":
        store = cls(specs)
        for row in state:
            store.load_key_state(GroupKey(row["by"], row["key"]), row["windows"])
        return store

    def _existing(self, spec: AggregateSpec, key: GroupKey) -> SlidingWindow | None:
        window = self._windows.get((spec, key))
        if window is None:
            stored = self._stored.get(key)
            if stored is None or spec not in stored:
                return None
            window = SlidingWindow.from_state(spec.func, spec.window_seconds, stored.pop(spec))
            self._windows[(spec, key)] = window
            self._by_key.setdefault(key, {})[spec] = window
        return window

    def _window(self, spec: AggregateSpec, key: GroupKey) -> SlidingWindow:
        window = self._existing(spec, key)
        if window is None:
            window = self._windows[(spec, key)] = SlidingWindow(spec.func, spec.window_seconds)
            self._by_key.setdefault(key, {})[spec] = window
        return window


class LazyAggregates(Mapping[AggregateSpec, object]):
    """RuleContext.aggregates that computes (and keeps) a window's value on first read."""

    __slots__ = ("_computed", "_keys", "_now", "_store")

    def __init__(self, store: WindowStore, keys: dict[str, GroupKey], now: datetime) -> None:
        self._store = store
        self._keys = keys
        self._now = now
        self._computed: dict[AggregateSpec, object] = {}

    def __getitem__(self, spec: AggregateSpec) -> object:
        if spec in self._computed:
            return self._computed[spec]
        key = self._keys.get(spec.by)
        if key is None:
            raise KeyError(spec)
        value = self._computed[spec] = self._store.value(key, spec, self._now)
        return value

    def get(self, spec: AggregateSpec, default: object = None) -> object:
        # What compiled rules call: Mapping.get's __getitem__ + KeyError round trip is slower.
        computed = self._computed
        if spec in computed:
            return computed[spec]
        key = self._keys.get(spec.by)
        if key is None:
            return default
        value = computed[spec] = self._store.value(key, spec, self._now)
        return value

    def __iter__(self) -> Iterator[AggregateSpec]:
        return (spec for spec in self._store.specs if spec.by in self._keys)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def group_keys(txn: Mapping[str, object]) -> list[GroupKey]:
    """The groups a transaction belongs to; a group whose id is missing is skipped."""
    keys = []
    for by, field_name in GROUP_BY_FIELDS.items():
        value = txn.get(field_name)
        if isinstance(value, str) and value:
            keys.append(GroupKey(by, value))
    return keys


def _observed_value(spec: AggregateSpec, txn: Mapping[str, object]) -> Number | str | None:
    if spec.field is None:
        return None
    raw = txn.get(spec.field)
    if spec.func == "distinct":
        return raw if isinstance(raw, str) else None
    return number_or_none(raw)
