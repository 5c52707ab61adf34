"""Credit early warning on the event path: evaluate the catalogue for the customers a batch
touched, remember each indicator's level, raise an AMBER as an early-warning alert (through
the batch's own alert writing: dedup, cases, events) and put a customer whose indicator turns
RED on the watch list (idempotent: a later red updates the entry).

Every time is event time (the trigger's `happened_at`): a replayed bank warns on the same
days as it did live. Segment baselines are recomputed from the portfolio when older than
`baseline_seconds` (and on `POST /v1/warnings/baselines`).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.domain.evaluation import ActiveRule, Match
from riskwatch_alerting.domain.evaluation_input import EvaluationInput, reason_sentence
from riskwatch_alerting.warning import baselines as baseline_math
from riskwatch_alerting.warning import store
from riskwatch_alerting.warning.catalogue import (
    CATALOGUE,
    INDICATORS,
    Baselines,
    Indicator,
    IndicatorState,
    Signal,
    Transition,
    evaluate,
    transition,
)
from riskwatch_shared.events.common import Reason
from riskwatch_shared.logging import get_logger

log = get_logger(__name__)

WARNING_RULE_ID = uuid.UUID("6f1d2c3b-4a59-4e68-9d7c-0e0a11e2a001")
WARNING_TEMPLATE_KEY = "credit_early_warning"
SYSTEM_ACTOR = "system:early-warning"
# The events after which a customer's credit picture may have moved.
_WARNING_EVENTS = frozenset(
    {
        "scoring.customer_assessed.v1",
        "scoring.transaction_scored.v1",
        "customer.credit_record_added.v1",
        "customer.financial_profile_updated.v1",
    }
)
_TRANSACTION_EVENT = "scoring.transaction_scored.v1"


def warning_rule_values(now: datetime) -> dict[str, Any]:
    return {
        "id": WARNING_RULE_ID,
        "version": 1,
        "name": "Credit early warning",
        "rule_type": "credit_risk",
        "severity": "medium",
        "status": "active",
        "trigger_event_types": [],
        # Raised by the indicator catalogue, never by a condition.
        "condition": "false",
        "dedup_key": "customer_id",
        "cooldown_seconds": 30 * 86_400,
        "owner_team": None,
        "description": (
            "An early-warning indicator of the credit catalogue (GET /v1/warnings/catalogue) "
            "at AMBER. A RED puts the customer on the watch list. Disable this rule to keep "
            "the indicators and the watch list without the amber alerts."
        ),
        "suggested_actions": [],
        "template_key": WARNING_TEMPLATE_KEY,
        "title_template": None,
        "summary_template": None,
        "pending_version": None,
        "created_at": now,
        "created_by": SYSTEM_ACTOR,
        "updated_at": now,
        "updated_by": SYSTEM_ACTOR,
    }


@dataclass(frozen=True, slots=True)
class Moved:
    """One indicator of one customer that changed level, with the input it changed on."""

    customer_id: uuid.UUID
    indicator: str
    item: EvaluationInput
    transition: Transition
    signal: Signal | None


@dataclass
class WarningOutcome:
    matches: list[Match] = field(default_factory=list)
    red: list[Moved] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)


def _candidates(inputs: Sequence[EvaluationInput]) -> list[EvaluationInput]:
    """The inputs to evaluate on, in order: every non-transaction trigger, and each
    customer's last transaction of the batch (a transaction moves inflows, a day at a time)."""
    last_txn: dict[uuid.UUID, int] = {}
    for index, item in enumerate(inputs):
        if item.customer_id is not None and item.event_type == _TRANSACTION_EVENT:
            last_txn[item.customer_id] = index
    keep = set(last_txn.values())
    return [
        item
        for index, item in enumerate(inputs)
        if item.customer_id is not None
        and item.event_type in _WARNING_EVENTS
        and (item.event_type != _TRANSACTION_EVENT or index in keep)
    ]


