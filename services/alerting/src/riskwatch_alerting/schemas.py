"""Request and response bodies of the alerting API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskwatch_alerting.domain.desk import SlaState
from riskwatch_alerting.domain.lifecycle import AlertStatus, Outcome
from riskwatch_shared.db.totals import PageTotal
from riskwatch_shared.events.common import RuleType, Severity
from riskwatch_shared.governance import ProposalFields
from riskwatch_shared.text import PatchBody, SafeMultilineText, SafeText

RuleStatus = Literal["draft", "active", "disabled"]
ListKind = Literal["countries", "counterparties", "accounts", "devices", "other"]
MAX_COOLDOWN_SECONDS = 90 * 86_400
# A backtest replays at most 90 days of history, ending no later than now (a minute of clock
# skew allowed) and starting no earlier than 2000 (warm-up windows reach further back).
MAX_BACKTEST_DAYS = 90
# A backtest job (run off the request, in a process of its own) may cover up to a year.
MAX_BACKTEST_JOB_DAYS = 366
BACKTEST_CLOCK_SKEW = timedelta(minutes=1)
EARLIEST_BACKTEST_START = datetime(2000, 1, 1, tzinfo=UTC)
MAX_VERSION = 2_147_483_647
MAX_TEMPLATE_PARAMETERS = 50
SuggestedAction = Annotated[SafeText, Field(min_length=1, max_length=500)]
# A threshold a template puts into a condition: a finite number of a sensible size.
TemplateParameter = Annotated[
    Decimal, Field(allow_inf_nan=False, ge=-(10**15), le=10**15, max_digits=24)
]


MAX_BULK_ASSIGN = 500


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- rules ----------------------------------------------------------------------------------


class RuleCreate(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Large transfer abroad",
                    "rule_type": "transaction_anomaly",
                    "severity": "high",
                    "trigger_event_types": ["scoring.transaction_scored.v1"],
                    "condition": 'txn.amount > 10000 and txn.counterparty_country != "PT"',
                    "description": "A single transfer above 10,000 to another country than the "
                    "customer's.",
                }
            ]
        }
    )
    name: SafeText = Field(min_length=1, max_length=200)
    rule_type: RuleType
    severity: Severity
    trigger_event_types: list[SafeText] = Field(min_length=1, max_length=10)
    condition: SafeMultilineText = Field(min_length=1, max_length=2_000)
    dedup_key: SafeText = Field(default="customer_id", min_length=1, max_length=200)
    cooldown_seconds: int = Field(default=3_600, ge=0, le=MAX_COOLDOWN_SECONDS)
    owner_team: SafeText | None = Field(default=None, max_length=120)
    description: SafeMultilineText | None = Field(default=None, max_length=4_000)
    suggested_actions: list[SuggestedAction] = Field(default_factory=list, max_length=20)
    title_template: SafeText | None = Field(
        default=None,
        max_length=300,
        description="The alert's title; parameters in braces, e.g. {customer}",
    )
    summary_template: SafeMultilineText | None = Field(
        default=None,
        max_length=2_000,
        description="The alert's summary, e.g. 'Payment of {amount} by {customer}'",
    )


class RuleUpdate(Body, PatchBody):
    """Only the fields given change; every change makes a new version. `null` clears only
    `owner_team` and `description`."""

    NULLABLE = frozenset({"owner_team", "description", "title_template", "summary_template"})

    name: SafeText | None = Field(default=None, min_length=1, max_length=200)
    rule_type: RuleType | None = None
    severity: Severity | None = None
    trigger_event_types: list[SafeText] | None = Field(default=None, min_length=1, max_length=10)
    condition: SafeMultilineText | None = Field(default=None, min_length=1, max_length=2_000)
    dedup_key: SafeText | None = Field(default=None, min_length=1, max_length=200)
    cooldown_seconds: int | None = Field(default=None, ge=0, le=MAX_COOLDOWN_SECONDS)
    owner_team: SafeText | None = Field(default=None, max_length=120)
    description: SafeMultilineText | None = Field(default=None, max_length=4_000)
    suggested_actions: list[SuggestedAction] | None = Field(default=None, max_length=20)
    title_template: SafeText | None = Field(
        default=None,
        max_length=300,
        description="The alert's title; parameters in braces, e.g. {customer}",
    )
    summary_template: SafeMultilineText | None = Field(
        default=None,
        max_length=2_000,
        description="The alert's summary, e.g. 'Payment of {amount} by {customer}'",
    )


class RuleOut(Out):
    id: uuid.UUID
    version: int
    name: str
    rule_type: str
    severity: str
    status: str
    trigger_event_types: list[str]
    condition: str
    dedup_key: str
    cooldown_seconds: int
    owner_team: str | None
    description: str | None
    suggested_actions: list[str]
    template_key: str | None
    title_template: str | None = None
    summary_template: str | None = None
    pending_version: int | None = Field(
        default=None,
        description="A draft version of this active rule awaiting an admin's activation",
    )
    rollout_version: int | None = Field(
        default=None,
        description="An approved version in a percentage rollout beside the live one",
    )
    rollout_percent: int | None = Field(
        default=None, description="The share of customers the rollout version evaluates for"
    )
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


class RuleVersionOut(Out):
    rule_id: uuid.UUID
    version: int
    snapshot: dict[str, Any]
    changed_fields: list[str]
    changed_by: str
    changed_at: datetime


class StatusChange(Body):
    reason: SafeMultilineText | None = Field(default=None, max_length=2_000)


ProposalStatus = Literal["pending", "approved", "rejected", "superseded"]


class ProposalOut(Out):
    """A proposed rule version (maker-checker): approved by someone other than its author."""

    id: uuid.UUID
    rule_id: uuid.UUID
    version: int = Field(description="The proposed version (GET /v1/rules/{id}/versions/{v})")
    kind: str = Field(description="`create` (a new rule) or `change` (of an active rule)")
    status: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
    approval: str | None = Field(
        description="How it was approved: `four_eyes`, `self` (ALLOW_SELF_APPROVAL), "
        "`system_configuration` (an unmodified shipped template) or `service`"
    )
    self_approval_allowed: bool = Field(
        default=False,
        description="True when this install lets an author approve their own change "
        "(ALERTING_ALLOW_SELF_APPROVAL, a one-person development install only)",
    )


class ProposalDecision(Body):
    comment: SafeMultilineText | None = Field(default=None, max_length=2_000)
    rollout_percent: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="A change of an active rule: evaluate the new version for this share of "
        "customers (a stable hash of the customer id), the live version for the rest, until "
        "POST /v1/rules/{id}/rollout takes it to 100. Omitted or 100: live for everyone now",
    )


class RolloutChange(Body):
    percent: int = Field(
        ge=1, le=100, description="The share of customers on the new version; 100 completes it"
    )


class ProposalRejection(Body):
    comment: SafeMultilineText = Field(min_length=1, max_length=2_000)


class RuleAuditOut(Out):
    """One step of a rule's governance history."""

    proposal_id: uuid.UUID | None
    action: str
    version: int | None
    actor: str
    actor_roles: str
    comment: str | None
    occurred_at: datetime


