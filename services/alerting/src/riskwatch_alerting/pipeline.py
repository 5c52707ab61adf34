"""The event path: one fetched batch of events -> windows, rule evaluation, alerts, outbox.

Per batch, in the consumer's one transaction: check the rule cache's version, load the
customers' snapshots, the window groups and the open alerts the batch touches (one query
each), evaluate in memory in stream order, then write everything back in bulk.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting import repository
from riskwatch_alerting.cases import service as cases
from riskwatch_alerting.cases import store as case_store
from riskwatch_alerting.domain.evaluation import (
    ActiveRule,
    Deduplicator,
    Evaluator,
    Hit,
    Match,
    RuleSet,
    group_keys_of,
)
from riskwatch_alerting.domain.evaluation_input import (
    CustomerSnapshot,
    EvaluationInput,
    apply_event,
    build_input,
    compact_namespace,
    json_bytes,
    namespaces_from_json,
    to_json,
)
from riskwatch_alerting.domain.lifecycle import SLA_BY_SEVERITY
from riskwatch_alerting.domain.rollout import Cohort
from riskwatch_alerting.domain.shadow import ShadowSet, version_rule
from riskwatch_alerting.domain.suppression import SuppressionIndex
from riskwatch_alerting.domain.words import alert_words, message_params
from riskwatch_alerting.health import metrics as health_metrics
from riskwatch_alerting.models import Rule
from riskwatch_alerting.rules import RuleError
from riskwatch_alerting.rules.windows import GroupKey, WindowStore
from riskwatch_alerting.shadow import store as shadow_store
from riskwatch_alerting.warning.catalogue import INDICATORS
from riskwatch_alerting.warning.service import Moved, WarningEngine
from riskwatch_alerting.watchlist import service as watchlist
from riskwatch_shared.events.alerting import AlertRaised, AlertUpdated
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.common import Reason
from riskwatch_shared.events.customer import CustomerCreated, CustomerUpdated
from riskwatch_shared.events.scoring import TransactionScored, TransactionScoredV2
from riskwatch_shared.logging import get_logger
from riskwatch_shared.messaging.outbox import add_events

log = get_logger(__name__)
MAX_REASONS = 50


def active_rule_of(rule: Rule) -> ActiveRule:
    return ActiveRule.build(
        id=rule.id,
        version=rule.version,
        name=rule.name,
        rule_type=rule.rule_type,
        severity=rule.severity,
        trigger_event_types=rule.trigger_event_types,
        condition=rule.condition,
        dedup_key=rule.dedup_key,
        cooldown_seconds=rule.cooldown_seconds,
        suggested_actions=rule.suggested_actions,
        template_key=rule.template_key,
        title_template=rule.title_template,
        summary_template=rule.summary_template,
    )


async def _versions_of(session: AsyncSession, rule: Rule) -> list[ActiveRule]:
    """The rule ready to evaluate; in a percentage rollout, its live version for the customers
    outside the rollout's share and the rollout version for those inside (the live one first)."""
    live = active_rule_of(rule)
    percent, version = rule.rollout_percent, rule.rollout_version
    if percent is None or version is None:
        return [live]
    found = await repository.get_version(session, rule.id, version)
    if found is None:
        return [live]
    rollout = version_rule(rule.id, version, found.snapshot)
    return [
        replace(live, cohort=Cohort(percent, new_version=False)),
        replace(rollout, cohort=Cohort(percent, new_version=True)),
    ]


