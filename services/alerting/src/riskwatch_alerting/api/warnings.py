"""Routes: the credit early warning (its catalogue, customers' indicators, segment baselines)
and the watch list's report over a period (movements, counts per indicator)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import and_, func, or_, select, true

from riskwatch_alerting.api.common import INVALID
from riskwatch_alerting.errors import InvalidQuery
from riskwatch_alerting.models import (
    CustomerDirectoryEntry,
    WarningState,
    WatchlistEntry,
    WatchlistReview,
)
from riskwatch_alerting.warning import baselines as baseline_math
from riskwatch_alerting.warning import store
from riskwatch_alerting.warning.catalogue import CATALOGUE, INDICATORS
from riskwatch_alerting.warning.service import refresh_baselines
from riskwatch_alerting.watchlist.store import entry_owned_by
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.ownership import owner_scope
from riskwatch_shared.pagination import InvalidCursor, encode_keyed_cursor, keyed_cursor_after
from riskwatch_shared.policy import MANAGERS
from riskwatch_shared.roles import require_role

router = APIRouter()
MAX_REPORT_DAYS = 366


class TriggerOut(BaseModel):
    kind: Literal["absolute", "change", "segment"]
    metric: str
    direction: Literal["above", "below"]
    amber: float = Field(description="For `segment`: the segment percentile")
    red: float


class IndicatorOut(BaseModel):
    key: str
    name: str
    description: str
    triggers: list[TriggerOut]
    required_actions: list[str]
    exit_criteria: str


class CatalogueOut(BaseModel):
    source: str
    indicators: list[IndicatorOut]


class WarningStateOut(BaseModel):
    customer_id: uuid.UUID
    indicator: str
    indicator_name: str
    level: Literal["amber", "red"] | None
    since: datetime | None
    first_amber_at: datetime | None
    first_red_at: datetime | None
    value: float | None
    triggers: list[dict[str, Any]]


class WarningStatesPage(BaseModel):
    items: list[WarningStateOut]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last"
    )


class BaselinesOut(BaseModel):
    computed_at: datetime | None
    segments: dict[str, Any]


class IndicatorCounts(BaseModel):
    indicator: str
    indicator_name: str
    amber_raised: int = 0
    red_raised: int = 0
    escalated_to_red: int = 0
    eased: int = 0
    cleared: int = 0
    watchlist_entered: int = 0


class WatchlistMovement(BaseModel):
    at: datetime
    kind: Literal["entered", "reviewed", "exited"]
    entry_id: uuid.UUID
    customer_id: uuid.UUID
    by: str | None
    detail: str | None


class WatchlistReport(BaseModel):
    since: datetime
    until: datetime
    entered: int
    reviewed: int
    exited: int
    active_at_end: int
    reviews_due_by_end: int
    entered_by_origin: dict[str, int]
    indicators: list[IndicatorCounts]
    movements: list[WatchlistMovement]
    movements_truncated: bool


@router.get("/warnings/catalogue", operation_id="alerting-warnings-catalogue")
async def warning_catalogue() -> CatalogueOut:
    """The credit early-warning indicators and their AMBER/RED triggers."""
    return CatalogueOut(
        source="EBA GL/2020/06 (section 8, monitoring), central-bank early-warning signal lists",
        indicators=[
            IndicatorOut(
                key=i.key,
                name=i.name,
                description=i.description,
                triggers=[
                    TriggerOut(
                        kind=t.kind,
                        metric=t.metric,
                        direction=t.direction,
                        amber=t.amber,
                        red=t.red,
                    )
                    for t in i.triggers
                ],
                required_actions=list(i.required_actions),
                exit_criteria=i.exit_criteria,
            )
            for i in CATALOGUE
        ],
    )


def _owned_states(relationship_manager: str) -> Any:
    theirs = select(CustomerDirectoryEntry.customer_id).where(
        CustomerDirectoryEntry.relationship_manager == relationship_manager
    )
    return WarningState.customer_id.in_(theirs)


@router.get("/warnings", operation_id="alerting-warnings-list", responses=INVALID)
async def list_warnings(
    session: SessionDep,
    identity: IdentityDep,
    customer_id: uuid.UUID | None = None,
    level: Annotated[
        Literal["amber", "red", "any"], Query(description="`any`: amber or red now")
    ] = "any",
    indicator: Annotated[str | None, Query(max_length=60)] = None,
    include_cleared: Annotated[
        bool, Query(description="Also indicators warned once and now clear")
    ] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=400, description="next_cursor of the previous page")
    ] = None,
) -> WarningStatesPage:
    """Customers' early-warning indicators, latest first, a page at a time (keyset cursor:
    stable while indicators move); an RM sees their customers' only."""
    if indicator is not None and indicator not in INDICATORS:
        raise InvalidQuery(f"unknown indicator {indicator!r}", parameter="indicator")
    after = None
    if cursor is not None:
        try:
            after = keyed_cursor_after(cursor, uuid.UUID)
        except InvalidCursor as exc:
            raise InvalidQuery(str(exc), parameter="cursor") from exc
    statement = select(WarningState)
    scope = owner_scope(identity)
    if scope is not None:
        statement = statement.where(_owned_states(scope))
    if customer_id is not None:
        statement = statement.where(WarningState.customer_id == customer_id)
    if indicator is not None:
        statement = statement.where(WarningState.indicator == indicator)
    if level != "any":
        statement = statement.where(WarningState.level == level)
    elif not include_cleared:
        statement = statement.where(WarningState.level.is_not(None))
    if after is not None:
        at, after_customer, after_indicator = after
        # Newest first, then customer and indicator ascending: the rows after the cursor's.
        statement = statement.where(
            or_(
                WarningState.updated_at < at,
                and_(
                    WarningState.updated_at == at,
                    or_(
                        WarningState.customer_id > after_customer,
                        and_(
                            WarningState.customer_id == after_customer,
                            WarningState.indicator > after_indicator,
                        ),
                    ),
                ),
            )
        )
    statement = statement.order_by(
        WarningState.updated_at.desc(), WarningState.customer_id, WarningState.indicator
    ).limit(limit + 1)
    fetched = (await session.execute(statement)).scalars().all()
    rows = fetched[:limit]
    next_cursor = None
    if len(fetched) > limit:
        last = rows[-1]
        next_cursor = encode_keyed_cursor(last.updated_at, last.customer_id, last.indicator)
    return WarningStatesPage(
        next_cursor=next_cursor,
        items=[
            WarningStateOut(
                customer_id=row.customer_id,
                indicator=row.indicator,
                indicator_name=INDICATORS[row.indicator].name
                if row.indicator in INDICATORS
                else row.indicator,
                level=row.level,
                since=row.since,
                first_amber_at=row.first_amber_at,
                first_red_at=row.first_red_at,
                value=row.value,
                triggers=list(row.detail),
            )
            for row in rows
        ],
    )