def evaluate_inputs(
    inputs: Sequence[EvaluationInput],
    states: dict[tuple[uuid.UUID, str], IndicatorState],
    baselines: Baselines | None,
) -> list[Moved]:
    """Pure: the indicators that changed level over the batch, in order; `states` is updated."""
    moved = []
    for item in _candidates(inputs):
        customer_id = item.customer_id
        assert customer_id is not None
        features = item.namespaces.get("customer", {})
        segment = features.get("segment")
        signals = evaluate(
            features,
            baselines,
            segment if isinstance(segment, str) else baseline_math.UNSEGMENTED,
        )
        at = item.happened_at
        for indicator in CATALOGUE:
            key = (customer_id, indicator.key)
            previous = states.get(key)
            signal = signals.get(indicator.key)
            if signal is None and (previous is None or previous.level is None):
                continue
            step = transition(previous, signal, at)
            if step.change == "unchanged" and previous is not None:
                # Same level since the same time: keep the latest values.
                if step.state != previous:
                    states[key] = step.state
                continue
            states[key] = step.state
            moved.append(Moved(customer_id, indicator.key, item, step, signal))
    return moved


def warning_reason(indicator: Indicator, signal: Signal) -> Reason:
    """The warning as the alert's reason: the indicator, its level and every trigger that
    held, in words, with the indicator's first required action as the advice."""
    triggers = "; ".join(hit.sentence() for hit in signal.hits)
    return Reason(
        code=f"warning.{indicator.key}",
        message=f"{indicator.name} ({signal.level}): {triggers}",
        value=signal.level,
        params={"indicator": indicator.key, "level": signal.level},
        advice=indicator.required_actions[0] if indicator.required_actions else None,
    )


def _warning_item(moved: Moved, indicator_name: str) -> EvaluationInput:
    """The trigger input with the warning's words (indicator, level, since, evidence) and the
    warning as its reason (the trigger event's own reasons, if any, after it)."""
    signal = moved.signal
    assert signal is not None
    assert moved.transition.state.since is not None
    reason = warning_reason(INDICATORS[signal.indicator], signal)
    others = tuple(r for r in moved.item.source_reasons if r.code != reason.code)
    said = reason_sentence(reason)
    warning = {
        "indicator": indicator_name,
        "indicator_key": signal.indicator,
        "level": signal.level,
        "since": moved.transition.state.since.isoformat(),
        "evidence": signal.describe(),
    }
    return dataclasses.replace(
        moved.item,
        namespaces={**moved.item.namespaces, "warning": warning},
        reasons=[said, *(r for r in moved.item.reasons if r != said)],
        source_reasons=(reason, *others),
        cached_group_keys=None,
    )


def amber_match(moved: Moved, rule: ActiveRule) -> Match:
    signal = moved.signal
    assert signal is not None
    indicator = INDICATORS[signal.indicator]
    state = moved.transition.state
    evidence = {
        "indicator": indicator.key,
        "indicator_name": indicator.name,
        "level": signal.level,
        "since": None if state.since is None else state.since.isoformat(),
        "first_amber_at": None
        if state.first_amber_at is None
        else state.first_amber_at.isoformat(),
        "triggers": [hit.as_evidence() for hit in signal.hits],
        "explanation": signal.describe(),
        "required_actions": list(indicator.required_actions),
    }
    return Match(
        rule,
        _warning_item(moved, indicator.name),
        evidence,
        f"customer_id={moved.customer_id}|indicator={indicator.key}",
    )


