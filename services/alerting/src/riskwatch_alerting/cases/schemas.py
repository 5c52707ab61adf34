"""Request and response bodies of the case and suppression routes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from riskwatch_alerting.domain.cases import CaseStatus
from riskwatch_alerting.domain.lifecycle import Outcome
from riskwatch_alerting.domain.suppression import TargetKind
from riskwatch_alerting.schemas import AlertOut
from riskwatch_shared.db.totals import PageTotal
from riskwatch_shared.text import SafeMultilineText, SafeText

MAX_SUPPRESSION = timedelta(days=366)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CaseOut(Out):
    id: uuid.UUID
    customer_id: uuid.UUID | None
    customer_name: str | None
    relationship_manager: str | None
    status: CaseStatus
    priority: str
    assignee: str | None
    outcome: str | None
    alert_count: int
    opened_at: datetime
    updated_at: datetime
    sla_due_at: datetime
    closed_at: datetime | None


class CasePage(PageTotal):
    items: list[CaseOut]
    next_cursor: str | None


class SuppressionOut(Out):
    id: uuid.UUID
    rule_id: uuid.UUID
    target_kind: str
    target_value: str
    customer_id: uuid.UUID | None
    case_id: uuid.UUID | None
    until: datetime
    reason: str
    created_by: str
    created_by_name: str | None
    created_by_roles: str | None
    created_at: datetime
    lifted_at: datetime | None
    lifted_by: str | None
    active: bool = False


class CaseDetail(CaseOut):
    allowed_actions: list[str]
    alerts: list[AlertOut]
    suppressions: list[SuppressionOut]


class CaseTimelineOut(BaseModel):
    at: datetime
    source: Literal["case", "alert", "notification"]
    change: str
    actor: str | None
    actor_name: str | None
    actor_roles: list[str]
    alert_id: uuid.UUID | None
    detail: dict[str, Any]


class CaseAssignBody(Body):
    assignee: SafeText = Field(min_length=1, max_length=200)


class CaseCommentBody(Body):
    comment: SafeMultilineText = Field(min_length=1, max_length=4_000)


class CaseInvestigateBody(Body):
    comment: SafeMultilineText | None = Field(default=None, max_length=4_000)


class CaseCloseBody(Body):
    outcome: Outcome
    comment: SafeMultilineText | None = Field(default=None, max_length=4_000)
    # Alerts resolved with their own outcome; the others get `outcome`.
    outcomes: dict[uuid.UUID, Outcome] = Field(default_factory=dict, max_length=500)


class CaseReopenBody(Body):
    reason: SafeMultilineText | None = Field(default=None, max_length=4_000)


class SuppressionCreate(Body):
    target_kind: TargetKind
    target_value: SafeText = Field(min_length=1, max_length=200)
    until: datetime
    reason: SafeMultilineText = Field(min_length=3, max_length=2_000)
    case_id: uuid.UUID | None = None

    @field_validator("until")
    @classmethod
    def _future(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("until needs a time zone")
        now = datetime.now(UTC)
        if value <= now:
            raise ValueError("until must be in the future")
        if value > now + MAX_SUPPRESSION:
            raise ValueError("a suppression lasts at most 366 days")
        return value.astimezone(UTC)