@router.get("/warnings/baselines", operation_id="alerting-warnings-baselines")
async def get_baselines(session: SessionDep) -> BaselinesOut:
    """The segment baselines the segment triggers read (percentiles per segment and metric)."""
    table, computed = await store.load_baselines(session)
    return BaselinesOut(computed_at=computed, segments=baseline_math.to_json(table))


@router.post("/warnings/baselines", operation_id="alerting-warnings-baselines-refresh")
async def recompute_baselines(session: SessionDep, identity: IdentityDep) -> BaselinesOut:
    """Recompute the segment baselines from the portfolio now (risk managers, admins)."""
    require_role(identity, MANAGERS, action="recomputing the early-warning baselines")
    now = datetime.now(UTC)
    table = await refresh_baselines(session, now)
    return BaselinesOut(computed_at=now, segments=baseline_math.to_json(table))


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    end = until or datetime.now(UTC)
    start = since or end - timedelta(days=30)
    for name, moment in (("since", start), ("until", end)):
        if moment.tzinfo is None:
            raise InvalidQuery(f"{name} needs a timezone (UTC: Z)", parameter=name)
    if start >= end:
        raise InvalidQuery("since must be before until", parameter="since")
    if end - start > timedelta(days=MAX_REPORT_DAYS):
        raise InvalidQuery(f"a report covers at most {MAX_REPORT_DAYS} days", parameter="since")
    return start, end


