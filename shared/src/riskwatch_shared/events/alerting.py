"""Events the alerting service produces (stream ALERTING, subjects `alerting.>`)."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal
from uuid import UUID

from riskwatch_shared.events.base import AwareDatetime, Event, register
from riskwatch_shared.events.common import Reason, RiskMeasureData, RuleType, Severity


class AlertingEvent(Event, frozen=True, kw_only=True):
    stream: ClassVar[str] = "ALERTING"
    source: str = "alerting"


@register
class AlertRaised(AlertingEvent, frozen=True, kw_only=True):
    type: Literal["alerting.alert_raised.v1"] = "alerting.alert_raised.v1"
    alert_id: UUID
    customer_id: UUID | None = None
    customer_name: str | None = None
    relationship_manager: str | None = None
    rule_id: UUID
    rule_version: int
    rule_name: str
    rule_type: RuleType
    severity: Severity
    title: str
    summary: str
    raised_at: AwareDatetime
    transaction_id: UUID | None = None
    trigger_event_id: UUID | None = None
    trigger_event_type: str | None = None
    evidence: dict[str, Any] = {}
    scores: dict[str, Any] = {}
    reasons: list[str] = []
    suggested_actions: list[str] = []
    sla_due_at: AwareDatetime | None = None
    url: str | None = None
    # The words as codes (riskwatch_shared.messages) so each reader renders its own locale.
    message_code: str | None = None
    message_params: dict[str, Any] = {}
    # When the thing happened (transaction time, credit record as-of), beside `raised_at`.
    happened_at: AwareDatetime | None = None
    # `reasons` as codes with parameters, contribution and advice (each reason once).
    coded_reasons: list[Reason] = []


AlertChange = Literal[
    "acknowledged",
    "investigating",
    "assigned",
    "escalated",
    "resolved",
    "reopened",
    "commented",
    "occurrence_added",
    "customer_contacted",
    "measure_taken",
]


@register
class AlertUpdated(AlertingEvent, frozen=True, kw_only=True):
    type: Literal["alerting.alert_updated.v1"] = "alerting.alert_updated.v1"
    alert_id: UUID
    customer_id: UUID | None = None
    change: AlertChange
    status: str
    severity: Severity
    actor: str | None = None
    assignee: str | None = None
    assignee_team: str | None = None
    outcome: str | None = None
    comment: str | None = None


@register
class CustomerContacted(AlertingEvent, frozen=True, kw_only=True):
    """A contact with the customer logged on an alert: the customer service files it as an
    interaction on the customer's record (`contact_id` becomes the interaction's id)."""

    type: Literal["alerting.customer_contacted.v1"] = "alerting.customer_contacted.v1"
    customer_id: UUID
    alert_id: UUID
    contact_id: UUID
    channel: str
    note: str | None = None
    alert_title: str | None = None
    actor: str
    actor_name: str | None = None
    contacted_at: AwareDatetime


@register
class RiskMeasureTaken(AlertingEvent, frozen=True, kw_only=True):
    """A risk-control measure taken on an alert: the customer service records it on the
    customer (and announces it as `customer.risk_measure_recorded.v1`)."""

    type: Literal["alerting.risk_measure_taken.v1"] = "alerting.risk_measure_taken.v1"
    customer_id: UUID
    alert_id: UUID
    measure: RiskMeasureData


# --- cases: an analyst's unit of work, grouping a customer's alerts ----------------------------

CaseChange = Literal[
    "alert_added",
    "assigned",
    "investigating",
    "commented",
    "closed",
    "reopened",
    "suppression_added",
    "suppression_lifted",
]


@register
class CaseOpened(AlertingEvent, frozen=True, kw_only=True):
    type: Literal["alerting.case_opened.v1"] = "alerting.case_opened.v1"
    case_id: UUID
    customer_id: UUID | None = None
    relationship_manager: str | None = None
    priority: Severity
    alert_id: UUID
    opened_at: AwareDatetime
    sla_due_at: AwareDatetime


@register
class CaseUpdated(AlertingEvent, frozen=True, kw_only=True):
    type: Literal["alerting.case_updated.v1"] = "alerting.case_updated.v1"
    case_id: UUID
    customer_id: UUID | None = None
    change: CaseChange
    status: str
    priority: Severity
    actor: str | None = None
    assignee: str | None = None
    alert_id: UUID | None = None
    outcome: str | None = None
    comment: str | None = None


# --- the watch list (issue 22 item 3): customers followed closely until exit criteria hold ---

WatchlistOrigin = Literal["analyst", "rule", "warning"]


@register
class CustomerEnteredWatchlist(AlertingEvent, frozen=True, kw_only=True):
    type: Literal["alerting.customer_entered_watchlist.v1"] = (
        "alerting.customer_entered_watchlist.v1"
    )
    entry_id: UUID
    customer_id: UUID
    relationship_manager: str | None = None
    reason: str
    owner: str
    review_due: date
    required_actions: list[str]
    exit_criteria: str
    origin: WatchlistOrigin
    origin_ref: str | None = None
    entered_by: str
    entered_at: AwareDatetime


@register
class WatchlistReviewed(AlertingEvent, frozen=True, kw_only=True):
    type: Literal["alerting.watchlist_reviewed.v1"] = "alerting.watchlist_reviewed.v1"
    entry_id: UUID
    customer_id: UUID
    relationship_manager: str | None = None
    owner: str
    note: str
    next_review_due: date
    reviewed_by: str
    reviewed_at: AwareDatetime


@register
class CustomerExitedWatchlist(AlertingEvent, frozen=True, kw_only=True):
    type: Literal["alerting.customer_exited_watchlist.v1"] = "alerting.customer_exited_watchlist.v1"
    entry_id: UUID
    customer_id: UUID
    relationship_manager: str | None = None
    owner: str
    reason: str
    exited_by: str
    exited_at: AwareDatetime


@register
class WatchlistReviewDue(AlertingEvent, frozen=True, kw_only=True):
    """An active entry's review date has come (announced once per review date)."""

    type: Literal["alerting.watchlist_review_due.v1"] = "alerting.watchlist_review_due.v1"
    entry_id: UUID
    customer_id: UUID
    relationship_manager: str | None = None
    owner: str
    review_due: date
    reason: str


