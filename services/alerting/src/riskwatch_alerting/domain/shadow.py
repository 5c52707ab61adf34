"""Shadow runs (pure): proposed rule versions evaluated beside the active rules without raising
alerts, and the per-day comparison of what each version hit.

The event path evaluates a `ShadowSet` on the windows the live evaluator has just updated, so
a shadow version sees exactly what its live counterpart sees; its matches are stored, never
placed against the live rule's open alerts (its dedup and cooldown state stay untouched).

The comparison counts, per day of event time, the events each version hit, the alerts each
raised (the shadow's: its stored hits replayed through the live `Deduplicator` from the
shadow's start), the events and customers both hit, and each version's precision against
alerts already dispositioned, labelled as backtests label them (`DispositionLabels`: the alert
raised on the same event, else one on the same customer within a day).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from riskwatch_alerting.domain.backtest import DispositionLabels, PrecisionTally
from riskwatch_alerting.domain.evaluation import ActiveRule, Deduplicator, Match, RuleSet
from riskwatch_alerting.domain.evaluation_input import EvaluationInput

# Shadow rules are few: each one is evaluated on every event it triggers on.
MAX_RUNNING_SHADOWS = 20
# A run stops itself past this many stored hits (a runaway version must not fill the table).
MAX_HITS_PER_RUN = 200_000
MAX_COMPARISON_DAYS = 31


def version_rule(rule_id: uuid.UUID, version: int, snapshot: Mapping[str, Any]) -> ActiveRule:
    """A stored rule version (its snapshot) ready to evaluate (a shadow's, a rollout's)."""
    return ActiveRule.build(
        id=rule_id,
        version=version,
        name=str(snapshot.get("name") or "shadow"),
        rule_type=str(snapshot.get("rule_type") or "custom"),
        severity=str(snapshot.get("severity") or "medium"),
        trigger_event_types=list(snapshot.get("trigger_event_types") or []),
        condition=str(snapshot.get("condition") or ""),
        dedup_key=str(snapshot.get("dedup_key") or "customer_id"),
        cooldown_seconds=int(snapshot.get("cooldown_seconds") or 0),
        suggested_actions=list(snapshot.get("suggested_actions") or []),
        template_key=snapshot.get("template_key"),
        title_template=snapshot.get("title_template"),
        summary_template=snapshot.get("summary_template"),
    )


class ShadowSet:
    """The running shadow versions: their rules (evaluated on their own) and each one's run."""

    def __init__(self, runs: Iterable[tuple[uuid.UUID, ActiveRule]], lists: Mapping[str, Any]):
        pairs = list(runs)
        self.rule_set = RuleSet([rule for _, rule in pairs], lists)
        self.run_of: dict[tuple[uuid.UUID, int], uuid.UUID] = {
            (rule.id, rule.version): run_id for run_id, rule in pairs
        }

    def run_id(self, rule: ActiveRule) -> uuid.UUID:
        return self.run_of[(rule.id, rule.version)]


@dataclass(frozen=True)
class HitRecord:
    """One event a version hit, and whether it raised (or would have raised) a new alert."""

    event_id: uuid.UUID
    customer_id: uuid.UUID | None
    occurred_at: datetime
    new_alert: bool = True


@dataclass(frozen=True)
class StoredShadowHit:
    event_id: uuid.UUID
    customer_id: uuid.UUID | None
    occurred_at: datetime
    dedup_value: str


def shadow_hit_records(rule: ActiveRule, hits: Iterable[StoredShadowHit]) -> list[HitRecord]:
    """The shadow's stored hits (in event order) with the alerts they would have raised: the
    live Deduplicator, started empty when the shadow started."""
    deduplicator = Deduplicator()
    records = []
    for hit in hits:
        item = EvaluationInput(
            event_id=hit.event_id,
            event_type="",
            occurred_at=hit.occurred_at,
            customer_id=hit.customer_id,
            transaction_id=None,
            namespaces={},
        )
        placed = deduplicator.place(Match(rule, item, {}, hit.dedup_value))
        records.append(
            HitRecord(hit.event_id, hit.customer_id, hit.occurred_at, placed.is_new_alert)
        )
    return records


@dataclass
class VersionDay(PrecisionTally):
    """One version's day: events hit, alerts raised, and their dispositions."""

    hits: int = 0
    alerts: int = 0


@dataclass
class ComparedDay:
    day: date
    active: VersionDay = field(default_factory=VersionDay)
    shadow: VersionDay = field(default_factory=VersionDay)
    overlap_events: int = 0
    overlap_customers: int = 0
    only_active: int = 0
    only_shadow: int = 0


def days_between(start: datetime, end: datetime) -> list[date]:
    """The UTC days [start, end) touches (at least start's day)."""
    first, last = start.date(), max(start, end - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def compare_by_day(
    days: Sequence[date],
    *,
    active: Iterable[HitRecord],
    shadow: Iterable[HitRecord],
    labels: DispositionLabels,
) -> list[ComparedDay]:
    """Per day: each version's hits, alerts and precision (over its alerts that coincide with
    a dispositioned alert), and the events and customers both versions hit."""
    compared = {day: ComparedDay(day) for day in days}
    events: dict[date, tuple[set[uuid.UUID], set[uuid.UUID]]] = {d: (set(), set()) for d in days}
    customers: dict[date, tuple[set[uuid.UUID], set[uuid.UUID]]] = {d: (set(), set()) for d in days}
    for side, records in ((0, active), (1, shadow)):
        for record in records:
            day = record.occurred_at.date()
            if day not in compared:
                continue
            version = compared[day].active if side == 0 else compared[day].shadow
            version.hits += 1
            events[day][side].add(record.event_id)
            if record.customer_id is not None:
                customers[day][side].add(record.customer_id)
            if record.new_alert:
                version.alerts += 1
                version.count(
                    labels.outcome_of(record.event_id, record.customer_id, record.occurred_at)
                )
    for day, compared_day in compared.items():
        active_events, shadow_events = events[day]
        compared_day.overlap_events = len(active_events & shadow_events)
        compared_day.only_active = len(active_events - shadow_events)
        compared_day.only_shadow = len(shadow_events - active_events)
        compared_day.overlap_customers = len(customers[day][0] & customers[day][1])
    return [compared[day] for day in days]


def totals(days: Iterable[ComparedDay]) -> ComparedDay:
    """The days summed (its `day` is the first day's)."""
    listed = list(days)
    total = ComparedDay(listed[0].day if listed else date.min)
    for day in listed:
        for mine, theirs in ((total.active, day.active), (total.shadow, day.shadow)):
            mine.hits += theirs.hits
            mine.alerts += theirs.alerts
            mine.labelled += theirs.labelled
            mine.true_positives += theirs.true_positives
            mine.false_positives += theirs.false_positives
        total.overlap_events += day.overlap_events
        total.overlap_customers += day.overlap_customers
        total.only_active += day.only_active
        total.only_shadow += day.only_shadow
    return total
