"""The event path: a batch of `customer.*` events in, assessments and scoring events out.

One call per fetched batch: load the batch's customers once (locked), apply each event in
stream order to the in-memory state, then write the assessments, the outbox events and the
states back in three statements. A transaction is scored on arrival; the customer's credit
and churn are re-assessed on every record change and, for transactions, at most once per
`reassess_after_seconds` of event time (trends move slowly; that keeps assessments bounded).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_scoring import events as scoring_events
from riskwatch_scoring.domain.advice import advice_for
from riskwatch_scoring.domain.anomaly import AnomalyModel
from riskwatch_scoring.domain.assessment import Assessment
from riskwatch_scoring.domain.canonical import inputs_hash
from riskwatch_scoring.domain.convert import (
    convert_amount,
    reason_rows,
    to_credit_record,
    to_financial_profile,
    to_interaction,
    to_transaction,
)
from riskwatch_scoring.domain.customer import ScoredCustomer
from riskwatch_scoring.domain.features import CurrencyMismatch, FeatureMap
from riskwatch_scoring.domain.levels import DEFAULT_CUTOFFS, Level
from riskwatch_scoring.domain.measures import measure_action, measure_state, stricter
from riskwatch_scoring.registry import ModelCache, ServingModel, ServingModels
from riskwatch_scoring.repository import (
    AssessmentRecord,
    idle_customers,
    insert_assessments,
    stream_time,
)
from riskwatch_scoring.state_store import LoadedStates, StateStore
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.customer import (
    AccountChanged,
    CreditRecordAdded,
    CustomerCreated,
    CustomerUpdated,
    FinancialProfileUpdated,
    InteractionLogged,
    RiskMeasureRecorded,
    TransactionReceived,
)
from riskwatch_shared.events.scoring import ScoringEvent
from riskwatch_shared.logging import get_logger, trace_id_var
from riskwatch_shared.messaging.outbox import OutboxRow, add_payloads
from riskwatch_shared.tracing import traceparent_for

log = get_logger(__name__)
InvalidInput = (ValueError, CurrencyMismatch)
ACTIONS = {Level.CRITICAL: "block", Level.HIGH: "review"}
PROFILE_FIELDS = ("kind", "segment", "country", "status", "kyc_status")


def recommended_action(level: Level) -> str:
    """Pre-authorisation decision: block critical, review high, approve the rest."""
    return ACTIONS.get(level, "approve")


def apply_measure(customer: ScoredCustomer, event: RiskMeasureRecorded) -> bool:
    """Keep a measure in force or drop a lifted one; False when that changes nothing."""
    measure = event.measure
    key = str(measure.measure_id)
    if not customer.remember(f"measure:{key}:{measure.status}"):
        return False
    if measure.status == "lifted":
        return customer.measures.pop(key, None) is not None
    customer.measures[key] = measure_state(msgspec.to_builtins(measure))
    return True


def with_aliases(features: FeatureMap) -> FeatureMap:
    """Customer features plus the names alert rules also use for the bureau score."""
    features["credit_score"] = features.get("bureau_score")
    features["credit_score_change"] = features.get("bureau_score_change")
    return features


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class Trigger(Protocol):
    """What caused an assessment: an event, or the clock (an idle customer's daily review)."""

    @property
    def type(self) -> str: ...

    @property
    def id(self) -> uuid.UUID | None: ...

    @property
    def trace_id(self) -> str | None: ...


def happened_at_of(trigger: Trigger) -> datetime | None:
    """When the thing behind an assessment happened: a transaction's or an interaction's
    time, a credit record's or a financial profile's as-of date (midnight UTC), the time the
    clock re-assessed as of; None when the trigger carries no time of its own (a customer or
    account change: its publication time is the machine clock's, not the stream's)."""
    if isinstance(trigger, TransactionReceived):
        return trigger.transaction.occurred_at
    if isinstance(trigger, InteractionLogged):
        return trigger.interaction.occurred_at
    if isinstance(trigger, CreditRecordAdded):
        return _midnight(trigger.credit_record.as_of)
    if isinstance(trigger, FinancialProfileUpdated):
        return _midnight(trigger.financial_profile.as_of)
    if isinstance(trigger, TimePassed):
        return trigger.at
    return None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TimePassed:
    """The trigger of a re-assessment no event caused (features age: days since activity)."""

    type: str = "scoring.time_passed"
    id: uuid.UUID | None = None
    trace_id: str | None = None
    # The stream time re-assessed as of.
    at: datetime | None = None


@dataclass
class BatchOutput:
    """What one batch stages: assessment rows and events (see `riskwatch_scoring.events`)."""

    now: datetime
    assessments: list[AssessmentRecord] = field(default_factory=list)
    events: list[ScoringEvent] = field(default_factory=list)
    # The request's trace id for events whose trigger has none (what `add_events` did).
    default_trace_id: str | None = field(default_factory=trace_id_var.get)

    def trace_id(self, trigger: Trigger) -> str | None:
        return trigger.trace_id if trigger.trace_id is not None else self.default_trace_id

    def assessed_at(self) -> datetime:
        # Distinct, increasing times keep a batch's assessments in their order in history.
        return self.now + timedelta(microseconds=len(self.assessments))


@dataclass
class Scorer:
    """Applies events to customers with the serving models; pure apart from `handle_batch`."""

    store: StateStore
    model_cache: ModelCache
    fx_rates_per_usd: dict[str, Decimal]
    reassess_after_seconds: int = 86_400

    async def handle_batch(self, events: Sequence[Event], session: AsyncSession) -> None:
        customer_ids = {event.customer_id for event in events if event.customer_id is not None}
        try:
            models = await self.model_cache.get(session)
            loaded = await self.store.load_for_update(session, sorted(customer_ids))
            output = BatchOutput(now=datetime.now(UTC))
            for event in events:
                if event.customer_id is not None:
                    self.apply(loaded.customers[event.customer_id], event, models, output)
            await self._write(session, loaded, output)
        except BaseException:
            self.store.evict(customer_ids)
            raise

    async def reassess_idle(
        self, session: AsyncSession, *, as_of: datetime | None, idle_seconds: int, limit: int
    ) -> int:
        """Re-assess customers whose state is `idle_seconds` of event time behind `as_of` (by
        default the stream's time, `repository.stream_time`): their recency features (days
        since the last transaction...) have aged. Returns how many."""
        as_of = as_of or await stream_time(session)
        if as_of is None:
            return 0
        before = as_of - timedelta(seconds=idle_seconds)
        customer_ids = await idle_customers(session, before=before, limit=limit)
        if not customer_ids:
            return 0
        try:
            models = await self.model_cache.get(session)
            loaded = await self.store.load_for_update(session, sorted(customer_ids))
            output = BatchOutput(now=datetime.now(UTC))
            for customer in loaded.customers.values():
                customer.version += 1
                self.reassess(customer, TimePassed(at=as_of), as_of, models, output)
            await self._write(session, loaded, output)
        except BaseException:
            self.store.evict(customer_ids)
            raise
        return len(customer_ids)

    async def _write(
        self, session: AsyncSession, loaded: LoadedStates, output: BatchOutput
    ) -> None:
        """COPY the assessments and stage the events, then write the states, in that order.

        The first two go out while the states are encoded (the encoding yields between
        chunks): PostgreSQL executes them on another core meanwhile instead of after it.
        Nothing else uses the session until they are done.
        """
        staged = asyncio.ensure_future(self._insert_outputs(session, output))
        try:
            writes = await self.store.encode_changes(loaded)
        except BaseException:
            with contextlib.suppress(Exception):  # the connection must be idle for the rollback
                await staged
            raise
        await staged
        await self.store.write(session, writes)

    @staticmethod
    async def _insert_outputs(session: AsyncSession, output: BatchOutput) -> None:
        await insert_assessments(session, output.assessments)
        await add_payloads(session, _outbox_rows(output.events))

    def apply(
        self, customer: ScoredCustomer, event: Event, models: ServingModels, output: BatchOutput
    ) -> None:
        try:
            if isinstance(event, TransactionReceived):
                self._transaction(customer, event, models, output)
                return
            if isinstance(event, RiskMeasureRecorded):
                # In force or lifted: no model input, so nothing to re-assess.
                if apply_measure(customer, event):
                    customer.version += 1
                return
            as_of = self._record_as_of(customer, event)
            if not self._apply_record(customer, event):
                return
        except InvalidInput as exc:
            # The domain refused the payload (a naive time, a negative amount...): retrying
            # cannot help and must not hold back the customers behind it in the stream.
            log.warning("scoring.event_rejected", event_id=str(event.id), error=str(exc))
            return
        customer.version += 1
        if as_of is None:
            # No event time yet (a new customer): assessed as of the event's publication, but
            # not remembered as assessed then, which would put the machine clock into the
            # customer's event time (and a replayed past's transactions before it).
            self.reassess(customer, event, event.occurred_at, models, output, stamp=False)
        else:
            self.reassess(customer, event, as_of, models, output)

    @staticmethod
    def _record_as_of(customer: ScoredCustomer, event: Event) -> datetime | None:
        """The event time a record change is assessed as of: the record's own time or the
        newest the customer has seen, whichever is later; None when neither is known."""
        known = [moment for moment in (happened_at_of(event),) if moment is not None]
        newest = customer.as_of_epoch
        if newest is not None:
            known.append(datetime.fromtimestamp(newest, tz=UTC))
        return max(known) if known else None

    def _apply_record(self, customer: ScoredCustomer, event: Event) -> bool:
        """Apply a non-transaction event; False when it changes nothing (already applied)."""
        behaviour = customer.behaviour
        if isinstance(event, CreditRecordAdded):
            record = event.credit_record
            if not customer.remember(f"credit:{record.credit_record_id}"):
                return False
            behaviour.apply_credit_record(to_credit_record(record))
        elif isinstance(event, FinancialProfileUpdated):
            profile = event.financial_profile
            if not customer.remember(f"profile:{inputs_hash(msgspec.to_builtins(profile))}"):
                return False
            behaviour.apply_financial_profile(to_financial_profile(profile))
        elif isinstance(event, InteractionLogged):
            if not customer.remember(f"interaction:{event.interaction.interaction_id}"):
                return False
            behaviour.apply_interaction(to_interaction(event.interaction))
        elif isinstance(event, AccountChanged):
            account = event.account
            if account.status in ("active", "dormant"):
                opened = datetime.combine(account.opened_at, datetime.min.time(), tzinfo=UTC)
                behaviour.accounts.touch(str(account.account_id), _epoch(opened))
        elif isinstance(event, CustomerCreated | CustomerUpdated):
            snapshot = msgspec.to_builtins(event.customer)
            customer.profile = {name: snapshot.get(name) for name in PROFILE_FIELDS}
        else:
            return False
        return True

    # -- transactions -------------------------------------------------------------------------

    def _transaction(
        self,
        customer: ScoredCustomer,
        event: TransactionReceived,
        models: ServingModels,
        output: BatchOutput,
    ) -> None:
        txn = to_transaction(event.transaction)
        behaviour = customer.behaviour
        base = behaviour.base_currency or txn.currency
        amount_in_base = convert_amount(txn.amount, txn.currency, base, self.fx_rates_per_usd)
        if amount_in_base is None:
            amount_in_base = txn.amount  # no rate: score the face amount rather than drop it
        features = behaviour.apply_transaction(txn, amount_in_base=amount_in_base)
        if features is None:
            return  # the same transaction again under another event id
        customer.version += 1
        txn_features = features.as_dict()
        champion = models.champion("anomaly")
        anomaly = self._assess_anomaly(champion, txn_features)
        row = self._assessment_row(customer, champion, anomaly, event, output, txn_features)
        output.assessments.append(row._replace(transaction_id=txn.transaction_id))
        self._shadow_anomaly(customer, models, txn_features, event, output)
        epoch = _epoch(txn.occurred_at)
        customer.note_anomaly(epoch, anomaly, features.transaction_id)
        due = customer.last_assessed_epoch is None or (
            epoch - customer.last_assessed_epoch >= self.reassess_after_seconds
        )
        if due:
            customer_features = self.reassess(customer, event, txn.occurred_at, models, output)
        else:
            customer_features = with_aliases(behaviour.feature_map(epoch))
            if customer.anomaly_level_may_change(epoch, anomaly.score):
                self._refresh_anomaly_level(customer, event, epoch, models, output)
        output.events.append(
            scoring_events.transaction_scored(
                occurred_at=output.now,
                trace_id=output.trace_id(event),
                transaction=event.transaction,
                assessment=anomaly,
                recommended_action=stricter(
                    recommended_action(anomaly.level),
                    measure_action(
                        customer.measures,
                        account_id=txn.account_id,
                        direction=txn.direction,
                        amount=txn.amount,
                        currency=txn.currency,
                    )[0],
                ),
                transaction_features=txn_features,
                customer_features=customer_features,
                risk_levels=customer.risk_levels(),
            )
        )

    @staticmethod
    def _assess_anomaly(serving: ServingModel, txn_features: FeatureMap) -> Assessment:
        model = serving.model
        assert isinstance(model, AnomalyModel)
        return model.assess(txn_features)

    def _shadow_anomaly(
        self,
        customer: ScoredCustomer,
        models: ServingModels,
        txn_features: FeatureMap,
        event: TransactionReceived,
        output: BatchOutput,
    ) -> None:
        challenger = models.challengers.get("anomaly")
        if challenger is None:
            return
        shadow = self._assess_anomaly(challenger, txn_features)
        row = self._assessment_row(customer, challenger, shadow, event, output, txn_features)
        output.assessments.append(
            row._replace(is_shadow=True, transaction_id=event.transaction.transaction_id)
        )

    def _refresh_anomaly_level(
        self,
        customer: ScoredCustomer,
        event: Trigger,
        epoch: int,
        models: ServingModels,
        output: BatchOutput,
    ) -> None:
        champion = models.champion("anomaly")
        cutoffs = getattr(champion.model, "cutoffs", DEFAULT_CUTOFFS["anomaly"])
        assessment = customer.anomaly_assessment(epoch, cutoffs, champion.model_version)
        changed = customer.set_assessments([assessment])
        rows: dict[str, tuple[ServingModel, uuid.UUID | None]] = {"anomaly": (champion, None)}
        self._level_changes(customer, changed, event, rows, output, happened_at_of(event))

    # -- customer re-assessment ---------------------------------------------------------------

    def reassess(
        self,
        customer: ScoredCustomer,
        event: Trigger,
        as_of: datetime,
        models: ServingModels,
        output: BatchOutput,
        *,
        stamp: bool = True,
    ) -> FeatureMap:
        """Credit and churn from the customer's features as of `as_of` (event time, unless
        `stamp` is False); publishes the result."""
        features = with_aliases(customer.behaviour.feature_map(_epoch(as_of)))
        features_hash = inputs_hash(features)
        assessments: list[Assessment] = []
        rows: dict[str, tuple[ServingModel, uuid.UUID | None]] = {}
        for kind in ("credit", "churn"):
            champion = models.champion(kind)
            assessment = champion.model.assess(features)
            row = self._assessment_row(customer, champion, assessment, event, output, None)
            output.assessments.append(row._replace(inputs_hash=features_hash, features=features))
            rows[kind] = (champion, row.id)
            assessments.append(assessment)
            challenger = models.challengers.get(kind)
            if challenger is not None:
                shadow = challenger.model.assess(features)
                shadow_row = self._assessment_row(customer, challenger, shadow, event, output, None)
                output.assessments.append(
                    shadow_row._replace(inputs_hash=features_hash, is_shadow=True)
                )
        anomaly_champion = models.champion("anomaly")
        cutoffs = getattr(anomaly_champion.model, "cutoffs", DEFAULT_CUTOFFS["anomaly"])
        assessments.append(
            customer.anomaly_assessment(_epoch(as_of), cutoffs, anomaly_champion.model_version)
        )
        rows["anomaly"] = (anomaly_champion, None)
        changed = customer.set_assessments(assessments)
        if stamp:
            customer.last_assessed_epoch = _epoch(as_of)
        happened = happened_at_of(event) or (as_of if stamp else None)
        self._level_changes(customer, changed, event, rows, output, happened)
        output.events.append(
            scoring_events.customer_assessed(
                occurred_at=output.now,
                trace_id=output.trace_id(event),
                customer_id=customer.uuid,
                trigger_event_type=event.type,
                trigger_event_id=event.id,
                sequence=customer.version,
                levels=customer.levels,
                assessments=customer.assessments,
                customer_features=features,
                happened_at=happened,
            )
        )
        return features

    def _level_changes(
        self,
        customer: ScoredCustomer,
        changed: dict[str, tuple[str | None, str]],
        event: Trigger,
        rows: dict[str, tuple[ServingModel, uuid.UUID | None]],
        output: BatchOutput,
        happened: datetime | None,
    ) -> None:
        for kind, (from_level, to_level) in changed.items():
            if kind == "overall":
                assessment = max(customer.assessments.values(), key=lambda a: a.level.rank)
                model_version, assessment_id = assessment.model_version, None
            else:
                assessment = customer.assessments[kind]
                _, assessment_id = rows.get(kind, (None, None))
                model_version = assessment.model_version
            output.events.append(
                scoring_events.risk_level_changed(
                    occurred_at=output.now,
                    trace_id=output.trace_id(event),
                    customer_id=customer.uuid,
                    model_kind=kind,
                    from_level=from_level,
                    to_level=to_level,
                    assessment=assessment,
                    sequence=customer.version,
                    model_version=model_version,
                    advice=advice_for(assessment),
                    assessment_id=assessment_id,
                    trigger_event_type=event.type,
                    happened_at=happened,
                )
            )

    @staticmethod
    def _assessment_row(
        customer: ScoredCustomer,
        serving: ServingModel,
        assessment: Assessment,
        event: Trigger,
        output: BatchOutput,
        inputs: FeatureMap | None,
    ) -> AssessmentRecord:
        return AssessmentRecord(
            id=scoring_events.new_id(),
            customer_id=customer.uuid,
            kind=assessment.kind,
            score=assessment.score,
            level=assessment.level.value,
            model_id=serving.id,
            model_version=assessment.model_version,
            inputs_hash="" if inputs is None else inputs_hash(inputs),
            reasons=reason_rows(assessment),
            is_shadow=False,
            transaction_id=None,
            trigger_event_type=event.type,
            trigger_event_id=event.id,
            sequence=customer.version,
            features=None,
            assessed_at=output.assessed_at(),
        )


def _outbox_rows(events: list[ScoringEvent]) -> list[OutboxRow]:
    return [(e.id, e.type, e.to_json_bytes(), traceparent_for(e.trace_id)) for e in events]
