"""Bodies and answers of the shadow-run API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from riskwatch_alerting.domain.shadow import MAX_RUNNING_SHADOWS


class ShadowRunOut(BaseModel):
    """A proposed rule version evaluated on live traffic without raising alerts."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    proposal_id: uuid.UUID
    rule_id: uuid.UUID
    version: int = Field(description="The proposed version evaluated in shadow")
    status: str = Field(description="`running` or `stopped`")
    started_by: str
    started_at: datetime
    stopped_by: str | None
    stopped_at: datetime | None
    stop_reason: str | None = Field(
        description="`stopped` (by a manager), `approved`, `rejected` or `superseded` (its "
        "proposal decided), `hit_cap` (it stored the most hits a run may)"
    )
    hit_count: int = Field(description="Would-be hits stored so far")


class ShadowHitOut(BaseModel):
    """One event the shadow version would have alerted on, with the evidence it held on."""

    model_config = ConfigDict(from_attributes=True)

    event_id: uuid.UUID
    event_type: str
    customer_id: uuid.UUID | None
    transaction_id: uuid.UUID | None
    occurred_at: datetime
    evidence: dict[str, Any]


class ShadowHitPage(BaseModel):
    items: list[ShadowHitOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last")


class ShadowSetStart(BaseModel):
    """Several proposals (a rule set) put in shadow together, all or none."""

    model_config = ConfigDict(extra="forbid")

    proposal_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_RUNNING_SHADOWS)


class VersionCounts(BaseModel):
    hits: int = Field(description="Events the version's condition held on")
    alerts: int = Field(
        description="Alerts raised (the shadow's: would have raised, under its own dedup and "
        "cooldown from the shadow's start)"
    )
    labelled: int = Field(
        description="Of those alerts, how many coincide with an alert "
        "already dispositioned (same event, else same customer within 24 h)"
    )
    true_positives: int
    false_positives: int
    precision: float | None = Field(description="true_positives / labelled; null: none labelled")


class ComparedCounts(BaseModel):
    active: VersionCounts
    shadow: VersionCounts
    overlap_events: int = Field(description="Events both versions hit")
    overlap_customers: int = Field(description="Customers both versions hit (per day)")
    only_active: int = Field(description="Events only the active version hit")
    only_shadow: int = Field(description="Events only the shadow version hit")


class ComparedDayOut(ComparedCounts):
    day: date = Field(description="UTC day of the events' time")


class ShadowComparisonOut(BaseModel):
    """Per day, what the active version and the shadow version hit, side by side."""

    rule_id: uuid.UUID
    rule_name: str
    active_version: int | None = Field(description="The live version; null: not live")
    shadow_version: int
    run: ShadowRunOut
    start: datetime = Field(description="From (the later of the shadow's start and `days` ago)")
    end: datetime = Field(description="To (now, or when the shadow stopped)")
    totals: ComparedCounts
    days: list[ComparedDayOut]