class RuleCache:
    """Compiled active rules and managed lists, reloaded when their version counters move."""

    def __init__(self) -> None:
        self.versions: tuple[int, int] | None = None
        self.rule_set = RuleSet([], {})
        # Proposed versions running in shadow (None: none, the event path's common case), and
        # the rules whose windows the batch keeps: the active ones and the shadows'.
        self.shadow: ShadowSet | None = None
        self.window_set = self.rule_set
        self.reloads = 0
        # Active suppressions, reloaded on their own counter (and when one may have expired).
        self.suppressions = SuppressionIndex()
        self.suppressions_version: int | None = None
        self.suppressions_expire: datetime | None = None

    async def current(self, session: AsyncSession) -> RuleSet:
        *versions, suppressions = await repository.cache_versions(session)
        if tuple(versions) != self.versions:
            self.rule_set = await self._load(session)
            self.shadow = await self._load_shadow(session, self.rule_set.lists)
            self.window_set = self.rule_set
            if self.shadow is not None:
                rules = (*self.rule_set.rules, *self.shadow.rule_set.rules)
                self.window_set = RuleSet(rules, self.rule_set.lists)
            self.versions = (versions[0], versions[1])
            self.reloads += 1
        now = datetime.now(UTC)
        expired = self.suppressions_expire is not None and self.suppressions_expire <= now
        if suppressions != self.suppressions_version or expired:
            active = await case_store.active_suppressions(session, now)
            self.suppressions = SuppressionIndex(active)
            self.suppressions_expire = min((s.until for s in active), default=None)
            self.suppressions_version = suppressions
        return self.rule_set

    @staticmethod
    async def _load(session: AsyncSession) -> RuleSet:
        compiled = []
        for rule in await repository.active_rules(session):
            try:
                compiled.extend(await _versions_of(session, rule))
            except RuleError as exc:  # checked when saved; only a catalogue change gets here
                log.error("rule.compile_failed", rule_id=str(rule.id), error=str(exc))
        return RuleSet(compiled, await repository.all_list_values(session))

    @staticmethod
    async def _load_shadow(
        session: AsyncSession, lists: Mapping[str, frozenset[str]]
    ) -> ShadowSet | None:
        runs = []
        for run_id, rule_id, version, snapshot in await shadow_store.running_versions(session):
            try:
                runs.append((run_id, version_rule(rule_id, version, snapshot)))
            except RuleError as exc:
                log.error("shadow.compile_failed", run_id=str(run_id), error=str(exc))
        return ShadowSet(runs, lists) if runs else None


@dataclass
class BatchOutcome:
    evaluated: int = 0
    raised: list[uuid.UUID] = field(default_factory=list)
    occurrences: int = 0