class ConditionCheck(Body):
    condition: SafeMultilineText = Field(min_length=1, max_length=2_000)


class ConditionCheckOut(BaseModel):
    valid: bool
    fields: list[str]
    aggregates: list[str]
    lists: list[str]


class FieldOut(BaseModel):
    path: str
    type: str
    description: str


# --- templates ------------------------------------------------------------------------------


class TemplateOut(BaseModel):
    key: str
    name: str
    rule_type: str
    severity: str
    trigger_event_types: list[str]
    condition_template: str
    condition: str
    dedup_key: str
    cooldown_seconds: int
    description: str
    parameters: dict[str, Decimal]


class TemplateInstantiate(Body):
    name: SafeText | None = Field(default=None, min_length=1, max_length=200)
    severity: Severity | None = None
    parameters: dict[Annotated[SafeText, Field(max_length=80)], TemplateParameter] = Field(
        default_factory=dict, max_length=MAX_TEMPLATE_PARAMETERS
    )
    cooldown_seconds: int | None = Field(default=None, ge=0, le=MAX_COOLDOWN_SECONDS)
    dedup_key: SafeText | None = Field(default=None, min_length=1, max_length=200)
    owner_team: SafeText | None = Field(default=None, max_length=120)
    suggested_actions: list[SuggestedAction] = Field(default_factory=list, max_length=20)


