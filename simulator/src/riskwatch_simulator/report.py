"""What the simulation shows: patterns caught, how fast, false alerts, model AUC (pure)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from riskwatch_simulator.bank import LABEL_KINDS, PATTERNS, Label, LabelKind, Pattern
from riskwatch_simulator.lead_time import LeadTimeReport

# The go-live month: every customer's history in RiskWatch starts with the simulation.
GO_LIVE_DAYS = 30
# The alert rule type that catches each pattern.
PATTERN_RULE_TYPE: dict[Pattern, str] = {
    "card_fraud_burst": "transaction_anomaly",
    "account_takeover": "transaction_anomaly",
    "structuring": "transaction_anomaly",
    "mule_account": "transaction_anomaly",
    "credit_deterioration": "credit_risk",
    "churn": "churn",
}


def auc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties count half.

    Mann-Whitney U from average ranks, O(n log n). None when one class is missing.
    """
    if len(scores) != len(labels):
        raise ValueError("scores and labels differ in length")
    positives = sum(1 for label in labels if label)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        average_rank = (start + end) / 2 + 1
        rank_sum += average_rank * sum(1 for i in order[start : end + 1] if labels[i])
        start = end + 1
    u = rank_sum - positives * (positives + 1) / 2
    return u / (positives * negatives)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class AlertSeen:
    """An alert as the report needs it (from `GET /v1/alerts`)."""

    alert_id: str
    customer_id: str | None
    rule_type: str
    rule_name: str
    raised_at: datetime
    transaction_id: str | None = None
    # When what raised it happened (event time).
    happened_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PatternFigures:
    pattern: Pattern
    injected: int
    caught: int
    event_to_alert_seconds: list[float]
    alert_to_notification_seconds: list[float]
    # rule name -> how many of this pattern's customers it alerted on first
    caught_by: dict[str, int] = field(default_factory=dict)
    # Per caught customer whose outcome has a time (a churner going quiet): days from the
    # first warning (its event time) to the outcome; negative when the warning came after.
    lead_days: list[float] = field(default_factory=list)
    # form of the pattern ("" the blatant one) -> (injected, caught)
    by_variant: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def share(self) -> float | None:
        return self.caught / self.injected if self.injected else None


