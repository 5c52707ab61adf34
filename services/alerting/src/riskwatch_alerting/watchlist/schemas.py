"""Bodies and answers of the watch-list API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from riskwatch_shared.db.totals import PageTotal
from riskwatch_shared.events.alerting import WatchlistOrigin
from riskwatch_shared.text import SafeMultilineText, SafeText

WatchlistStatus = Literal["active", "exited"]
RequiredAction = Annotated[SafeText, Field(min_length=1, max_length=300)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WatchlistEnter(Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "reason": "Payroll inflows stopped for two months; arrears of 12 days",
                    "owner": "me",
                    "review_due": "2026-11-15",
                    "required_actions": ["Call the customer", "Review the overdraft limit"],
                    "exit_criteria": "Three months of regular payroll and no arrears",
                    "origin": "analyst",
                }
            ]
        },
    )

    customer_id: uuid.UUID
    reason: SafeMultilineText = Field(min_length=1, max_length=2_000)
    owner: SafeText = Field(
        default="me", min_length=1, max_length=200, description="Who follows it (`me`: you)"
    )
    review_due: date = Field(description="The first review's date (today or later)")
    required_actions: list[RequiredAction] = Field(default_factory=list, max_length=20)
    exit_criteria: SafeMultilineText = Field(min_length=1, max_length=2_000)
    origin: WatchlistOrigin = Field(
        default="analyst",
        description="`analyst` (a decision), `rule` or `warning` (an early-warning trigger "
        "calling this API; `origin_ref` names it)",
    )
    origin_ref: SafeText | None = Field(default=None, min_length=1, max_length=200)


class WatchlistReviewIn(Body):
    note: SafeMultilineText = Field(min_length=1, max_length=4_000)
    next_review_due: date = Field(description="Today or later")
    required_actions: list[RequiredAction] | None = Field(
        default=None, max_length=20, description="Replaces the required actions when given"
    )


class WatchlistExitIn(Body):
    reason: SafeMultilineText = Field(min_length=1, max_length=2_000)


class WatchlistReviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    reviewer: str
    reviewer_name: str | None
    note: str
    next_review_due: date


class WatchlistEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    customer_id: uuid.UUID
    customer_name: str | None
    relationship_manager: str | None
    status: WatchlistStatus
    reason: str
    owner: str
    review_due: date
    review_overdue: bool = Field(description="Active and its review date has passed (UTC)")
    required_actions: list[str]
    exit_criteria: str
    origin: WatchlistOrigin
    origin_ref: str | None
    entered_at: datetime
    entered_by: str
    entered_by_name: str | None
    last_reviewed_at: datetime | None
    exited_at: datetime | None
    exited_by: str | None
    exit_reason: str | None


class WatchlistEntryDetail(WatchlistEntryOut):
    reviews: list[WatchlistReviewOut]


class WatchlistPage(PageTotal):
    items: list[WatchlistEntryOut]
    next_cursor: str | None
