"""Routes: the watch list (enter, review, exit, list; a customer's status for the 360)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from riskwatch_alerting.api.common import CONFLICT, INVALID, NOT_FOUND
from riskwatch_alerting.domain.desk import ME, identities_of
from riskwatch_alerting.watchlist import service
from riskwatch_alerting.watchlist.schemas import (
    WatchlistEnter,
    WatchlistEntryDetail,
    WatchlistEntryOut,
    WatchlistExitIn,
    WatchlistPage,
    WatchlistReviewIn,
    WatchlistStatus,
)
from riskwatch_alerting.watchlist.store import WatchlistFilters, count_entries
from riskwatch_shared.app import IdentityDep, SessionDep
from riskwatch_shared.ownership import owner_scope

router = APIRouter()


@router.get("/watchlist", operation_id="alerting-watchlist-list", responses=INVALID)
async def list_watchlist(
    session: SessionDep,
    identity: IdentityDep,
    status: WatchlistStatus | None = None,
    customer_id: Annotated[
        uuid.UUID | None, Query(description="One customer's entries (the 360's status)")
    ] = None,
    owner: Annotated[
        str | None, Query(max_length=200, description="`me` or a person: who follows them")
    ] = None,
    review_due: Annotated[
        bool, Query(description="Only active entries whose review is due today or earlier (UTC)")
    ] = False,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> WatchlistPage:
    """Watch-list entries, newest first; a relationship manager sees their customers' only."""
    today = service.today_utc()
    owners = None if owner is None else (identities_of(identity) if owner == ME else (owner,))
    filters = WatchlistFilters(
        status=status,
        customer_id=customer_id,
        owners=owners,
        review_due_by=today if review_due else None,
        owner_scope=owner_scope(identity),
    )
    page, next_cursor = await service.list_entries(session, filters, cursor=cursor, limit=limit)
    total = await count_entries(session, filters)
    return WatchlistPage(
        items=[service.entry_out(entry, today) for entry in page],
        next_cursor=next_cursor,
        **total.fields(),
    )


@router.post(
    "/watchlist",
    status_code=201,
    operation_id="alerting-watchlist-enter",
    responses={
        200: {"description": "The customer was already on the watch list: that entry"},
        **NOT_FOUND,
        **INVALID,
    },
)
async def enter_watchlist(
    body: WatchlistEnter, session: SessionDep, identity: IdentityDep, response: Response
) -> WatchlistEntryOut:
    """Put a customer on the watch list (an analyst's decision, or a rule or warning calling
    this API); idempotent per customer while the entry is active."""
    now = datetime.now(UTC)
    entry, created = await service.enter(session, body, identity=identity, now=now)
    if not created:
        response.status_code = 200
    return service.entry_out(entry, now.date())


@router.get("/watchlist/{entry_id}", operation_id="alerting-watchlist-get", responses=NOT_FOUND)
async def get_watchlist_entry(
    entry_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> WatchlistEntryDetail:
    """One entry with its reviews, oldest first."""
    return await service.detail(session, entry_id, identity=identity, today=service.today_utc())


@router.post(
    "/watchlist/{entry_id}/reviews",
    operation_id="alerting-watchlist-review",
    responses={**NOT_FOUND, **CONFLICT, **INVALID},
)
async def review_watchlist_entry(
    entry_id: uuid.UUID, body: WatchlistReviewIn, session: SessionDep, identity: IdentityDep
) -> WatchlistEntryOut:
    """Record a review: what was found and the next review's date."""
    now = datetime.now(UTC)
    entry = await service.review(session, entry_id, body, identity=identity, now=now)
    return service.entry_out(entry, now.date())


@router.post(
    "/watchlist/{entry_id}/exit",
    operation_id="alerting-watchlist-exit",
    responses={**NOT_FOUND, **CONFLICT, **INVALID},
)
async def exit_watchlist(
    entry_id: uuid.UUID, body: WatchlistExitIn, session: SessionDep, identity: IdentityDep
) -> WatchlistEntryOut:
    """Take the customer off the watch list (its exit criteria hold), with the reason."""
    now = datetime.now(UTC)
    entry = await service.exit_entry(session, entry_id, body, identity=identity, now=now)
    return service.entry_out(entry, now.date())