# --- managed lists --------------------------------------------------------------------------


class ListEntryIn(Body):
    value: SafeText = Field(min_length=1, max_length=200)
    note: SafeMultilineText | None = Field(default=None, max_length=1_000)


class ListCreate(Body):
    name: SafeText = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    kind: ListKind
    description: SafeMultilineText | None = Field(default=None, max_length=2_000)
    entries: list[ListEntryIn] = Field(default_factory=list, max_length=100_000)


class ListUpdate(Body, PatchBody):
    NULLABLE = frozenset({"description"})

    kind: ListKind | None = None
    description: SafeMultilineText | None = Field(default=None, max_length=2_000)


class ListOut(Out):
    id: uuid.UUID
    name: str
    kind: str
    description: str | None
    entry_count: int
    created_at: datetime
    updated_at: datetime
    updated_by: str
    pending_proposals: int = Field(
        default=0,
        description="Changes waiting for a second person (GET /v1/list-proposals?list_id=)",
    )


class ListProposalOut(ProposalFields):
    """A proposed change of a managed list an active rule names (maker-checker): approved by
    someone other than its author (POST /v1/list-proposals/{id}/approve); the rules match on
    the list as it is until then."""

    list_id: uuid.UUID
    kind: str = Field(
        description="`load` (entries, `mode` merge or replace), `remove` (values), `update` "
        "(kind, description) or `delete`"
    )
    change: dict[str, Any] = Field(description="What it changes (the entries in full)")


class ListEntriesLoad(Body):
    """Bulk load: `merge` adds or updates the given values, `replace` makes them the list."""

    entries: list[ListEntryIn] = Field(max_length=100_000)
    mode: Literal["merge", "replace"] = "merge"


class ListEntriesRemove(Body):
    values: list[SafeText] = Field(min_length=1, max_length=100_000)


class ListEntryOut(Out):
    value: str
    note: str | None
    added_at: datetime
    added_by: str


class ListEntriesPage(PageTotal):
    items: list[ListEntryOut]
    next_cursor: str | None


# `list` is a field of BulkLoadOut: its list of values is named before.
ValueList = list[str]


class BulkLoadOut(BaseModel):
    list: ListOut
    loaded: int = Field(description="Values given, each counted once")
    removed: int
    added: int = Field(default=0, description="Values new to the list")
    already_present: ValueList = Field(
        default_factory=ValueList,
        description="Given values the list held already (a merge updates their note)",
    )


# --- backtests ------------------------------------------------------------------------------


def check_backtest_range(start: datetime, end: datetime, *, max_days: int) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end need a timezone")
    if end <= start:
        raise ValueError("end must be after start")
    if end - start > timedelta(days=max_days):
        raise ValueError(f"a backtest covers at most {max_days} days")
    if end > datetime.now(UTC) + BACKTEST_CLOCK_SKEW:
        raise ValueError("end cannot be in the future")
    if start < EARLIEST_BACKTEST_START:
        raise ValueError("start cannot be before 2000-01-01")


class BacktestRange(Body):
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> BacktestRange:
        check_backtest_range(self.start, self.end, max_days=MAX_BACKTEST_DAYS)
        return self


class DraftRule(Body):
    """A condition to backtest that is not saved as a rule."""

    condition: SafeMultilineText = Field(min_length=1, max_length=2_000)
    trigger_event_types: list[SafeText] = Field(min_length=1, max_length=10)
    dedup_key: SafeText = Field(default="customer_id", min_length=1, max_length=200)
    cooldown_seconds: int = Field(default=3_600, ge=0, le=MAX_COOLDOWN_SECONDS)
    rule_type: RuleType = "custom"
    severity: Severity = "medium"


