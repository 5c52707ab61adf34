"""Detection health's Prometheus metrics (defined in riskwatch_shared.metrics): the event
path counts each rule's matches and alerts; the periodic check sets the gauges."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from riskwatch_alerting.domain.evaluation import Hit
from riskwatch_alerting.health.schemas import RuleHealthOut
from riskwatch_shared.metrics import (
    OPERATIONAL_ALERTS,
    RULE_ALERTS,
    RULE_ALERTS_LAST_24H,
    RULE_BASELINE_RATIO,
    RULE_FIRE_RATE,
    RULE_MATCHES,
    RULE_PRECISION,
)

__all__ = ["OPERATIONAL_ALERTS", "count_hits", "record_rules"]
_GAUGES = (RULE_FIRE_RATE, RULE_ALERTS_LAST_24H, RULE_BASELINE_RATIO, RULE_PRECISION)


def count_hits(hits: Iterable[Hit]) -> None:
    """One batch's hits, one increment per rule (not per hit: the event path is hot)."""
    matches: Counter[tuple[str, str]] = Counter()
    alerts: Counter[tuple[str, str]] = Counter()
    for hit in hits:
        key = (str(hit.match.rule.id), hit.match.rule.name)
        matches[key] += 1
        if hit.is_new_alert:
            alerts[key] += 1
    for (rule_id, name), count in matches.items():
        RULE_MATCHES.labels(rule_id=rule_id, rule=name).inc(count)
    for (rule_id, name), count in alerts.items():
        RULE_ALERTS.labels(rule_id=rule_id, rule=name).inc(count)


def record_rules(found: Sequence[RuleHealthOut]) -> None:
    """The active rules' gauges, replacing the last check's (a disabled rule drops out)."""
    for gauge in _GAUGES:
        gauge.clear()
    for health in found:
        labels = {"rule_id": str(health.rule_id), "rule": health.name}
        RULE_ALERTS_LAST_24H.labels(**labels).set(health.alerts_last_24h)
        for gauge, value in (
            (RULE_FIRE_RATE, health.fire_rate),
            (RULE_BASELINE_RATIO, health.baseline_ratio),
            (RULE_PRECISION, health.precision),
        ):
            if value is not None:
                gauge.labels(**labels).set(value)