class AlertPipeline:
    def __init__(
        self,
        *,
        public_url: str | None = None,
        case_policy: Mapping[str, str] | None = None,
        warning_baseline_seconds: float = 600.0,
        warning_owner: str = "risk-department",
    ) -> None:
        self.cache = RuleCache()
        # Credit early warning: the indicator catalogue on the same batch (ambers join the
        # matches; reds enter the watch list, owned by the RM else `warning_owner`).
        self.warnings = WarningEngine(baseline_seconds=warning_baseline_seconds)
        self.warning_owner = warning_owner
        self.public_url = public_url
        # Per rule type, `grouped` (the customer's open case) or `separate` (a case each).
        self.case_policy = dict(case_policy or {})
        self.suppressed = 0

    async def handle_batch(self, events: Sequence[Event], session: AsyncSession) -> BatchOutcome:
        rule_set = await self.cache.current(session)
        window_set, shadow = self.cache.window_set, self.cache.shadow
        customer_ids = {e.customer_id for e in events if e.customer_id is not None}
        await repository.lock_keys(session, _lock_names(events, window_set.group_bys))
        await self._update_directory(session, events)
        stored = await repository.load_customer_states(session, customer_ids)
        snapshots = {
            cid: CustomerSnapshot(
                namespaces_from_json({"customer": s.features})["customer"],
                dict(s.levels),
                dict(s.scores),
                s.sequence,
            )
            for cid, s in stored.items()
        }
        for event in events:  # the segment comes with the customer's own events
            if isinstance(event, CustomerCreated | CustomerUpdated) and event.customer.segment:
                snapshot = snapshots.setdefault(event.customer_id, CustomerSnapshot())
                snapshot.features["segment"] = event.customer.segment
        inputs = self._inputs(events, snapshots)
        windows, touched = await self._windows(session, window_set, inputs)
        evaluator = Evaluator(rule_set, windows)
        shadow_matches: list[Match] = []
        if shadow is None:
            matches = [match for item in inputs for match in evaluator.process(item)]
        else:
            matches = self._with_shadow(
                evaluator, Evaluator(shadow.rule_set, windows), inputs, shadow_matches
            )
        warned = await self.warnings.process(session, inputs, rule_set.rules)
        matches.extend(warned.matches)
        await self._watch_reds(session, warned.red)
        if self.cache.suppressions:
            matches = self._unsuppressed(matches)
        open_alerts = await repository.load_open_alerts(session, (m.dedup_pair for m in matches))
        deduplicator = Deduplicator(open_alerts)
        hits = [deduplicator.place(match) for match in matches]
        health_metrics.count_hits(hits)
        statuses = {a.alert_id: a.status for a in deduplicator.open_alerts.values()}
        severities = {a.alert_id: a.severity for a in deduplicator.open_alerts.values()}
        writes = repository.BatchWrites(
            history=[_history_row(item) for item in inputs],
            windows=[
                repository.WindowRow(key.by, key.value, json_bytes(windows.key_state(key)))
                for key in touched
            ],
            states=_state_rows(snapshots, stored),
        )
        await self._write_alerts(session, hits, statuses, writes, severities)
        await repository.write_batch(session, writes)
        if shadow_matches and shadow is not None:
            await shadow_store.record_hits(session, _shadow_rows(shadow, shadow_matches))
        if writes.alerts:
            await cases.attach_new_alerts(
                session,
                [row._asdict() for row in writes.alerts],
                writes.alerts[0].raised_at,
                self.case_policy,
            )
        raised = [hit.alert_id for hit in hits if hit.is_new_alert]
        return BatchOutcome(len(inputs), raised, len(hits) - len(raised))

    @staticmethod
    def _with_shadow(
        live: Evaluator, shadow: Evaluator, inputs: Sequence[EvaluationInput], out: list[Match]
    ) -> list[Match]:
        """The live matches; the shadow versions' go to `out`. Each shadow evaluates an event
        on the windows just as the live rules saw them (the event recorded, the next not yet)
        and never reaches dedup, alerts or the outbox."""
        matches = []
        for item in inputs:
            matches.extend(live.process(item))
            out.extend(shadow.evaluate(item))
        return matches

    async def _watch_reds(self, session: AsyncSession, reds: Sequence[Moved]) -> None:
        """Each RED indicator puts its customer on the watch list (or updates the entry)."""
        now = datetime.now(UTC)
        for moved in reds:
            signal, state = moved.signal, moved.transition.state
            if signal is None or state.since is None:
                continue
            indicator = INDICATORS[moved.indicator]
            await watchlist.enter_from_warning(
                session,
                customer_id=moved.customer_id,
                indicator_key=indicator.key,
                indicator_name=indicator.name,
                explanation=signal.describe(),
                since=state.since,
                required_actions=indicator.required_actions,
                exit_criteria=indicator.exit_criteria,
                owner=self.warning_owner,
                now=now,
            )

    def _unsuppressed(self, matches: list[Match]) -> list[Match]:
        """The matches whose rule is not snoozed for the event's customer, account or
        counterparty."""
        now = datetime.now(UTC)
        index = self.cache.suppressions
        kept = [
            m
            for m in matches
            if not index.suppressed(m.rule.id, m.item.customer_id, m.item.txn, now)
        ]
        self.suppressed += len(matches) - len(kept)
        return kept

    @staticmethod
    def _inputs(
        events: Sequence[Event], snapshots: dict[uuid.UUID, CustomerSnapshot]
    ) -> list[EvaluationInput]:
        inputs = []
        for event in events:
            if isinstance(event, CustomerCreated | CustomerUpdated) or event.customer_id is None:
                continue
            snapshot = snapshots.setdefault(event.customer_id, CustomerSnapshot())
            flags = apply_event(snapshot, event)
            inputs.append(build_input(event, snapshot, flags))
        return inputs

    @staticmethod
    async def _windows(
        session: AsyncSession, rule_set: RuleSet, inputs: Sequence[EvaluationInput]
    ) -> tuple[WindowStore, list[GroupKey]]:
        store = WindowStore(rule_set.specs)
        if not rule_set.specs:
            return store, []
        read = dict.fromkeys(
            key for item in inputs for key in group_keys_of(item, rule_set.group_bys)
        )
        for key, state in (await repository.load_windows(session, read)).items():
            store.load_key_state(key, state)
        touched = dict.fromkeys(
            key
            for item in inputs
            if item.is_transaction
            for key in group_keys_of(item, rule_set.group_bys)
        )
        return store, list(touched)

    @staticmethod
    async def _update_directory(session: AsyncSession, events: Sequence[Event]) -> None:
        rows: dict[uuid.UUID, dict[str, Any]] = {}
        for event in events:
            if isinstance(event, CustomerCreated | CustomerUpdated):
                rows[event.customer_id] = {
                    "customer_id": event.customer_id,
                    "name": event.customer.name,
                    "relationship_manager": event.customer.relationship_manager,
                    "segment": event.customer.segment,
                }
        await repository.upsert_directory(session, list(rows.values()))

    async def _write_alerts(
        self,
        session: AsyncSession,
        hits: Sequence[Hit],
        statuses: dict[uuid.UUID, str],
        writes: repository.BatchWrites,
        severities: dict[uuid.UUID, str | None] | None = None,
    ) -> None:
        """Puts the alerts, occurrences, counts and timeline entries in `writes`; closes
        replaced dedup keys and stages the alert events in the outbox."""
        if not hits:
            return
        # Names and relationship managers go on new alerts only.
        named = {hit.match.item.customer_id for hit in hits if hit.is_new_alert}
        directory = await repository.load_directory(session, filter(None, named))
        now = datetime.now(UTC)
        alerts, occurrences, timeline, events = [], [], [], []
        counts: dict[uuid.UUID, tuple[int, datetime]] = {}
        latest_hit: dict[uuid.UUID, Hit] = {}
        for hit in hits:
            item = hit.match.item
            if hit.is_new_alert:
                entry = directory.get(item.customer_id) if item.customer_id else None
                row = _alert_row(
                    hit,
                    now,
                    entry.name if entry else None,
                    entry.relationship_manager if entry else None,
                )
                alerts.append(row)
                timeline.append(
                    _timeline_row(
                        hit.alert_id, now, "raised", {"rule_version": hit.match.rule.version}
                    )
                )
                events.append(_raised_event(row, self.public_url, item.trace_id))
                continue
            occurrences.append(
                repository.OccurrenceRow(
                    alert_id=hit.alert_id,
                    event_id=item.event_id,
                    event_type=item.event_type,
                    transaction_id=item.transaction_id,
                    occurred_at=item.occurred_at,
                    evidence=json_bytes(hit.match.evidence),  # as to_json would, by orjson
                )
            )
            added, last = counts.get(hit.alert_id, (0, item.occurred_at))
            counts[hit.alert_id] = (added + 1, max(last, item.occurred_at))
            latest_hit[hit.alert_id] = hit
        raised_severity = {row.id: row.severity for row in alerts}
        # Every occurrence keeps its row and evidence; the timeline and the alert_updated.v1
        # events say it once per alert and batch, so a busy alert does not flood followers.
        for alert_id, hit in latest_hit.items():
            item = hit.match.item
            detail = {
                "event_id": str(item.event_id),
                "event_type": item.event_type,
                "occurrences": counts[alert_id][0],
            }
            status = statuses.get(alert_id, "new")
            timeline.append(_timeline_row(alert_id, now, "occurrence_added", detail, status))
            events.append(
                AlertUpdated(
                    alert_id=alert_id,
                    customer_id=item.customer_id,
                    change="occurrence_added",
                    status=status,
                    # The alert's own severity (its words may have raised it above the rule's).
                    severity=raised_severity.get(alert_id)  # type: ignore[arg-type]
                    or (severities or {}).get(alert_id)
                    or hit.match.rule.severity,
                    trace_id=item.trace_id,
                )
            )
        # A key whose cooldown ran out closes its old alert: in the rows if raised in this batch.
        new_rows = {row.id: index for index, row in enumerate(alerts)}
        replaced = [hit.replaced_alert_id for hit in hits if hit.replaced_alert_id is not None]
        for alert_id in replaced:
            if alert_id in new_rows:
                index = new_rows[alert_id]
                alerts[index] = alerts[index]._replace(dedup_open=False)
        # An alert raised in this batch has its occurrences counted in its own row.
        for alert_id in [a for a in counts if a in new_rows]:
            added, last = counts.pop(alert_id)
            index = new_rows[alert_id]
            row = alerts[index]
            alerts[index] = row._replace(
                occurrence_count=row.occurrence_count + added,
                last_seen_at=max(row.last_seen_at, last),
            )
        await repository.close_dedup(session, [a for a in replaced if a not in new_rows])
        writes.alerts, writes.occurrences = alerts, occurrences
        writes.counts, writes.timeline = counts, timeline
        await add_events(session, *events)