class WarningEngine:
    """Per service process: the baselines' cache and the warning rule's id check."""

    def __init__(self, *, baseline_seconds: float = 600.0) -> None:
        self.baseline_seconds = baseline_seconds
        self.baselines: dict[str, dict[str, Any]] = {}
        self.loaded_at: datetime | None = None
        self.rule_created = False

    async def current_baselines(self, session: AsyncSession, now: datetime) -> Baselines:
        """The stored baselines, re-read when older than `baseline_seconds`. The periodic job
        (`refresh_stale_baselines`) recomputes them; the event path computes them itself only
        on a fresh install that has none yet, never the recurring portfolio scan."""
        if self.loaded_at is None or now - self.loaded_at > timedelta(
            seconds=self.baseline_seconds
        ):
            table, computed = await store.load_baselines(session)
            if computed is None:
                table = await refresh_baselines(session, now)
            self.baselines, self.loaded_at = table, now
        return self.baselines

    async def process(
        self,
        session: AsyncSession,
        inputs: Sequence[EvaluationInput],
        rules: Sequence[ActiveRule],
    ) -> WarningOutcome:
        """Evaluate, store the moves; the amber alerts' matches and the reds to put on the
        watch list (the caller writes both in the same transaction)."""
        candidates = _candidates(inputs)
        if not candidates:
            return WarningOutcome()
        now = datetime.now(UTC)
        table = await self.current_baselines(session, now)
        customer_ids = {item.customer_id for item in candidates if item.customer_id}
        states = await store.load_states(session, customer_ids)
        before = dict(states)
        moved = evaluate_inputs(candidates, states, table)
        writes = [
            store.StateWrite(cid, indicator, state, _segment_of(inputs, cid))
            for (cid, indicator), state in states.items()
            if before.get((cid, indicator)) != state
        ]
        await store.write_states(session, writes, now)
        await store.add_movements(
            session,
            [
                {
                    "customer_id": m.customer_id,
                    "indicator": m.indicator,
                    "change": m.transition.change,
                    "from_level": m.transition.previous_level,
                    "to_level": m.transition.state.level,
                    "at": m.item.happened_at,
                    "detail": list(m.transition.state.detail),
                }
                for m in moved
            ],
        )
        outcome = WarningOutcome(moved=moved)
        # A new amber (raised at amber, not an eased red) is an early-warning alert.
        ambers = [
            m
            for m in moved
            if m.transition.state.level == "amber" and m.transition.change == "raised"
        ]
        outcome.red = [
            m
            for m in moved
            if m.transition.state.level == "red" and m.transition.change in ("raised", "escalated")
        ]
        if ambers:
            rule = await self._rule(session, rules, now)
            if rule is not None:
                outcome.matches = [amber_match(m, rule) for m in ambers]
        return outcome

    async def _rule(
        self, session: AsyncSession, rules: Sequence[ActiveRule], now: datetime
    ) -> ActiveRule | None:
        """The warning rule while active (created on the first amber); None when disabled."""
        for rule in rules:
            if rule.id == WARNING_RULE_ID:
                return rule
        stored = await store.get_rule(session, WARNING_RULE_ID)
        if stored is None:
            await store.create_warning_rule(session, warning_rule_values(now))
            stored = await store.get_rule(session, WARNING_RULE_ID)
        if stored is None or stored.status != "active":
            return None
        return ActiveRule.build(
            id=stored.id,
            version=stored.version,
            name=stored.name,
            rule_type=stored.rule_type,
            severity=stored.severity,
            trigger_event_types=(),
            condition=stored.condition,
            dedup_key=stored.dedup_key,
            cooldown_seconds=stored.cooldown_seconds,
            suggested_actions=stored.suggested_actions,
            template_key=stored.template_key,
            title_template=stored.title_template,
            summary_template=stored.summary_template,
        )


def _segment_of(inputs: Sequence[EvaluationInput], customer_id: uuid.UUID) -> str | None:
    for item in reversed(inputs):
        if item.customer_id == customer_id:
            segment = item.namespaces.get("customer", {}).get("segment")
            return segment if isinstance(segment, str) else None
    return None


async def refresh_stale_baselines(
    session: AsyncSession, now: datetime, max_age_seconds: float
) -> bool:
    """Recompute the segment baselines when they are older than `max_age_seconds` (or
    missing): the periodic job's pass. True when it recomputed them."""
    _, computed = await store.load_baselines(session)
    if computed is not None and now - computed <= timedelta(seconds=max_age_seconds):
        return False
    await refresh_baselines(session, now)
    return True


async def refresh_baselines(session: AsyncSession, now: datetime) -> dict[str, dict[str, Any]]:
    """Recompute every segment's baselines from the portfolio and store them."""
    table = baseline_math.compute(await store.portfolio_features(session))
    await store.replace_baselines(session, table, now)
    log.info("warning.baselines_refreshed", segments=len(table))
    return dict(table)


def baselines_out(table: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return baseline_math.to_json(table)
