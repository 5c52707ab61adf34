"""The watch list's service: enter (idempotent per customer), review, exit, list; each change
announced by an event in the same transaction (outbox)."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.domain.desk import assignee_of
from riskwatch_alerting.errors import (
    InvalidQuery,
    InvalidReviewDate,
    WatchlistCustomerUnknown,
    WatchlistEntryClosed,
    WatchlistEntryNotFound,
)
from riskwatch_alerting.models import WatchlistEntry, WatchlistReview
from riskwatch_alerting.watchlist import store
from riskwatch_alerting.watchlist.schemas import (
    WatchlistEnter,
    WatchlistEntryDetail,
    WatchlistEntryOut,
    WatchlistExitIn,
    WatchlistReviewIn,
    WatchlistReviewOut,
)
from riskwatch_alerting.watchlist.store import WatchlistFilters
from riskwatch_shared.events.alerting import (
    CustomerEnteredWatchlist,
    CustomerExitedWatchlist,
    WatchlistReviewed,
)
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.ownership import owner_scope
from riskwatch_shared.security import Identity


def entry_out(entry: WatchlistEntry, today: date) -> WatchlistEntryOut:
    overdue = entry.status == "active" and entry.review_due < today
    return WatchlistEntryOut.model_validate(
        {
            **{
                k: getattr(entry, k)
                for k in WatchlistEntryOut.model_fields
                if k != "review_overdue"
            },
            "review_overdue": overdue,
        }
    )


def _check_review_date(due: date, today: date, field: str) -> None:
    if due < today:
        raise InvalidReviewDate(f"{field} is in the past (today is {today.isoformat()}, UTC)")


async def enter(
    session: AsyncSession, body: WatchlistEnter, *, identity: Identity, now: datetime
) -> tuple[WatchlistEntry, bool]:
    """The customer's active entry: a new one (True), or the one already there (False: a rule
    or warning that retries changes nothing)."""
    existing = await store.active_entry_of(session, body.customer_id)
    if existing is not None:
        return existing, False
    _check_review_date(body.review_due, now.date(), "review_due")
    customer = await store.directory_entry(session, body.customer_id)
    if customer is None:
        raise WatchlistCustomerUnknown(f"no customer {body.customer_id}")
    entry = WatchlistEntry(
        id=uuid.uuid4(),
        customer_id=body.customer_id,
        customer_name=customer.name,
        relationship_manager=customer.relationship_manager,
        status="active",
        reason=body.reason,
        owner=assignee_of(identity, body.owner),
        review_due=body.review_due,
        required_actions=list(body.required_actions),
        exit_criteria=body.exit_criteria,
        origin=body.origin,
        origin_ref=body.origin_ref,
        entered_at=now,
        entered_by=identity.subject,
        entered_by_name=identity.name,
    )
    session.add(entry)
    await add_events(
        session,
        CustomerEnteredWatchlist(
            entry_id=entry.id,
            customer_id=entry.customer_id,
            relationship_manager=entry.relationship_manager,
            reason=entry.reason,
            owner=entry.owner,
            review_due=entry.review_due,
            required_actions=entry.required_actions,
            exit_criteria=entry.exit_criteria,
            origin=body.origin,
            origin_ref=entry.origin_ref,
            entered_by=entry.entered_by,
            entered_at=now,
        ),
    )
    await session.flush()
    return entry, True


async def get_entry(
    session: AsyncSession, entry_id: uuid.UUID, *, identity: Identity, for_update: bool = False
) -> WatchlistEntry:
    """The entry; 404 when there is none or it is another RM's customer's."""
    entry = await store.get_entry(session, entry_id, for_update=for_update)
    scope = owner_scope(identity)
    if entry is None or (
        scope is not None and not await store.entry_visible_to(session, entry_id, scope)
    ):
        raise WatchlistEntryNotFound(f"no watch-list entry {entry_id}")
    return entry


async def detail(
    session: AsyncSession, entry_id: uuid.UUID, *, identity: Identity, today: date
) -> WatchlistEntryDetail:
    entry = await get_entry(session, entry_id, identity=identity)
    reviews = [
        WatchlistReviewOut.model_validate(r) for r in await store.reviews_of(session, entry.id)
    ]
    return WatchlistEntryDetail(**entry_out(entry, today).model_dump(), reviews=reviews)


async def review(
    session: AsyncSession,
    entry_id: uuid.UUID,
    body: WatchlistReviewIn,
    *,
    identity: Identity,
    now: datetime,
) -> WatchlistEntry:
    entry = await get_entry(session, entry_id, identity=identity, for_update=True)
    if entry.status != "active":
        raise WatchlistEntryClosed("the customer has left the watch list: reviews are closed")
    _check_review_date(body.next_review_due, now.date(), "next_review_due")
    session.add(
        WatchlistReview(
            entry_id=entry.id,
            at=now,
            reviewer=identity.subject,
            reviewer_name=identity.name,
            note=body.note,
            next_review_due=body.next_review_due,
        )
    )
    entry.review_due = body.next_review_due
    entry.last_reviewed_at = now
    if body.required_actions is not None:
        entry.required_actions = list(body.required_actions)
    await add_events(
        session,
        WatchlistReviewed(
            entry_id=entry.id,
            customer_id=entry.customer_id,
            relationship_manager=entry.relationship_manager,
            owner=entry.owner,
            note=body.note,
            next_review_due=body.next_review_due,
            reviewed_by=identity.subject,
            reviewed_at=now,
        ),
    )
    await session.flush()
    return entry


async def exit_entry(
    session: AsyncSession,
    entry_id: uuid.UUID,
    body: WatchlistExitIn,
    *,
    identity: Identity,
    now: datetime,
) -> WatchlistEntry:
    entry = await get_entry(session, entry_id, identity=identity, for_update=True)
    if entry.status != "active":
        raise WatchlistEntryClosed("the customer has already left the watch list")
    entry.status = "exited"
    entry.exited_at = now
    entry.exited_by = identity.subject
    entry.exit_reason = body.reason
    await add_events(
        session,
        CustomerExitedWatchlist(
            entry_id=entry.id,
            customer_id=entry.customer_id,
            relationship_manager=entry.relationship_manager,
            owner=entry.owner,
            reason=body.reason,
            exited_by=identity.subject,
            exited_at=now,
        ),
    )
    await session.flush()
    return entry


def encode_cursor(entry: WatchlistEntry) -> str:
    raw = f"{entry.entered_at.isoformat()}|{entry.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at_text, _, id_text = text.partition("|")
        at, entry_id = datetime.fromisoformat(at_text), uuid.UUID(id_text)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidQuery("cursor is not valid", parameter="cursor") from exc
    if at.tzinfo is None:
        raise InvalidQuery("cursor is not valid", parameter="cursor")
    return at, entry_id


async def list_entries(
    session: AsyncSession, filters: WatchlistFilters, *, cursor: str | None, limit: int
) -> tuple[Sequence[WatchlistEntry], str | None]:
    before = None if cursor is None else decode_cursor(cursor)
    rows = await store.list_entries(session, filters, before=before, limit=limit + 1)
    page = rows[:limit]
    return page, encode_cursor(page[-1]) if len(rows) > limit else None


def today_utc() -> date:
    return datetime.now(UTC).date()
