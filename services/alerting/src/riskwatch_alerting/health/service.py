"""Detection health: the numbers per rule (read-only, for the API and the periodic check)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting import repository
from riskwatch_alerting.domain.health import (
    SpikeThresholds,
    baseline_of,
    baseline_ratio,
    bucket_start,
    fire_rate,
    is_spike,
    precision,
)
from riskwatch_alerting.errors import RuleNotFound
from riskwatch_alerting.health import store
from riskwatch_alerting.health.schemas import DayVolume, RuleHealthDetail, RuleHealthOut
from riskwatch_alerting.models import Rule

DEFAULT_WINDOW_DAYS = 28


@dataclass
class HealthCache:
    """Every rule's health per (window, status), kept `max_age` seconds in the process."""

    max_age: float
    _kept: dict[tuple[int, str | None], tuple[float, list[RuleHealthOut]]] = field(
        default_factory=dict
    )

    def get(self, key: tuple[int, str | None]) -> list[RuleHealthOut] | None:
        kept = self._kept.get(key)
        if kept is None or time.monotonic() - kept[0] > self.max_age:
            return None
        return kept[1]

    def put(self, key: tuple[int, str | None], found: list[RuleHealthOut]) -> None:
        self._kept[key] = (time.monotonic(), found)


async def rules_health(
    session: AsyncSession,
    *,
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    status: str | None = None,
    thresholds: SpikeThresholds = SpikeThresholds(),
) -> list[RuleHealthOut]:
    """Every rule's health (by status), oldest rule first."""
    rules = await repository.list_rules(session, status=status, rule_type=None)
    return await _health(session, rules, now=now, window_days=window_days, thresholds=thresholds)


async def rule_health(
    session: AsyncSession,
    rule_id: uuid.UUID,
    *,
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    thresholds: SpikeThresholds = SpikeThresholds(),
) -> RuleHealthDetail:
    rule = await repository.get_rule(session, rule_id)
    if rule is None:
        raise RuleNotFound(f"rule {rule_id} not found")
    by_rule = await store.alerts_by_bucket(
        session, now=now, buckets=thresholds.baseline_days + 1, rule_id=rule_id
    )
    [health] = await _health(
        session, [rule], now=now, window_days=window_days, thresholds=thresholds, daily=by_rule
    )
    daily = by_rule.get(rule_id, {})
    days = [
        DayVolume(day_start=bucket_start(now, index), alerts=daily.get(index, 0))
        for index in range(thresholds.baseline_days + 1)
    ]
    return RuleHealthDetail(**health.model_dump(), alerts_per_day=days)


async def _health(
    session: AsyncSession,
    rules: Sequence[Rule],
    *,
    now: datetime,
    window_days: int,
    thresholds: SpikeThresholds,
    daily: dict[uuid.UUID, dict[int, int]] | None = None,
) -> list[RuleHealthOut]:
    if not rules:
        return []
    one = rules[0].id if len(rules) == 1 else None
    since = now - timedelta(days=window_days)
    if daily is None:
        daily = await store.alerts_by_bucket(
            session, now=now, buckets=thresholds.baseline_days + 1, rule_id=one
        )
    matches = await store.matches_since(session, since, rule_id=one)
    evaluated = await store.evaluated_by_type(session, since)
    labels = await store.dispositions_since(session, since, rule_id=one)
    activations = await store.first_activations(session)
    open_spikes = await store.open_spike_alerts(session)
    out = []
    for rule in rules:
        active_since = activations.get(rule.id)
        counts = daily.get(rule.id, {})
        volume = counts.get(0, 0)
        baseline = baseline_of(
            counts, now=now, active_since=active_since or rule.created_at, thresholds=thresholds
        )
        events = sum(evaluated.get(t, 0) for t in rule.trigger_event_types)
        true_positives, false_positives = labels.get(rule.id, (0, 0))
        out.append(
            RuleHealthOut(
                rule_id=rule.id,
                name=rule.name,
                rule_type=rule.rule_type,
                severity=rule.severity,
                status=rule.status,
                version=rule.version,
                owner=rule.created_by,
                owner_team=rule.owner_team,
                last_changed_at=rule.updated_at,
                last_changed_by=rule.updated_by,
                pending_version=rule.pending_version,
                active_since=active_since,
                as_of=now,
                window_days=window_days,
                events_evaluated=events,
                matches=matches.get(rule.id, 0),
                fire_rate=fire_rate(matches.get(rule.id, 0), events),
                alerts_last_24h=volume,
                baseline_per_day=baseline.per_day,
                baseline_days=baseline.days,
                baseline_ratio=baseline_ratio(volume, baseline),
                spiking=rule.status == "active" and is_spike(volume, baseline, thresholds),
                dispositioned=true_positives + false_positives,
                true_positives=true_positives,
                false_positives=false_positives,
                precision=precision(true_positives, false_positives),
                open_operational_alert_id=open_spikes.get(str(rule.id)),
            )
        )
    return out
