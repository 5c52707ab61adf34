"""Backtests (pure): replay stored evaluation history through one rule, raising nothing.

History from `start - longest window` warms the rule's windows up; only events inside
[start, end) are evaluated. The replay uses the same `Evaluator` as live consumption, so on
the same history it raises the same alerts (resolved alerts closing a dedup key early is the
one thing a replay cannot know: it assumes every alert stays open for its cooldown).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from riskwatch_alerting.domain.evaluation import ActiveRule, Deduplicator, Evaluator, Match, RuleSet
from riskwatch_alerting.domain.evaluation_input import EvaluationInput, to_json
from riskwatch_alerting.rules.windows import WindowStore

MAX_SAMPLES = 20


@dataclass(frozen=True)
class Disposition:
    """An alert already resolved by an analyst: the label a backtest measures against."""

    trigger_event_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    seen_at: datetime  # the alert's first occurrence (event time)
    outcome: str


@dataclass
class PrecisionTally:
    """Hits that coincide with a dispositioned alert, and how those were resolved: precision
    is the share resolved as anything but a false positive (backtests and shadow runs)."""

    labelled: int = 0
    true_positives: int = 0
    false_positives: int = 0

    def count(self, outcome: str | None) -> None:
        """One hit; `outcome` is its dispositioned alert's (None: not labelled)."""
        if outcome is None:
            return
        self.labelled += 1
        if outcome == "false_positive":
            self.false_positives += 1
        else:
            self.true_positives += 1

    @property
    def precision(self) -> float | None:
        return None if not self.labelled else self.true_positives / self.labelled


@dataclass
class BacktestResult(PrecisionTally):
    events_replayed: int = 0
    events_evaluated: int = 0
    matches: int = 0
    alerts: int = 0
    occurrences: int = 0
    alerts_per_day: dict[str, int] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)


def warm_up_seconds(rule: ActiveRule) -> int:
    return max((spec.window_seconds for spec in rule.compiled.aggregates), default=0)


def warm_up_start(rule: ActiveRule, start: datetime) -> datetime:
    return start - timedelta(seconds=warm_up_seconds(rule))


class Backtester:
    """A replay fed in chunks (history can be long); `finish()` gives the result."""

    def __init__(
        self,
        rule: ActiveRule,
        *,
        start: datetime,
        end: datetime,
        lists: Mapping[str, frozenset[str]],
        dispositions: Iterable[Disposition] = (),
        label_window: timedelta = timedelta(hours=24),
    ) -> None:
        self.rule, self.start, self.end = rule, start, end
        rule_set = RuleSet([rule], lists)
        self._evaluator = Evaluator(rule_set, WindowStore(rule_set.specs))
        self._deduplicator = Deduplicator()
        self._labels = DispositionLabels(dispositions, label_window)
        self._per_day: Counter[str] = Counter()
        self.result = BacktestResult()

    def feed(self, history: Iterable[EvaluationInput]) -> None:
        """History in the order live evaluation saw it (occurred_at, then arrival order)."""
        result = self.result
        for item in history:
            result.events_replayed += 1
            if not self.start <= item.occurred_at < self.end:
                if item.is_transaction:
                    self._evaluator.windows.observe(item.txn, item.occurred_at)
                continue
            if item.event_type in self.rule.trigger_event_types:
                result.events_evaluated += 1
            for match in self._evaluator.process(item):
                self._place(match, item)

    def _place(self, match: Match, item: EvaluationInput) -> None:
        result = self.result
        result.matches += 1
        if not self._deduplicator.place(match).is_new_alert:
            result.occurrences += 1
            return
        result.alerts += 1
        self._per_day[item.occurred_at.date().isoformat()] += 1
        result.count(self._labels.outcome_for(item))
        if len(result.samples) < MAX_SAMPLES:
            result.samples.append(_sample(item, match.evidence))

    def finish(self) -> BacktestResult:
        self.result.alerts_per_day = dict(sorted(self._per_day.items()))
        return self.result


def run_backtest(
    rule: ActiveRule,
    history: Iterable[EvaluationInput],
    *,
    start: datetime,
    end: datetime,
    lists: Mapping[str, frozenset[str]],
    dispositions: Iterable[Disposition] = (),
    label_window: timedelta = timedelta(hours=24),
) -> BacktestResult:
    """Replay all of `history` at once (see Backtester)."""
    backtester = Backtester(
        rule,
        start=start,
        end=end,
        lists=lists,
        dispositions=dispositions,
        label_window=label_window,
    )
    backtester.feed(history)
    return backtester.finish()


def _sample(item: EvaluationInput, evidence: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "event_id": str(item.event_id),
        "event_type": item.event_type,
        "occurred_at": item.occurred_at.isoformat(),
        "customer_id": None if item.customer_id is None else str(item.customer_id),
        "transaction_id": None if item.transaction_id is None else str(item.transaction_id),
        "evidence": to_json(evidence),
    }


class DispositionLabels:
    """The outcome of the dispositioned alert a would-be alert corresponds to, if any: the
    one raised on the same event, else one on the same customer within `window`."""

    def __init__(self, dispositions: Iterable[Disposition], window: timedelta) -> None:
        self._by_event: dict[uuid.UUID, str] = {}
        self._by_customer: dict[uuid.UUID, list[Disposition]] = {}
        self._window = window
        for disposition in dispositions:
            if disposition.trigger_event_id is not None:
                self._by_event[disposition.trigger_event_id] = disposition.outcome
            if disposition.customer_id is not None:
                self._by_customer.setdefault(disposition.customer_id, []).append(disposition)

    def outcome_for(self, item: EvaluationInput) -> str | None:
        return self.outcome_of(item.event_id, item.customer_id, item.occurred_at)

    def outcome_of(
        self, event_id: uuid.UUID, customer_id: uuid.UUID | None, occurred_at: datetime
    ) -> str | None:
        if event_id in self._by_event:
            return self._by_event[event_id]
        if customer_id is None:
            return None
        for disposition in self._by_customer.get(customer_id, []):
            if abs(disposition.seen_at - occurred_at) <= self._window:
                return disposition.outcome
        return None