# --- rule governance (maker-checker, issue 23) -----------------------------------------------

RuleProposalKind = Literal["create", "change"]
RuleApproval = Literal["four_eyes", "self", "system_configuration", "service"]


@register
class RuleChangeProposed(AlertingEvent, frozen=True, kw_only=True):
    """A new rule or a change of one was proposed: it waits for someone else's approval."""

    type: Literal["alerting.rule_change_proposed.v1"] = "alerting.rule_change_proposed.v1"
    proposal_id: UUID
    rule_id: UUID
    rule_name: str
    version: int
    kind: RuleProposalKind
    proposed_by: str


@register
class RuleChangeApproved(AlertingEvent, frozen=True, kw_only=True):
    """A proposed rule version was approved and is live (`approval` says how)."""

    type: Literal["alerting.rule_change_approved.v1"] = "alerting.rule_change_approved.v1"
    proposal_id: UUID
    rule_id: UUID
    rule_name: str
    version: int
    kind: RuleProposalKind
    proposed_by: str
    approved_by: str
    approval: RuleApproval
    comment: str | None = None


@register
class RuleChangeRejected(AlertingEvent, frozen=True, kw_only=True):
    """A proposed rule version was turned down; the live rule (if any) is unchanged."""

    type: Literal["alerting.rule_change_rejected.v1"] = "alerting.rule_change_rejected.v1"
    proposal_id: UUID
    rule_id: UUID
    rule_name: str
    version: int
    kind: RuleProposalKind
    proposed_by: str
    rejected_by: str
    comment: str


# --- detection health (issue 23) ---------------------------------------------------------------

OperationalAlertKind = Literal["rule_spike", "model_drift"]


@register
class OperationalAlertRaised(AlertingEvent, frozen=True, kw_only=True):
    """Detection itself needs a look: a rule fires far above its own baseline, or a model's
    scores drifted. Not a customer's risk alert (no customer): it goes to the rule's or the
    model's owners and the teams subscribed to every alert. At most one per subject a day,
    none while an earlier one is unacknowledged."""

    type: Literal["alerting.operational_alert_raised.v1"] = "alerting.operational_alert_raised.v1"
    operational_alert_id: UUID
    kind: OperationalAlertKind
    subject_type: Literal["rule", "model"]
    subject_id: str
    subject_name: str
    severity: Severity
    title: str
    report: str
    # What jumped and by how much: volume, baseline and ratio; or psi and threshold.
    figures: dict[str, float]
    owners: list[str] = []
    owner_team: str | None = None
    raised_at: AwareDatetime