def _shadow_rows(shadow: ShadowSet, matches: Sequence[Match]) -> list[shadow_store.ShadowHitRow]:
    return [
        shadow_store.ShadowHitRow(
            run_id=shadow.run_id(match.rule),
            event_id=match.item.event_id,
            event_type=match.item.event_type,
            customer_id=match.item.customer_id,
            transaction_id=match.item.transaction_id,
            occurred_at=match.item.occurred_at,
            dedup_value=match.dedup_value,
            evidence=json_bytes(match.evidence),
        )
        for match in matches
    ]


def _lock_names(events: Sequence[Event], group_bys: frozenset[str]) -> list[str]:
    """The customers' (their state and windows) and the other window groups the active rules
    use (a batch writes no window of a group-by its rules do not read)."""
    names = []
    for event in events:
        if event.customer_id is not None:
            names.append(f"customer:{event.customer_id}")
        if isinstance(event, TransactionScored | TransactionScoredV2):
            txn = event.transaction
            for by, value in (
                ("account", txn.account_id),
                ("counterparty", txn.counterparty_account),
                ("device", txn.device_id),
            ):
                if value and by in group_bys:
                    names.append(f"{by}:{value}")
    return names


def _alert_row(
    hit: Hit, now: datetime, customer_name: str | None, relationship_manager: str | None
) -> repository.AlertRow:
    match, rule, item = hit.match, hit.match.rule, hit.match.item
    evidence = to_json(match.evidence)
    scores = to_json({**item.namespaces.get("score", {}), **_risk_scores(item)})
    words = alert_words(
        template_key=rule.template_key,
        title_template=rule.title_template,
        summary_template=rule.summary_template,
        rule_name=rule.name,
        severity=rule.severity,
        params=message_params(item, customer_name=customer_name, rule_name=rule.name),
        customer_name=customer_name,
    )
    severity = words.severity
    return repository.AlertRow(
        id=hit.alert_id,
        rule_id=rule.id,
        rule_version=rule.version,
        rule_name=rule.name,
        rule_type=rule.rule_type,
        severity=severity,
        status="new",
        customer_id=item.customer_id,
        customer_name=customer_name,
        relationship_manager=relationship_manager,
        title=words.title,
        summary=words.summary,
        message_code=words.code,
        message_params=words.params,
        trigger_event_id=item.event_id,
        trigger_event_type=item.event_type,
        transaction_id=item.transaction_id,
        evidence=evidence,
        scores=scores,
        reasons=item.reasons[:MAX_REASONS],
        coded_reasons=item.coded_reasons[:MAX_REASONS],
        suggested_actions=list(rule.suggested_actions),
        dedup_value=match.dedup_value,
        dedup_open=True,
        occurrence_count=1,
        first_seen_at=item.occurred_at,
        last_seen_at=item.occurred_at,
        raised_at=now,
        happened_at=item.happened_at,
        sla_due_at=now + SLA_BY_SEVERITY.get(severity, SLA_BY_SEVERITY["medium"]),
    )


