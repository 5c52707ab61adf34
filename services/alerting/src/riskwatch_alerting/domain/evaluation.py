"""Evaluating the active rules on one event (pure: shared by live consumption and backtests).

`Evaluator.process` updates the sliding windows with a transaction, evaluates every rule
whose trigger types include the event's type, and decides for each hit whether it raises a
new alert or adds an occurrence to the open alert of the same (rule, dedup value): a repeat
inside the rule's cooldown (counted from the open alert's first occurrence) is an occurrence.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from riskwatch_alerting.domain.evaluation_input import EvaluationInput
from riskwatch_alerting.domain.rollout import Cohort, customer_bucket
from riskwatch_alerting.rules import AggregateSpec, CompiledRule, RuleContext, compile_rule
from riskwatch_alerting.rules.fields import FIELD_CATALOGUE
from riskwatch_alerting.rules.windows import GroupKey, WindowStore, group_keys

# Dedup key parts other than catalogue paths.
DEDUP_BUILTINS = ("customer_id", "event_id", "transaction_id", "rule")

DEFAULT_SUGGESTED_ACTIONS: dict[str, tuple[str, ...]] = {
    "transaction_anomaly": (
        "Review the transaction and the customer's recent activity",
        "Contact the customer to confirm the payment",
        "Hold or block further payments if the customer cannot confirm",
    ),
    "credit_risk": (
        "Review the customer's credit file and repayment capacity",
        "Contact the customer about a repayment plan",
        "Consider reducing the credit limit",
    ),
    "churn": (
        "Ask the relationship manager to contact the customer",
        "Review pricing and offers for the customer's segment",
    ),
    "custom": ("Review the alert's evidence",),
}


class InvalidDedupKey(ValueError):
    pass


def validate_dedup_key(dedup_key: str) -> None:
    """`customer_id:txn.counterparty_account`: builtins or catalogue paths joined by ':'."""
    parts = [part.strip() for part in dedup_key.split(":")]
    for part in parts:
        if part not in DEDUP_BUILTINS and part not in FIELD_CATALOGUE:
            raise InvalidDedupKey(
                f"unknown dedup key part {part!r}; use {', '.join(DEDUP_BUILTINS)} or a field"
            )


def dedup_value(dedup_key: str, rule_id: uuid.UUID, item: EvaluationInput) -> str:
    rendered = []
    for part in (part.strip() for part in dedup_key.split(":")):
        if part == "customer_id":
            value: object = item.customer_id
        elif part == "event_id":
            value = item.event_id
        elif part == "transaction_id":
            value = item.transaction_id
        elif part == "rule":
            value = rule_id
        else:
            namespace, name = part.split(".", 1)
            value = item.namespaces.get(namespace, {}).get(name)
        rendered.append(f"{part}={'' if value is None else value}")
    return "|".join(rendered)[:400]


@dataclass(frozen=True)
class ActiveRule:
    """One rule version ready to evaluate."""

    id: uuid.UUID
    version: int
    name: str
    rule_type: str
    severity: str
    trigger_event_types: tuple[str, ...]
    dedup_key: str
    cooldown_seconds: int
    suggested_actions: tuple[str, ...]
    compiled: CompiledRule
    # Its words: the template it came from (its message), or a user's own title and summary.
    template_key: str | None = None
    title_template: str | None = None
    summary_template: str | None = None
    # In a percentage rollout: the customers this version evaluates for (None: all of them).
    cohort: Cohort | None = None

    @classmethod
    def build(
        cls,
        *,
        id: uuid.UUID,
        version: int,
        name: str,
        rule_type: str,
        severity: str,
        trigger_event_types: Sequence[str],
        condition: str,
        dedup_key: str,
        cooldown_seconds: int,
        suggested_actions: Sequence[str] = (),
        template_key: str | None = None,
        title_template: str | None = None,
        summary_template: str | None = None,
    ) -> ActiveRule:
        actions = tuple(suggested_actions) or DEFAULT_SUGGESTED_ACTIONS.get(rule_type, ())
        return cls(
            id=id,
            version=version,
            name=name,
            rule_type=rule_type,
            severity=severity,
            trigger_event_types=tuple(trigger_event_types),
            dedup_key=dedup_key,
            cooldown_seconds=cooldown_seconds,
            suggested_actions=actions,
            compiled=compile_rule(condition),
            template_key=template_key,
            title_template=title_template,
            summary_template=summary_template,
        )


class RuleSet:
    """The active rules, indexed by trigger event type, with the aggregates they read."""

    def __init__(self, rules: Iterable[ActiveRule], lists: Mapping[str, frozenset[str]]) -> None:
        self.rules = tuple(rules)
        self.lists = dict(lists)
        self.by_trigger: dict[str, list[ActiveRule]] = {}
        for rule in self.rules:
            for event_type in rule.trigger_event_types:
                self.by_trigger.setdefault(event_type, []).append(rule)
        # Any rule in a percentage rollout: only then does evaluation look at cohorts.
        self.has_cohorts = any(rule.cohort is not None for rule in self.rules)
        specs = (spec for rule in self.rules for spec in rule.compiled.aggregates)
        self.specs: tuple[AggregateSpec, ...] = tuple(dict.fromkeys(specs))
        self.group_bys = frozenset(spec.by for spec in self.specs)


@dataclass
class OpenAlert:
    """What dedup needs of an open alert."""

    alert_id: uuid.UUID
    first_seen_at: datetime
    occurrences: int = 1
    status: str = "new"
    severity: str | None = None


@dataclass
class Match:
    """A rule whose condition held on an event, with its evidence and dedup value."""

    rule: ActiveRule
    item: EvaluationInput
    evidence: dict[str, Any]
    dedup_value: str

    @property
    def dedup_pair(self) -> tuple[uuid.UUID, str]:
        return (self.rule.id, self.dedup_value)


@dataclass
class Hit:
    """A match placed: a new alert (closing `replaced_alert_id` if its cooldown ran out) or
    one more occurrence of the open alert `alert_id`."""

    match: Match
    alert_id: uuid.UUID
    is_new_alert: bool
    replaced_alert_id: uuid.UUID | None = None


def group_keys_of(item: EvaluationInput, group_bys: frozenset[str]) -> list[GroupKey]:
    """The window groups an event reads or updates (only the `by`s the rules use)."""
    return [key for key in _read_keys(item) if key.by in group_bys]


def _read_keys(item: EvaluationInput) -> list[GroupKey]:
    """The groups of the event's txn fields, the event's customer when txn names none."""
    keys = item.cached_group_keys
    if keys is None:
        keys = group_keys(_group_lookup(item))
        item.cached_group_keys = keys
    return keys


def _group_lookup(item: EvaluationInput) -> Mapping[str, Any]:
    txn = item.txn
    if "customer_id" in txn or item.customer_id is None:
        return txn
    return {**txn, "customer_id": str(item.customer_id)}


@dataclass
class Evaluator:
    """Windows + rules; the caller loads and stores the window state around it."""

    rule_set: RuleSet
    windows: WindowStore

    def process(self, item: EvaluationInput) -> list[Match]:
        """Record a transaction in the windows, then evaluate the rules it triggers."""
        if item.is_transaction:
            txn = item.txn
            # txn names the customer for a transaction, so its keys are the ones rules read.
            keys = _read_keys(item) if "customer_id" in txn else None
            self.windows.observe(txn, item.occurred_at, keys)
        return self.evaluate(item)

    def evaluate(self, item: EvaluationInput) -> list[Match]:
        """Evaluate the rules `item` triggers on the windows as they are (a shadow rule set
        reads the windows the live evaluator has just updated with `item`)."""
        rules = self.rule_set.by_trigger.get(item.event_type)
        if rules and self.rule_set.has_cohorts:
            rules = _in_cohort(rules, item)
        if not rules:
            return []
        context = self._context(item)
        return [
            Match(
                rule,
                item,
                rule.compiled.evidence(context),
                dedup_value(rule.dedup_key, rule.id, item),
            )
            for rule in rules
            if rule.compiled.evaluate(context)
        ]

    def _context(self, item: EvaluationInput) -> RuleContext:
        aggregates: Mapping[AggregateSpec, object] = {}
        if self.rule_set.specs:
            aggregates = self.windows.lazy_values_for(item.txn, item.occurred_at, _read_keys(item))
        namespaces = item.namespaces
        return RuleContext(
            txn=namespaces.get("txn", {}),
            customer=namespaces.get("customer", {}),
            risk=namespaces.get("risk", {}),
            score=namespaces.get("score", {}),
            event=namespaces.get("event", {}),
            lists=self.rule_set.lists,
            aggregates=aggregates,
        )


def _in_cohort(rules: Sequence[ActiveRule], item: EvaluationInput) -> list[ActiveRule]:
    """The rules that evaluate for the event's customer (a rule in rollout: one version)."""
    bucket = None if item.customer_id is None else customer_bucket(item.customer_id)
    return [rule for rule in rules if rule.cohort is None or rule.cohort.includes(bucket)]


@dataclass
class Deduplicator:
    """Places matches in order against the open alerts per (rule id, dedup value)."""

    open_alerts: MutableMapping[tuple[uuid.UUID, str], OpenAlert] = field(default_factory=dict)

    def place(self, match: Match) -> Hit:
        open_alert = self.open_alerts.get(match.dedup_pair)
        at = match.item.occurred_at
        cooldown = timedelta(seconds=match.rule.cooldown_seconds)
        if open_alert is not None and at < open_alert.first_seen_at + cooldown:
            open_alert.occurrences += 1
            return Hit(match, open_alert.alert_id, is_new_alert=False)
        alert_id = uuid.uuid4()
        self.open_alerts[match.dedup_pair] = OpenAlert(alert_id, at)
        replaced = None if open_alert is None else open_alert.alert_id
        return Hit(match, alert_id, is_new_alert=True, replaced_alert_id=replaced)
