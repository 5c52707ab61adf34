"""The watch list's service: enter (idempotent per customer), review, exit, list; each change
announced by an event in the same transaction (outbox)."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

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
    WatchlistOrigin,
    WatchlistReviewDue,
    WatchlistReviewed,
)
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.ownership import owner_scope
from riskwatch_shared.security import Identity

WARNING_ACTOR = "system:early-warning"


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


def entered_event(entry: WatchlistEntry, origin: WatchlistOrigin) -> CustomerEnteredWatchlist:
    """The entry's `alerting.customer_entered_watchlist` event, whoever entered it."""
    return CustomerEnteredWatchlist(
        entry_id=entry.id,
        customer_id=entry.customer_id,
        relationship_manager=entry.relationship_manager,
        reason=entry.reason,
        owner=entry.owner,
        review_due=entry.review_due,
        required_actions=entry.required_actions,
        exit_criteria=entry.exit_criteria,
        origin=origin,
        origin_ref=entry.origin_ref,
        entered_by=entry.entered_by,
        entered_at=entry.entered_at,
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
    await add_events(session, entered_event(entry, body.origin))
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


async def enter_from_warning(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID,
    indicator_key: str,
    indicator_name: str,
    explanation: str,
    since: datetime,
    required_actions: Sequence[str],
    exit_criteria: str,
    owner: str,
    now: datetime,
    review_days: int = 14,
) -> tuple[WatchlistEntry, bool]:
    """A RED early-warning indicator puts the customer on the watch list (owner: the RM, else
    the risk team). Idempotent per customer: while an entry is active, another red updates
    it (its reason, actions and exit criteria gain the indicator's), announced as a review by
    the early-warning system; the same red (indicator and since) again changes nothing."""
    line = f"RED {indicator_name} since {since.date().isoformat()}: {explanation}"
    existing = await store.active_entry_of(session, customer_id)
    if existing is not None:
        if line in existing.reason:
            return existing, False
        existing.reason = f"{existing.reason}\n{line}"[:2_000]
        actions = [*existing.required_actions]
        actions += [a for a in required_actions if a not in actions]
        existing.required_actions = actions[:20]
        if exit_criteria not in existing.exit_criteria:
            existing.exit_criteria = f"{existing.exit_criteria}; {exit_criteria}"[:2_000]
        existing.last_reviewed_at = now
        session.add(
            WatchlistReview(
                entry_id=existing.id,
                at=now,
                reviewer=WARNING_ACTOR,
                reviewer_name="Early warning",
                note=line[:4_000],
                next_review_due=existing.review_due,
            )
        )
        await add_events(
            session,
            WatchlistReviewed(
                entry_id=existing.id,
                customer_id=existing.customer_id,
                relationship_manager=existing.relationship_manager,
                owner=existing.owner,
                note=line[:4_000],
                next_review_due=existing.review_due,
                reviewed_by=WARNING_ACTOR,
                reviewed_at=now,
            ),
        )
        await session.flush()
        return existing, False
    customer = await store.directory_entry(session, customer_id)
    entry = WatchlistEntry(
        id=uuid.uuid4(),
        customer_id=customer_id,
        customer_name=None if customer is None else customer.name,
        relationship_manager=None if customer is None else customer.relationship_manager,
        status="active",
        reason=line[:2_000],
        owner=(customer.relationship_manager if customer else None) or owner,
        review_due=now.date() + timedelta(days=review_days),
        required_actions=list(required_actions)[:20],
        exit_criteria=exit_criteria,
        origin="warning",
        origin_ref=indicator_key,
        entered_at=now,
        entered_by=WARNING_ACTOR,
        entered_by_name="Early warning",
    )
    session.add(entry)
    await add_events(session, entered_event(entry, "warning"))
    await session.flush()
    return entry, True


async def announce_reviews_due(session: AsyncSession, today: date, limit: int = 500) -> int:
    """Each active entry whose review date has come is announced once per review date
    (`alerting.watchlist_review_due.v1`, notified by notify); returns how many."""
    due = await store.reviews_due_unannounced(session, today, limit)
    for entry in due:
        entry.review_due_notified = entry.review_due
        await add_events(
            session,
            WatchlistReviewDue(
                entry_id=entry.id,
                customer_id=entry.customer_id,
                relationship_manager=entry.relationship_manager,
                owner=entry.owner,
                review_due=entry.review_due,
                reason=entry.reason[:2_000],
            ),
        )
    await session.flush()
    return len(due)


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