def _risk_scores(item: EvaluationInput) -> dict[str, Any]:
    risk = item.namespaces.get("risk", {})
    keys = ("credit_pd", "churn_probability", "credit_level", "churn_level", "overall_level")
    return {key: risk[key] for key in keys if key in risk}


def _timeline_row(
    alert_id: uuid.UUID, at: datetime, change: str, detail: dict[str, Any], status: str = "new"
) -> repository.TimelineRow:
    return repository.TimelineRow(alert_id, at, "system", change, status, json_bytes(detail))


# The alert's columns that `alerting.alert_raised.v1` carries as they are (its other fields:
# the alert's id, url, trace id and its reasons as the event's Reason type).
_RAISED_FIELDS = tuple(
    name
    for name in AlertRaised.__struct_fields__
    if name in repository.AlertRow._fields and name not in ("id", "coded_reasons")
)


def _raised_event(
    row: repository.AlertRow, public_url: str | None, trace_id: str | None = None
) -> AlertRaised:
    fields = {name: getattr(row, name) for name in _RAISED_FIELDS}
    url = f"{public_url.rstrip('/')}/alerts/{row.id}" if public_url else None
    coded_reasons = msgspec.convert(row.coded_reasons, list[Reason])
    return AlertRaised(
        alert_id=row.id, url=url, trace_id=trace_id, coded_reasons=coded_reasons, **fields
    )


