"""Everything scoring keeps per customer: behavioural state, current risk, applied-event memory.

`ScoredCustomer.version` is the customer's sequence: it grows by one for every event that
changed the state, and is stamped on every assessment and event, so readers can drop an
assessment older than one they already hold.
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from riskwatch_scoring.domain.assessment import Assessment, Reason
from riskwatch_scoring.domain.features import CustomerState
from riskwatch_scoring.domain.levels import DEFAULT_CUTOFFS, Level, LevelCutoffs, overall_level

CUSTOMER_STATE_VERSION = 1
APPLIED_KEYS_KEPT = 256
ANOMALY_MEMORY_SECONDS = 7 * 86_400
ANOMALIES_KEPT = 16
RISK_KINDS = ("credit", "churn", "anomaly")


@dataclass(slots=True)
class ScoredAnomaly:
    """A transaction whose anomaly score reached the medium level: the customer's recent worst."""

    epoch: int
    score: float
    transaction_id: str
    model_version: str
    reasons: list[Reason]
    # The persisted form, built once: an entry never changes, and up to `ANOMALIES_KEPT` of
    # them are written back with every batch that touches the customer.
    _state: list[Any] | None = field(default=None, repr=False, compare=False)

    def to_state(self) -> list[Any]:
        if self._state is None:
            reasons = [reason.to_state() for reason in self.reasons]
            self._state = [self.epoch, self.score, self.transaction_id, self.model_version, reasons]
        return self._state

    @classmethod
    def from_state(cls, state: list[Any]) -> ScoredAnomaly:
        epoch, score, transaction_id, model_version, reasons = state
        return cls(
            epoch, score, transaction_id, model_version, [Reason.from_state(r) for r in reasons]
        )