class DraftBacktest(DraftRule, BacktestRange):
    """A draft condition backtested in the request (`POST /v1/backtests`)."""


class BacktestJobCreate(Body):
    """A backtest to run as a job: a saved rule (its current version, or `rule_version`) or
    a `draft` condition, over at most 366 days of stored history."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rule_id": "9a7b6c5d-4e3f-4a2b-8c1d-0e9f8a7b6c5d",
                    "start": "2026-06-01T00:00:00Z",
                    "end": "2026-12-01T00:00:00Z",
                }
            ]
        }
    )
    rule_id: uuid.UUID | None = None
    rule_version: int | None = Field(default=None, ge=1, le=MAX_VERSION)
    draft: DraftRule | None = None
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _one_subject(self) -> BacktestJobCreate:
        if (self.rule_id is None) == (self.draft is None):
            raise ValueError("give either rule_id or draft")
        if self.rule_version is not None and self.rule_id is None:
            raise ValueError("rule_version needs rule_id")
        check_backtest_range(self.start, self.end, max_days=MAX_BACKTEST_JOB_DAYS)
        return self


class DayCount(BaseModel):
    day: str
    alerts: int


class BacktestOut(BaseModel):
    rule_id: uuid.UUID | None
    rule_version: int | None
    condition: str
    start: datetime
    end: datetime
    events_replayed: int
    events_evaluated: int
    matches: int
    alerts: int
    occurrences: int
    alerts_per_day: list[DayCount]
    samples: list[dict[str, Any]]
    labelled: int
    true_positives: int
    false_positives: int
    precision: float | None


BacktestJobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "timed_out"]


class BacktestJobOut(BaseModel):
    """A backtest job: its state, its progress while it runs, its result once it succeeded."""

    id: uuid.UUID
    status: BacktestJobStatus
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rule_id: uuid.UUID | None
    rule_version: int | None
    rule_name: str
    condition: str
    trigger_event_types: list[str]
    start: datetime
    end: datetime
    cancel_requested: bool
    events_replayed: int = Field(description="History events read so far (warm-up included)")
    events_evaluated: int = Field(description="Trigger events in range evaluated so far")
    hits: int = Field(description="Would-be alerts so far")
    replayed_until: datetime | None = Field(description="Event time the replay has reached")
    progress: float = Field(ge=0, le=1, description="Share of the time range replayed")
    attempts: int
    error: str | None
    result: BacktestOut | None = Field(description="Present once the job succeeded")
    events_url: str = Field(description="Its progress as Server-Sent Events")


class BacktestJobPage(BaseModel):
    items: list[BacktestJobOut]
    next_cursor: str | None


# --- alerts ---------------------------------------------------------------------------------


class AlertOut(Out):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5b0e7c1e-8a51-4a8e-9a54-1f6f0b1d2c3e",
                    "rule_id": "9a7b6c5d-4e3f-4a2b-8c1d-0e9f8a7b6c5d",
                    "rule_version": 3,
                    "rule_name": "Large transfer abroad",
                    "rule_type": "transaction_anomaly",
                    "severity": "high",
                    "status": "resolved",
                    "outcome": "mitigated_customer_contacted",
                    "mitigation": "Customer confirmed the supplier payment by phone.",
                    "customer_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "customer_name": "Ana Pereira",
                    "relationship_manager": "rm-lisbon-1",
                    "title": "Large transfer abroad: EUR 12,500.00 to DE",
                    "summary": "An outbound transfer of EUR 12,500.00 to Nordlicht Logistik GmbH.",
                    "trigger_event_id": "7d444840-9dc0-11d1-b245-5ffdce74fad2",
                    "trigger_event_type": "scoring.transaction_scored.v1",
                    "transaction_id": "6fa459ea-ee8a-3ca4-894e-db77e160355e",
                    "evidence": {"amount": "12500.00", "currency": "EUR"},
                    "scores": {"anomaly": 0.91},
                    "reasons": [
                        "Amount is 8.2x the 30-day average — confirm the payment with the "
                        "customer before release"
                    ],
                    "coded_reasons": [
                        {
                            "code": "amount_vs_average",
                            "message": "Amount is 8.2x the 30-day average",
                            "contribution": 0.41,
                            "params": {"value": "8.2"},
                            "advice": "confirm the payment with the customer before release",
                        }
                    ],
                    "message_code": "alert.large_amount_vs_average",
                    "message_params": {"customer": "Ana Pereira", "amount": "12500.00"},
                    "suggested_actions": ["Call the customer to confirm the payment"],
                    "dedup_value": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "occurrence_count": 1,
                    "first_seen_at": "2026-03-02T09:14:06Z",
                    "last_seen_at": "2026-03-02T09:14:06Z",
                    "raised_at": "2026-03-02T09:14:06Z",
                    "happened_at": "2026-03-02T09:13:58Z",
                    "acknowledged_at": "2026-03-02T09:31:40Z",
                    "resolved_at": "2026-03-02T10:02:17Z",
                    "sla_due_at": "2026-03-02T13:14:06Z",
                    "sla_state": "ok",
                    "assignee": "risk.analyst@bank.example",
                    "assignee_team": "Risk department",
                    "updated_at": "2026-03-02T10:02:17Z",
                }
            ]
        }
    )

    id: uuid.UUID
    rule_id: uuid.UUID
    rule_version: int
    rule_name: str
    rule_type: RuleType
    severity: Severity
    status: AlertStatus
    outcome: Outcome | None
    mitigation: str | None
    customer_id: uuid.UUID | None
    customer_name: str | None
    relationship_manager: str | None
    title: str
    summary: str
    trigger_event_id: uuid.UUID | None
    trigger_event_type: str | None
    transaction_id: uuid.UUID | None
    evidence: dict[str, Any]
    scores: dict[str, Any]
    reasons: list[str]
    suggested_actions: list[str]
    message_code: str | None = Field(
        default=None, description="The title and summary as a message code (any locale)"
    )
    message_params: dict[str, Any] = Field(default_factory=dict)
    coded_reasons: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Each reason once: code, message, params, contribution, advice",
    )
    dedup_value: str
    occurrence_count: int
    first_seen_at: datetime
    last_seen_at: datetime
    raised_at: datetime
    happened_at: datetime = Field(
        description="When the thing happened (transaction time, credit record as-of date)"
    )
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    sla_due_at: datetime
    sla_state: SlaState = Field(
        description="The SLA badge now: `red` once due (or resolved late), `amber` in the last "
        "quarter of the SLA window, `ok` otherwise"
    )
    assignee: str | None
    assignee_team: str | None
    updated_at: datetime
    # The case the alert is worked in (`GET /v1/cases/{case_id}`).
    case_id: uuid.UUID | None = None


class OccurrenceOut(Out):
    event_id: uuid.UUID
    event_type: str
    transaction_id: uuid.UUID | None
    occurred_at: datetime
    evidence: dict[str, Any]


class AlertDetail(AlertOut):
    model_config = ConfigDict(json_schema_extra={})  # not AlertOut's example: more fields

    allowed_actions: list[str]
    occurrences: list[OccurrenceOut]


class AlertPage(PageTotal):
    items: list[AlertOut]
    next_cursor: str | None


class TimelineEntryOut(Out):
    at: datetime
    actor: str | None
    change: str
    status: str
    detail: dict[str, Any]
    # The acting person's name and roles (comma-separated), when a person acted.
    actor_name: str | None = None
    actor_roles: str | None = None


class AcknowledgeBody(Body):
    comment: SafeMultilineText | None = Field(default=None, max_length=4_000)


class InvestigateBody(AcknowledgeBody):
    pass


class EscalateBody(Body):
    reason: SafeMultilineText | None = Field(default=None, max_length=4_000)
    team: SafeText | None = Field(default=None, max_length=200)


class AssignBody(Body):
    assignee: SafeText | None = Field(default=None, min_length=1, max_length=200)
    team: SafeText | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _someone(self) -> AssignBody:
        if self.assignee is None and self.team is None:
            raise ValueError("give an assignee, a team or both")
        return self


class BulkAssignBody(AssignBody):
    alert_ids: list[uuid.UUID] = Field(
        min_length=1,
        max_length=MAX_BULK_ASSIGN,
        description=f"The alerts to assign (at most {MAX_BULK_ASSIGN}, each once)",
    )

    @model_validator(mode="after")
    def _each_once(self) -> BulkAssignBody:
        if len(set(self.alert_ids)) != len(self.alert_ids):
            raise ValueError("alert_ids names an alert more than once")
        return self


BulkAssignStatus = Literal["assigned", "not_found", "not_allowed"]


class BulkAssignResult(BaseModel):
    alert_id: uuid.UUID
    result: BulkAssignStatus = Field(
        description="`not_found`: no such alert (or not yours to see); `not_allowed`: resolved"
    )
    detail: str | None = None


class BulkAssignOut(BaseModel):
    assigned: int
    results: list[BulkAssignResult]


class SlaCounts(BaseModel):
    ok: int = 0
    amber: int = 0
    red: int = 0


class DeskSummary(BaseModel):
    """The start page: my open work by SLA badge, and what came in today."""

    me: list[str] = Field(description="Who `me` is in the assignee filters (subject, staff id)")
    my_open_cases: SlaCounts
    my_open_alerts: SlaCounts
    new_alerts_today: int = Field(description="Alerts raised since 00:00 UTC that you may see")
    new_unassigned_alerts_today: int
    my_watchlist_reviews_due: int = Field(
        description="Active watch-list entries you own whose review is due today or earlier"
    )
    day_start: datetime


class CommentBody(Body):
    comment: SafeMultilineText = Field(min_length=1, max_length=4_000)


class ContactBody(Body):
    channel: Literal["call", "email", "sms", "branch_visit", "meeting", "other"]
    note: SafeMultilineText | None = Field(default=None, max_length=4_000)


class ResolveBody(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "outcome": "mitigated_customer_contacted",
                    "comment": "Customer confirmed the supplier payment by phone.",
                }
            ]
        }
    )
    outcome: Outcome
    comment: SafeMultilineText | None = Field(default=None, max_length=4_000)


# A new limit fits the customer service's Numeric(20, 4): positive, at most 16 integer digits.
LimitAmount = Annotated[
    Decimal, Field(gt=0, lt=Decimal(10) ** 16, max_digits=20, decimal_places=4, allow_inf_nan=False)
]
CurrencyCode = Annotated[SafeText, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]
MeasureReason = Annotated[SafeMultilineText, Field(max_length=2_000)]


class ReduceLimitMeasure(Body):
    kind: Literal["reduce_limit"]
    new_limit: LimitAmount
    currency: CurrencyCode
    reason: MeasureReason | None = None


class FreezeAccountMeasure(Body):
    kind: Literal["freeze_account"]
    account_id: uuid.UUID
    reason: MeasureReason | None = None


class PaymentReviewMeasure(Body):
    kind: Literal["require_payment_review"]
    reason: MeasureReason | None = None


class AddToListMeasure(Body):
    kind: Literal["add_to_list"]
    list_id: uuid.UUID
    value: SafeText = Field(min_length=1, max_length=200)
    reason: MeasureReason | None = None


MeasureBody = Annotated[
    ReduceLimitMeasure | FreezeAccountMeasure | PaymentReviewMeasure | AddToListMeasure,
    Field(discriminator="kind"),
]


class ReopenBody(Body):
    reason: SafeMultilineText | None = Field(default=None, max_length=4_000)


class TimeToAcknowledge(BaseModel):
    count: int
    mean_seconds: float | None
    median_seconds: float | None


class RuleFalsePositives(BaseModel):
    rule_id: uuid.UUID
    rule_name: str
    resolved: int
    false_positives: int
    false_positive_rate: float


class AlertStats(BaseModel):
    total: int
    by_type: dict[str, int]
    by_severity: dict[str, int]
    by_status: dict[str, int]
    by_day: dict[str, int]
    time_to_acknowledge: TimeToAcknowledge
    false_positive_rate_by_rule: list[RuleFalsePositives]


__all__ = ["AlertStatus"]