@router.get("/watchlist/report", operation_id="alerting-watchlist-report", responses=INVALID)
async def watchlist_report(
    session: SessionDep,
    identity: IdentityDep,
    since: Annotated[datetime | None, Query(description="Default: 30 days before until")] = None,
    until: Annotated[datetime | None, Query(description="Default: now")] = None,
    limit: Annotated[int, Query(ge=0, le=1000, description="Movements listed")] = 200,
) -> WatchlistReport:
    """The watch list over a period: entries, reviews and exits (each listed, newest first),
    and per early-warning indicator its ambers, reds and clears and the entries it caused. An
    RM's report covers their own customers."""
    start, end = _period(since, until)
    scope = owner_scope(identity)
    owned = true() if scope is None else entry_owned_by(scope)
    entered_rows = (
        (
            await session.execute(
                select(WatchlistEntry).where(
                    owned, WatchlistEntry.entered_at >= start, WatchlistEntry.entered_at < end
                )
            )
        )
        .scalars()
        .all()
    )
    exited_rows = (
        (
            await session.execute(
                select(WatchlistEntry).where(
                    owned,
                    WatchlistEntry.exited_at.is_not(None),
                    WatchlistEntry.exited_at >= start,
                    WatchlistEntry.exited_at < end,
                )
            )
        )
        .scalars()
        .all()
    )
    review_rows = (
        await session.execute(
            select(WatchlistReview, WatchlistEntry.customer_id)
            .join(WatchlistEntry, WatchlistEntry.id == WatchlistReview.entry_id)
            .where(owned, WatchlistReview.at >= start, WatchlistReview.at < end)
        )
    ).all()
    active_at_end = await session.scalar(
        select(func.count())
        .select_from(WatchlistEntry)
        .where(
            owned,
            WatchlistEntry.entered_at < end,
            or_(WatchlistEntry.exited_at.is_(None), WatchlistEntry.exited_at >= end),
        )
    )
    due = await session.scalar(
        select(func.count())
        .select_from(WatchlistEntry)
        .where(
            owned,
            and_(WatchlistEntry.status == "active", WatchlistEntry.review_due <= end.date()),
        )
    )
    movements = [
        WatchlistMovement(
            at=e.entered_at,
            kind="entered",
            entry_id=e.id,
            customer_id=e.customer_id,
            by=e.entered_by,
            detail=e.reason,
        )
        for e in entered_rows
    ]
    movements += [
        WatchlistMovement(
            at=r.at,
            kind="reviewed",
            entry_id=r.entry_id,
            customer_id=customer_id,
            by=r.reviewer,
            detail=r.note,
        )
        for r, customer_id in review_rows
    ]
    movements += [
        WatchlistMovement(
            at=e.exited_at,
            kind="exited",
            entry_id=e.id,
            customer_id=e.customer_id,
            by=e.exited_by,
            detail=e.exit_reason,
        )
        for e in exited_rows
        if e.exited_at is not None
    ]
    movements.sort(key=lambda m: (m.at, m.kind), reverse=True)
    origins: dict[str, int] = {}
    for entry in entered_rows:
        origins[entry.origin] = origins.get(entry.origin, 0) + 1
    counts = {i.key: IndicatorCounts(indicator=i.key, indicator_name=i.name) for i in CATALOGUE}
    customers = None
    if scope is not None:
        customers = select(CustomerDirectoryEntry.customer_id).where(
            CustomerDirectoryEntry.relationship_manager == scope
        )
    for indicator, change, to_level, n in await store.movement_counts(
        session, start, end, customers
    ):
        row = counts.get(indicator)
        if row is None:
            continue
        if change == "raised":
            if to_level == "red":
                row.red_raised += n
            else:
                row.amber_raised += n
        elif change == "escalated":
            row.escalated_to_red += n
        elif change == "eased":
            row.eased += n
        elif change == "cleared":
            row.cleared += n
    for entry in entered_rows:
        if entry.origin == "warning" and entry.origin_ref in counts:
            counts[entry.origin_ref].watchlist_entered += 1
    return WatchlistReport(
        since=start,
        until=end,
        entered=len(entered_rows),
        reviewed=len(review_rows),
        exited=len(exited_rows),
        active_at_end=int(active_at_end or 0),
        reviews_due_by_end=int(due or 0),
        entered_by_origin=origins,
        indicators=list(counts.values()),
        movements=movements[:limit],
        movements_truncated=len(movements) > limit,
    )