def _history_row(item: EvaluationInput) -> repository.HistoryRow:
    context: dict[str, Any] = {
        "ns": item.namespaces,
        "transaction_id": item.transaction_id,
        "reasons": item.reasons[:10],
    }
    return repository.HistoryRow(
        item.event_id, item.event_type, item.customer_id, item.occurred_at, json_bytes(context)
    )


def history_input(
    event_id: uuid.UUID,
    event_type: str,
    customer_id: uuid.UUID | None,
    occurred_at: datetime,
    context: dict[str, Any],
) -> EvaluationInput:
    """An evaluation history row back as the input live evaluation used."""
    transaction_id = context.get("transaction_id")
    return EvaluationInput(
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred_at,
        customer_id=customer_id,
        transaction_id=None if transaction_id is None else uuid.UUID(transaction_id),
        namespaces=namespaces_from_json(context.get("ns", {})),
        reasons=list(context.get("reasons", [])),
    )


def _state_rows(
    snapshots: dict[uuid.UUID, CustomerSnapshot],
    stored: dict[uuid.UUID, repository.StoredCustomerState],
) -> list[repository.StateRow]:
    """The customers' states to write: those the batch changed (same bytes = same state)."""
    rows = []
    for customer_id, snapshot in snapshots.items():
        encoded = (
            # Only what rules can read is kept between events.
            json_bytes(compact_namespace("customer", snapshot.features)),
            json_bytes(snapshot.levels),
            json_bytes(snapshot.scores),
        )
        before = stored.get(customer_id)
        if before is not None and (before.encoded, before.sequence) == (
            encoded,
            snapshot.sequence,
        ):
            continue
        features, levels, scores = encoded
        rows.append(repository.StateRow(customer_id, features, levels, scores, snapshot.sequence))
    return rows