@dataclass(slots=True)
class SimulationReport:
    customers: int
    transactions_sent: int
    records_sent: int
    seconds: float
    patterns: list[PatternFigures] = field(default_factory=list)
    false_alerts: int = 0
    false_alerts_by_rule: dict[str, int] = field(default_factory=dict)
    total_alerts: int = 0
    auc: dict[str, float | None] = field(default_factory=dict)
    # The history's first day and length, to split false alerts into the go-live month
    # (every customer new to RiskWatch) and after.
    start: datetime | None = None
    days: int = 0
    # rule name -> (false alerts in the first GO_LIVE_DAYS, after), by the event time
    false_alerts_by_period: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Every alert as (customer external id, rule type, rule name, event time): what a replay
    # compares.
    alerts: list[tuple[str, str, str, datetime | None]] = field(default_factory=list)
    # rule name -> (alerts a pattern explains, all its alerts): the rule's precision
    alerts_by_rule: dict[str, tuple[int, int]] = field(default_factory=dict)
    # The credit early warning's lead time to default per indicator (lead_time.py).
    credit_warning: LeadTimeReport | None = None

    @property
    def false_alerts_per_1000(self) -> float:
        return self.false_alerts * 1000 / self.customers if self.customers else 0.0

    def false_alerts_per_1000_per_day(self) -> tuple[float | None, float | None]:
        """False alerts per 1,000 customers per day in the go-live month and after it."""
        first = sum(early for early, _ in self.false_alerts_by_period.values())
        after = sum(late for _, late in self.false_alerts_by_period.values())
        first_days, after_days = min(self.days, GO_LIVE_DAYS), max(self.days - GO_LIVE_DAYS, 0)

        def rate(count: int, days: int) -> float | None:
            return count * 1000 / (self.customers * days) if days and self.customers else None

        return rate(first, first_days), rate(after, after_days)

    def render(self) -> str:
        def ms(values: list[float], q: float) -> str:
            value = percentile(values, q)
            return "-" if value is None else f"{value * 1000:,.0f}"

        lines = [
            f"RiskWatch simulation: {self.customers:,} customers, "
            f"{self.transactions_sent:,} transactions, {self.records_sent:,} records "
            f"in {self.seconds:,.1f}s",
            "",
            "| pattern | injected | caught | event->alert p50/p95 ms "
            "| alert->notification p50/p95 ms | first alert from |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for figures in self.patterns:
            share = "-" if figures.share is None else f"{figures.share:.0%}"
            e2a, a2n = figures.event_to_alert_seconds, figures.alert_to_notification_seconds
            lines.append(
                f"| {figures.pattern} | {figures.injected} | {figures.caught} ({share}) "
                f"| {ms(e2a, 50)} / {ms(e2a, 95)} | {ms(a2n, 50)} / {ms(a2n, 95)} "
                f"| {', '.join(f'{rule} ({n})' for rule, n in figures.caught_by.items())}"
                f"{_variants(figures)} |"
            )
        leads = [
            f"{figures.pattern}: warned {percentile(figures.lead_days, 50):,.1f} days before "
            f"the outcome (median of {len(figures.lead_days)}; "
            f"min {min(figures.lead_days):,.1f})"
            for figures in self.patterns
            if figures.lead_days
        ]
        lines += ["", *leads] if leads else []
        lines += [
            "",
            f"alerts: {self.total_alerts:,}; false alerts: {self.false_alerts:,} "
            f"({self.false_alerts_per_1000:,.1f} per 1,000 customers)"
            + "".join(
                f"\n  {count:>5} {rule}" for rule, count in self.false_alerts_by_rule.items()
            ),
            self._render_periods(),
            *self._render_rules(),
            "model AUC on the simulated labels: "
            + ", ".join(
                f"{kind} {'-' if value is None else f'{value:.3f}'}"
                for kind, value in self.auc.items()
            ),
        ]
        if self.credit_warning is not None:
            lines += ["", self.credit_warning.render()]
        return "\n".join(lines)

    def _render_periods(self) -> str:
        first, after = self.false_alerts_per_1000_per_day()

        def shown(value: float | None) -> str:
            return "-" if value is None else f"{value:,.2f}"

        return (
            f"false alerts per 1,000 customers per day: first {GO_LIVE_DAYS} days "
            f"{shown(first)}, after {shown(after)}"
            + "".join(
                f"\n  {early:>5} / {late:>5} {rule}"
                for rule, (early, late) in self.false_alerts_by_period.items()
            )
        )

    def _render_rules(self) -> list[str]:
        """Per rule: precision, and false alerts per 1,000 customers per day in the go-live
        month and after."""
        if not self.alerts_by_rule:
            return []
        first_days, after_days = min(self.days, GO_LIVE_DAYS), max(self.days - GO_LIVE_DAYS, 0)

        def rate(count: int, days: int) -> str:
            return f"{count * 1000 / (self.customers * days):.2f}" if days else "-"

        lines = [
            "",
            f"| rule | alerts | true | precision | false per 1,000 customers per day, "
            f"first {GO_LIVE_DAYS} days | after |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for rule, (true, total) in self.alerts_by_rule.items():
            early, late = self.false_alerts_by_period.get(rule, (0, 0))
            lines.append(
                f"| {rule} | {total} | {true} | {true / total:.0%} "
                f"| {rate(early, first_days)} | {rate(late, after_days)} |"
            )
        return [*lines, ""]


def _variants(figures: PatternFigures) -> str:
    """`; near_usual 4/4, blatant 3/3` when the pattern came in more than one form."""
    if len(figures.by_variant) < 2:
        return ""
    forms = ", ".join(
        f"{variant or 'blatant'} {caught}/{injected}"
        for variant, (injected, caught) in sorted(figures.by_variant.items())
    )
    return f"; {forms}"


@dataclass(frozen=True, slots=True)
class PushTimes:
    """What the simulator sent and when (epoch seconds), to tie alerts to what caused them."""

    transaction_ids: Mapping[str, str]  # external id -> the service's transaction id
    transaction_posted_at: Mapping[str, float]  # service transaction id -> batch accepted
    record_posted_at: Mapping[str, float]  # external id of a record -> accepted


def alert_catches(alert: AlertSeen, label: Label, times: PushTimes) -> bool:
    """An alert of the pattern's type on what the pattern did: one of its transactions, or
    (patterns of records) raised once its first record was in."""
    if alert.rule_type != PATTERN_RULE_TYPE[label.pattern]:
        return False
    if alert.rule_type == "transaction_anomaly":
        ids = {times.transaction_ids.get(external) for external in label.transaction_external_ids}
        return alert.transaction_id is not None and alert.transaction_id in ids
    posted = [
        times.record_posted_at[r] for r in label.record_external_ids if r in times.record_posted_at
    ]
    return bool(posted) and alert.raised_at.timestamp() >= min(posted) - 1.0


def lead_days(alerts: Sequence[AlertSeen], label: Label) -> float | None:
    """Days from the earliest of the alerts (by event time) to the label's outcome."""
    if label.outcome_at is None:
        return None
    moments = [alert.happened_at for alert in alerts if alert.happened_at is not None]
    if not moments:
        return None
    return (label.outcome_at - min(moments)).total_seconds() / 86_400


def trigger_time(alert: AlertSeen, label: Label, times: PushTimes) -> float | None:
    """When the simulator sent what raised the alert: its transaction, else the label's
    latest record sent before it."""
    if alert.transaction_id is not None and alert.transaction_id in times.transaction_posted_at:
        return times.transaction_posted_at[alert.transaction_id]
    raised = alert.raised_at.timestamp()
    before = [
        times.record_posted_at[r]
        for r in label.record_external_ids
        if r in times.record_posted_at and times.record_posted_at[r] <= raised + 1.0
    ]
    return max(before) if before else None


def build_report(
    *,
    labels: Iterable[Label],
    customer_ids: Mapping[str, str],
    alerts_by_customer: Mapping[str, list[AlertSeen]],
    times: PushTimes,
    notified_at: Mapping[str, float],
    risk_scores: Mapping[str, Mapping[str, float]],
    base: SimulationReport,
) -> SimulationReport:
    """Match alerts to labels; every alert no label explains is a false alert.

    customer_ids: external id -> service id; notified_at: alert id -> epoch seconds of its
    first accepted notification; risk_scores: service customer id -> {kind: score}.
    """
    labels = list(labels)
    by_pattern: dict[Pattern, list[Label]] = defaultdict(list)
    for label in labels:
        by_pattern[label.pattern].append(label)
    explained: set[str] = set()
    for pattern in PATTERNS:
        caught, to_alert, to_notification, leads = 0, [], [], []
        caught_by: Counter[str] = Counter()
        variants: dict[str, tuple[int, int]] = {}
        for label in by_pattern.get(pattern, []):
            customer_id = customer_ids.get(label.customer_external_id, "")
            matching = [
                alert
                for alert in alerts_by_customer.get(customer_id, [])
                if alert_catches(alert, label, times)
            ]
            explained.update(alert.alert_id for alert in matching)
            injected_so_far, caught_so_far = variants.get(label.variant, (0, 0))
            variants[label.variant] = (injected_so_far + 1, caught_so_far + bool(matching))
            if not matching:
                continue
            caught += 1
            first = min(matching, key=lambda alert: alert.raised_at)
            caught_by[first.rule_name] += 1
            lead = lead_days(matching, label)
            if lead is not None:
                leads.append(lead)
            raised = first.raised_at.timestamp()
            trigger = trigger_time(first, label, times)
            if trigger is not None:
                to_alert.append(max(raised - trigger, 0.0))
            if first.alert_id in notified_at:
                to_notification.append(max(notified_at[first.alert_id] - raised, 0.0))
        injected = len(by_pattern.get(pattern, []))
        base.patterns.append(
            PatternFigures(pattern, injected, caught, to_alert, to_notification,
                           dict(caught_by.most_common()), leads, variants)
        )  # fmt: skip
    every_alert = [alert for alerts in alerts_by_customer.values() for alert in alerts]
    base.total_alerts = len(every_alert)
    false = [alert for alert in every_alert if alert.alert_id not in explained]
    base.false_alerts = len(false)
    base.false_alerts_by_rule = dict(Counter(alert.rule_name for alert in false).most_common())
    base.false_alerts_by_period = _by_period(false, base.start)
    totals = Counter(alert.rule_name for alert in every_alert)
    trues = Counter(alert.rule_name for alert in every_alert if alert.alert_id in explained)
    base.alerts_by_rule = {rule: (trues[rule], total) for rule, total in totals.most_common()}
    external = {customer_id: external_id for external_id, customer_id in customer_ids.items()}
    base.alerts = sorted(
        (
            (
                external.get(alert.customer_id or "", ""),
                alert.rule_type,
                alert.rule_name,
                alert.happened_at,
            )
            for alert in every_alert
        ),
        key=lambda seen: (*seen[:3], seen[3].timestamp() if seen[3] else 0.0),
    )
    base.auc = model_auc(labels, customer_ids, risk_scores)
    return base


def _by_period(alerts: Iterable[AlertSeen], start: datetime | None) -> dict[str, tuple[int, int]]:
    """rule name -> (alerts whose event happened in the go-live month, after), most first."""
    if start is None:
        return {}
    go_live_end = start + timedelta(days=GO_LIVE_DAYS)
    early: Counter[str] = Counter()
    late: Counter[str] = Counter()
    for alert in alerts:
        moment = alert.happened_at or alert.raised_at
        (early if moment < go_live_end else late)[alert.rule_name] += 1
    rules = sorted(set(early) | set(late), key=lambda rule: -(early[rule] + late[rule]))
    return {rule: (early[rule], late[rule]) for rule in rules}


def model_auc(
    labels: Iterable[Label],
    customer_ids: Mapping[str, str],
    risk_scores: Mapping[str, Mapping[str, float]],
) -> dict[str, float | None]:
    """Per model kind: positives are the customers whose injected pattern that model targets."""
    positives: dict[LabelKind, set[str]] = defaultdict(set)
    for label in labels:
        positives[label.kind].add(label.customer_external_id)
    result: dict[str, float | None] = {}
    for kind in LABEL_KINDS:
        scores, truth = [], []
        for external_id, customer_id in customer_ids.items():
            score = risk_scores.get(customer_id, {}).get(kind)
            if score is not None:
                scores.append(float(score))
                truth.append(1 if external_id in positives[kind] else 0)
        result[kind] = auc(scores, truth)
    return result
