"""Case use cases: grouping new alerts (event path), case actions, the merged timeline,
suppressions and notify's deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting import follow_up, repository
from riskwatch_alerting.cases import store
from riskwatch_alerting.cases.store import CaseFilters
from riskwatch_alerting.domain.cases import (
    CHANGE_OF_CASE_ACTION,
    CaseDraft,
    CaseTransitionRefused,
    TimelineItem,
    group_key,
    merged_timeline,
    next_case_status,
    place_alerts,
    roles_of,
    roles_text,
)
from riskwatch_alerting.domain.lifecycle import OPEN_STATUSES
from riskwatch_alerting.domain.suppression import normalise_target
from riskwatch_alerting.errors import (
    CaseNotFound,
    CaseTransitionNotAllowed,
    InvalidQuery,
    RuleNotFound,
    SuppressionNotFound,
)
from riskwatch_alerting.models import Alert, Case, CaseTimelineEntry, Suppression
from riskwatch_shared.db.totals import Total
from riskwatch_shared.events.alerting import CaseChange, CaseOpened, CaseUpdated
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.common import Severity
from riskwatch_shared.events.notify import DeliveryFailed, EscalationCancelled, NotificationSent
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.ownership import owner_scope
from riskwatch_shared.pagination import InvalidCursor, cursor_after, encode_cursor
from riskwatch_shared.security import Identity

# --- the event path -------------------------------------------------------------------------


async def attach_new_alerts(
    session: AsyncSession,
    alerts: Sequence[Mapping[str, Any]],
    now: datetime,
    policy: Mapping[str, str] | None = None,
) -> list[CaseDraft]:
    """Put the batch's new alerts (their stored rows) into cases: their customer's open case
    (bumped), or a new one. Runs after the alerts are written, in the batch's transaction
    (the customer's lock serialises the cases of one customer)."""
    if not alerts:
        return []
    keys = {group_key(a["rule_type"], a["customer_id"], a["id"], policy) for a in alerts}
    drafts = list(place_alerts(alerts, await store.load_open_cases(session, keys), policy).values())
    await store.write_drafts(session, drafts, now)
    events: list[Event] = []
    for draft in drafts:
        first = draft.alerts[0]
        if draft.is_new:
            events.append(
                CaseOpened(
                    case_id=draft.case_id,
                    customer_id=draft.customer_id,
                    relationship_manager=draft.relationship_manager,
                    priority=cast(Severity, draft.priority),
                    alert_id=first["id"],
                    opened_at=now,
                    sla_due_at=draft.sla_due_at,
                )
            )
        added = draft.alerts[1:] if draft.is_new else draft.alerts
        events.extend(
            CaseUpdated(
                case_id=draft.case_id,
                customer_id=draft.customer_id,
                change="alert_added",
                status="open",
                priority=cast(Severity, draft.priority),
                actor="system",
                alert_id=alert["id"],
            )
            for alert in added
        )
    await add_events(session, *events)
    return drafts


async def record_notify_events(session: AsyncSession, events: Sequence[Event]) -> None:
    """notify's deliveries and cancelled escalations of alerts, for the cases' timelines."""
    rows = []
    for event in events:
        alert_id = getattr(event, "alert_id", None)
        if alert_id is None:
            continue
        detail: dict[str, Any]
        if isinstance(event, NotificationSent):
            change = "escalation_sent" if event.kind == "escalation" else "notification_sent"
            detail = {
                "notification_id": str(event.notification_id),
                "channel": event.channel,
                "recipient_id": str(event.recipient_id),
                "provider": event.provider,
                "kind": event.kind,
                "delivered": True,
            }
        elif isinstance(event, DeliveryFailed):
            change = "escalation_failed" if event.kind == "escalation" else "delivery_failed"
            detail = {
                "notification_id": str(event.notification_id),
                "channel": event.channel,
                "recipient_id": str(event.recipient_id),
                "attempts": event.attempts,
                "error": event.detail[:500],
                "kind": event.kind,
                "delivered": False,
            }
        elif isinstance(event, EscalationCancelled):
            change = "escalation_cancelled"
            detail = {
                "steps_done": event.steps_done,
                "cancelled_notifications": event.cancelled_notifications,
                "cause": event.cause,
            }
        else:
            continue
        rows.append(
            {
                "event_id": event.id,
                "alert_id": alert_id,
                "at": event.occurred_at,
                "change": change,
                "detail": detail,
            }
        )
    await store.record_deliveries(session, rows)


# --- reading --------------------------------------------------------------------------------


async def get_case(
    session: AsyncSession,
    case_id: uuid.UUID,
    *,
    identity: Identity | None = None,
    for_update: bool = False,
) -> Case:
    """The case; 404 when there is none or a relationship manager may not see it."""
    case = await store.get_case(session, case_id, for_update=for_update)
    owner = None if identity is None else owner_scope(identity)
    if case is None or (
        owner is not None and not await store.case_visible_to(session, case_id, owner)
    ):
        raise CaseNotFound(f"no case {case_id}")
    return case


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        return cursor_after(cursor, uuid.UUID)
    except InvalidCursor as exc:
        raise InvalidQuery(str(exc), parameter="cursor") from exc


async def list_cases(
    session: AsyncSession, filters: CaseFilters, *, cursor: str | None, limit: int
) -> tuple[Sequence[Case], str | None]:
    rows = await store.list_cases(session, filters, before=_after(cursor), limit=limit + 1)
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor(page[-1].opened_at, page[-1].id) if more else None


async def count_cases(session: AsyncSession, filters: CaseFilters) -> Total:
    return await store.count_cases(session, filters)


async def case_alerts(session: AsyncSession, case: Case) -> Sequence[Alert]:
    return await store.alerts_of(session, [case.id])


async def timeline(session: AsyncSession, case: Case) -> list[TimelineItem]:
    """The case's own entries, its alerts' history (any kind: raised, contact, measure...)
    and what notify did about them, oldest first, each with the actor's name and roles."""
    alert_ids = [a.id for a in await store.alerts_of(session, [case.id])]
    items = [
        TimelineItem(
            at=e.at,
            source="case",
            change=e.change,
            actor=e.actor,
            actor_name=e.actor_name,
            actor_roles=roles_of(e.actor_roles),
            alert_id=None,
            detail=dict(e.detail),
        )
        for e in await store.case_entries(session, case.id)
    ]
    items += [
        TimelineItem(
            at=e.at,
            source="alert",
            change=e.change,
            actor=e.actor,
            actor_name=e.actor_name,
            actor_roles=roles_of(e.actor_roles),
            alert_id=e.alert_id,
            detail={**dict(e.detail), "status": e.status},
        )
        for e in await store.alert_entries(session, alert_ids)
    ]
    items += [
        TimelineItem(
            at=d.at,
            source="notification",
            change=d.change,
            actor="notify",
            actor_name=None,
            actor_roles=[],
            alert_id=d.alert_id,
            detail=dict(d.detail),
        )
        for d in await store.deliveries_of(session, alert_ids)
    ]
    return merged_timeline(items)


# --- acting ---------------------------------------------------------------------------------


def _entry(
    case: Case, now: datetime, identity: Identity, change: str, detail: dict[str, Any]
) -> CaseTimelineEntry:
    return CaseTimelineEntry(
        case_id=case.id,
        at=now,
        actor=identity.subject,
        actor_name=identity.name,
        actor_roles=roles_text(identity.roles),
        change=change,
        detail={key: value for key, value in detail.items() if value is not None},
    )


async def act(
    session: AsyncSession,
    case_id: uuid.UUID,
    *,
    action: str,
    identity: Identity,
    detail: dict[str, Any],
) -> Case:
    """One case action: status, timeline entry and case_updated.v1 together. Closing
    resolves the case's open alerts (one outcome, or each its own from `outcomes`)."""
    case = await get_case(session, case_id, identity=identity, for_update=True)
    try:
        status = next_case_status(case.status, action)
    except CaseTransitionRefused as exc:
        raise CaseTransitionNotAllowed(str(exc), action=action, current_status=case.status) from exc
    now = datetime.now(UTC)
    if action == "reopen" and await store.other_open_case(session, case):
        raise CaseTransitionNotAllowed(
            "the customer has another open case; work that one",
            action=action,
            current_status=case.status,
        )
    if action == "assign":
        case.assignee = detail["assignee"]
    if action == "close":
        outcomes: Mapping[uuid.UUID, str] = detail.pop("outcomes", None) or {}
        resolved = []
        for alert in await store.alerts_of(session, [case.id]):
            if alert.status not in OPEN_STATUSES:
                continue
            outcome = outcomes.get(alert.id, detail["outcome"])
            await follow_up.act(
                session,
                alert.id,
                action="resolve",
                actor=identity.subject,
                detail={"outcome": outcome, "comment": detail.get("comment")},
                identity=identity,
            )
            resolved.append(str(alert.id))
        detail["resolved_alerts"] = resolved
        case.outcome = detail["outcome"]
        case.closed_at = now
    if action == "reopen":
        case.outcome = None
        case.closed_at = None
    case.status = status
    case.updated_at = now
    change = CHANGE_OF_CASE_ACTION[action]
    session.add(_entry(case, now, identity, change, detail))
    await add_events(
        session,
        CaseUpdated(
            case_id=case.id,
            customer_id=case.customer_id,
            change=cast(CaseChange, change),
            status=status,
            priority=cast(Severity, case.priority),
            actor=identity.subject,
            assignee=case.assignee,
            outcome=case.outcome,
            comment=detail.get("comment") or detail.get("reason"),
        ),
    )
    await session.flush()
    return case


# --- suppressions ---------------------------------------------------------------------------


async def suppress(
    session: AsyncSession,
    rule_id: uuid.UUID,
    *,
    identity: Identity,
    target_kind: str,
    target_value: str,
    until: datetime,
    reason: str,
    case_id: uuid.UUID | None,
) -> Suppression:
    """Snooze a rule for one target until `until`, audited (who, when, why), noted on the
    case it was made from (or the customer's open case)."""
    if await repository.get_rule(session, rule_id) is None:
        raise RuleNotFound(f"no rule {rule_id}")
    try:
        value = normalise_target(target_kind, target_value)
    except ValueError as exc:
        raise InvalidQuery("target_value is not a customer id", parameter="target_value") from exc
    case = None if case_id is None else await get_case(session, case_id, identity=identity)
    customer_id = uuid.UUID(value) if target_kind == "customer" else None
    if customer_id is None and case is not None:
        customer_id = case.customer_id
    now = datetime.now(UTC)
    suppression = Suppression(
        id=uuid.uuid4(),
        rule_id=rule_id,
        target_kind=target_kind,
        target_value=value,
        customer_id=customer_id,
        case_id=case_id,
        until=until,
        reason=reason,
        created_by=identity.subject,
        created_by_name=identity.name,
        created_by_roles=roles_text(identity.roles),
        created_at=now,
    )
    await store.add_suppression(session, suppression)
    if case is None and customer_id is not None:
        open_cases = await store.load_open_cases(session, [f"customer:{customer_id}"])
        found = open_cases.get(f"customer:{customer_id}")
        case = None if found is None else await store.get_case(session, found.id)
    if case is not None:
        detail = {
            "suppression_id": str(suppression.id),
            "rule_id": str(rule_id),
            "target_kind": target_kind,
            "target_value": value,
            "until": until.isoformat(),
            "reason": reason,
        }
        await _note(session, case, identity, "suppression_added", detail, now)
    return suppression


async def lift(
    session: AsyncSession, rule_id: uuid.UUID, suppression_id: uuid.UUID, identity: Identity
) -> Suppression:
    suppression = await store.get_suppression(session, suppression_id)
    if suppression is None or suppression.rule_id != rule_id:
        raise SuppressionNotFound(f"no suppression {suppression_id}")
    if suppression.lifted_at is None:
        now = datetime.now(UTC)
        suppression.lifted_at = now
        suppression.lifted_by = identity.subject
        await store.lifted(session)
        if suppression.case_id is not None:
            case = await store.get_case(session, suppression.case_id)
            if case is not None:
                detail = {"suppression_id": str(suppression.id), "rule_id": str(rule_id)}
                await _note(session, case, identity, "suppression_lifted", detail, now)
    return suppression


async def _note(
    session: AsyncSession,
    case: Case,
    identity: Identity,
    change: str,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    session.add(_entry(case, now, identity, change, detail))
    await add_events(
        session,
        CaseUpdated(
            case_id=case.id,
            customer_id=case.customer_id,
            change=cast(CaseChange, change),
            status=case.status,
            priority=cast(Severity, case.priority),
            actor=identity.subject,
        ),
    )
    await session.flush()


async def suppressions_of_rule(session: AsyncSession, rule_id: uuid.UUID) -> Sequence[Suppression]:
    if await repository.get_rule(session, rule_id) is None:
        raise RuleNotFound(f"no rule {rule_id}")
    return await store.suppressions_of_rule(session, rule_id)


async def suppressions_of_case(session: AsyncSession, case: Case) -> Sequence[Suppression]:
    return await store.suppressions_of_case(session, case)