@dataclass(slots=True)
class ScoredCustomer:
    customer_id: str
    version: int = 0
    behaviour: CustomerState = field(init=False)
    profile: dict[str, Any] = field(default_factory=dict)
    assessments: dict[str, Assessment] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    last_assessed_epoch: int | None = None
    anomalies: list[ScoredAnomaly] = field(default_factory=list)
    applied_keys: deque[str] = field(default_factory=lambda: deque(maxlen=APPLIED_KEYS_KEPT))
    # Risk-control measures in force, by measure id (`domain.measures`).
    measures: dict[str, dict[str, Any]] = field(default_factory=dict)
    _uuid: uuid.UUID | None = field(default=None, repr=False, compare=False)
    # Per kind, the last assessment encoded and its state: an assessment is immutable and
    # changes about once a day, while the state is written back with every batch.
    _encoded: dict[str, tuple[Assessment, dict[str, Any]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # `risk_levels()` without the sequence, and the `levels` dict it was built from:
    # `set_assessments` (the only writer of levels and assessments) replaces that dict.
    _risk_levels: tuple[dict[str, str], dict[str, Any]] | None = field(
        default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.behaviour = CustomerState(self.customer_id)

    @property
    def as_of_epoch(self) -> int | None:
        """The event time the state is current to: its newest transaction, interaction or
        assessment time (None before any). Never the machine clock."""
        seen = self.behaviour
        times = (seen.last_txn_epoch, seen.last_interaction_epoch, self.last_assessed_epoch)
        known = [epoch for epoch in times if epoch is not None]
        return max(known) if known else None

    @property
    def uuid(self) -> uuid.UUID:
        if self._uuid is None:
            self._uuid = uuid.UUID(self.customer_id)
        return self._uuid

    def anomaly_level_may_change(self, epoch: int, score: float) -> bool:
        """Whether a transaction scored `score` can move the customer's anomaly level: it
        joins the remembered worst ones, or one of those has just aged out."""
        if score >= DEFAULT_CUTOFFS["anomaly"].medium:
            return True
        if any(a.epoch <= epoch - ANOMALY_MEMORY_SECONDS for a in self.anomalies):
            return True
        return not self.anomalies and self.levels.get("anomaly", "low") != "low"

    def remember(self, key: str) -> bool:
        """Record that an input was applied; False if it already was (a re-sent record)."""
        if key in self.applied_keys:
            return False
        self.applied_keys.append(key)
        return True

    def note_anomaly(self, epoch: int, assessment: Assessment, transaction_id: str) -> None:
        if assessment.score < DEFAULT_CUTOFFS["anomaly"].medium:
            return
        entry = ScoredAnomaly(
            epoch, assessment.score, transaction_id, assessment.model_version, assessment.reasons
        )
        kept = sorted([*self.anomalies, entry], key=lambda a: (-a.score, -a.epoch))
        self.anomalies = kept[:ANOMALIES_KEPT]

    def anomaly_assessment(
        self, epoch: int, cutoffs: LevelCutoffs, model_version: str
    ) -> Assessment:
        """The customer's anomaly risk: its worst transaction of the last seven days."""
        self.anomalies = [a for a in self.anomalies if a.epoch > epoch - ANOMALY_MEMORY_SECONDS]
        worst = max(self.anomalies, key=lambda a: a.score, default=None)
        if worst is None:
            return Assessment("anomaly", 0.0, Level.LOW, model_version, [])
        return Assessment(
            "anomaly", worst.score, cutoffs.level(worst.score), worst.model_version, worst.reasons
        )

    def set_assessments(self, assessments: list[Assessment]) -> dict[str, tuple[str | None, str]]:
        """Store the current assessments; returns {kind: (from, to)} for every changed level."""
        for assessment in assessments:
            self.assessments[assessment.kind] = assessment
        new_levels = {kind: a.level.value for kind, a in self.assessments.items()}
        new_levels["overall"] = overall_level(a.level for a in self.assessments.values()).value
        changed = {
            kind: (self.levels.get(kind), level)
            for kind, level in new_levels.items()
            if self.levels.get(kind) != level
        }
        self.levels = new_levels
        return changed

    def risk_levels(self) -> dict[str, Any]:
        """The levels, each kind's score (as `<kind>_score`, rounded) and the sequence, as
        every `scoring.transaction_scored.v1` carries them; a new dict the caller owns."""
        cached = self._risk_levels
        if cached is None or cached[0] is not self.levels:
            levels: dict[str, Any] = dict(self.levels)
            for kind, assessment in self.assessments.items():
                levels[f"{kind}_score"] = round(assessment.score, 6)
            cached = self._risk_levels = (self.levels, levels)
        return {**cached[1], "sequence": self.version}

    def to_state(self) -> dict[str, Any]:
        state = self._base_state()
        if self.measures:  # only customers with measures in force carry the key
            state["measures"] = self.measures
        return state

    def _base_state(self) -> dict[str, Any]:
        return {
            "version": CUSTOMER_STATE_VERSION,
            "sequence": self.version,
            "behaviour": self.behaviour.to_state(),
            "profile": self.profile,
            "assessments": {
                kind: self._assessment_state(kind, a) for kind, a in self.assessments.items()
            },
            "levels": self.levels,
            "last_assessed_epoch": self.last_assessed_epoch,
            "anomalies": [anomaly.to_state() for anomaly in self.anomalies],
            "applied_keys": list(self.applied_keys),
        }

    def _assessment_state(self, kind: str, assessment: Assessment) -> dict[str, Any]:
        encoded = self._encoded.get(kind)
        if encoded is None or encoded[0] is not assessment:
            encoded = self._encoded[kind] = (assessment, assessment.to_state())
        return encoded[1]

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ScoredCustomer:
        if state.get("version") != CUSTOMER_STATE_VERSION:
            raise ValueError(f"unsupported scored-customer version {state.get('version')!r}")
        behaviour = CustomerState.from_state(state["behaviour"])
        customer = cls(behaviour.customer_id, version=int(state["sequence"]))
        customer.behaviour = behaviour
        customer.profile = dict(state["profile"])
        customer.assessments = {
            kind: Assessment.from_state(a) for kind, a in state["assessments"].items()
        }
        customer.levels = dict(state["levels"])
        customer.last_assessed_epoch = state["last_assessed_epoch"]
        customer.anomalies = [ScoredAnomaly.from_state(a) for a in state["anomalies"]]
        customer.applied_keys = deque(state["applied_keys"], maxlen=APPLIED_KEYS_KEPT)
        customer.measures = dict(state.get("measures") or {})  # absent in older states
        return customer
