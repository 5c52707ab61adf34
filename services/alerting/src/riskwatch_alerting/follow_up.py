"""Alert follow-up: lifecycle actions with a timeline and events, lists, exports, statistics."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting import repository
from riskwatch_alerting.domain.lifecycle import (
    CHANGE_OF_ACTION,
    TransitionRefused,
    mitigation_of,
    next_status,
)
from riskwatch_alerting.errors import (
    AlertNotFound,
    InvalidQuery,
    ListNotFound,
    MeasureNotPossible,
    TransitionNotAllowed,
)
from riskwatch_alerting.models import Alert, AlertOccurrence, AlertTimelineEntry
from riskwatch_alerting.repository import AlertFilters, SortKey
from riskwatch_alerting.schemas import (
    AddToListMeasure,
    AlertStats,
    FreezeAccountMeasure,
    MeasureBody,
    ReduceLimitMeasure,
    RuleFalsePositives,
    TimeToAcknowledge,
)
from riskwatch_shared.events.alerting import (
    AlertChange,
    AlertUpdated,
    CustomerContacted,
    RiskMeasureTaken,
)
from riskwatch_shared.events.base import Event
from riskwatch_shared.events.common import RiskMeasureData, Severity
from riskwatch_shared.messaging.outbox import add_events
from riskwatch_shared.ownership import owner_scope
from riskwatch_shared.pagination import InvalidCursor, cursor_after, encode_cursor
from riskwatch_shared.security import Identity

EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "raised_at",
    "happened_at",
    "rule_type",
    "severity",
    "status",
    "outcome",
    "customer_id",
    "customer_name",
    "rule_id",
    "rule_name",
    "rule_version",
    "title",
    "summary",
    "message_code",
    "trigger_event_type",
    "transaction_id",
    "occurrence_count",
    "assignee",
    "assignee_team",
    "sla_due_at",
    "acknowledged_at",
    "resolved_at",
)


async def get_alert(
    session: AsyncSession,
    alert_id: uuid.UUID,
    *,
    for_update: bool = False,
    identity: Identity | None = None,
) -> Alert:
    """The alert; 404 when there is none or (with `identity`) the caller may not see it: a
    relationship manager sees only their own customers' alerts."""
    alert = await repository.get_alert(session, alert_id, for_update=for_update)
    if alert is None:
        raise AlertNotFound(f"no alert {alert_id}")
    owner = None if identity is None else owner_scope(identity)
    if owner is not None and not await repository.alert_visible_to(session, alert_id, owner):
        raise AlertNotFound(f"no alert {alert_id}")
    return alert


async def occurrences(session: AsyncSession, alert_id: uuid.UUID) -> Sequence[AlertOccurrence]:
    return await repository.occurrences_of(session, alert_id)


async def timeline(
    session: AsyncSession, alert_id: uuid.UUID, *, identity: Identity | None = None
) -> Sequence[AlertTimelineEntry]:
    await get_alert(session, alert_id, identity=identity)
    return await repository.timeline_of(session, alert_id)


async def act(
    session: AsyncSession,
    alert_id: uuid.UUID,
    *,
    action: str,
    actor: str,
    detail: dict[str, Any],
    identity: Identity | None = None,
) -> Alert:
    """Apply one lifecycle action: status, timeline entry and alert_updated.v1, together.

    A contact with the customer also goes to the customer's record: `customer_contacted.v1`
    (its `contact_id`, kept in the timeline entry, becomes the interaction's id)."""
    alert = await get_alert(session, alert_id, for_update=True, identity=identity)
    extra: list[Event] = []
    if action == "contact" and alert.customer_id is not None:
        contact_id = uuid.uuid4()
        detail = {**detail, "contact_id": str(contact_id)}
        extra.append(
            CustomerContacted(
                customer_id=alert.customer_id,
                alert_id=alert.id,
                contact_id=contact_id,
                channel=detail["channel"],
                note=detail.get("note"),
                alert_title=alert.title,
                actor=actor,
                actor_name=_name_of(identity),
                contacted_at=datetime.now(UTC),
            )
        )
    return await _transition(
        session, alert, action=action, actor=actor, detail=detail, extra=extra, identity=identity
    )


def _name_of(identity: Identity | None) -> str | None:
    return None if identity is None else identity.name or identity.staff_id


async def _transition(
    session: AsyncSession,
    alert: Alert,
    *,
    action: str,
    actor: str,
    detail: dict[str, Any],
    extra: Sequence[Event] = (),
    identity: Identity | None = None,
) -> Alert:
    try:
        status = next_status(alert.status, action)
    except TransitionRefused as exc:
        raise TransitionNotAllowed(str(exc), action=action, current_status=alert.status) from exc
    now = datetime.now(UTC)
    _apply(alert, action, status, now, detail)
    change = CHANGE_OF_ACTION[action]
    clean = {key: value for key, value in detail.items() if value is not None}
    session.add(
        AlertTimelineEntry(
            alert_id=alert.id,
            at=now,
            actor=actor,
            change=change,
            status=status,
            detail=clean,
            actor_name=None if identity is None else identity.name,
            actor_roles=None if identity is None else ",".join(identity.roles),
        )
    )
    await add_events(
        session,
        AlertUpdated(
            alert_id=alert.id,
            customer_id=alert.customer_id,
            # The ORM's columns are plain text; the names are the events' (the decoders check).
            change=cast(AlertChange, change),
            status=status,
            severity=cast(Severity, alert.severity),
            actor=actor,
            assignee=alert.assignee,
            assignee_team=alert.assignee_team,
            outcome=alert.outcome,
            comment=detail.get("comment") or detail.get("reason") or detail.get("note"),
        ),
        *extra,
    )
    await session.flush()
    return alert


def measure_data(
    body: MeasureBody,
    *,
    measure_id: uuid.UUID,
    alert: Alert,
    actor: str,
    actor_name: str | None,
    at: datetime,
    list_name: str | None = None,
) -> RiskMeasureData:
    """The measure as the events carry it (pure)."""
    fields: dict[str, Any] = {}
    if isinstance(body, ReduceLimitMeasure):
        fields = {"limit_amount": body.new_limit, "limit_currency": body.currency}
    elif isinstance(body, FreezeAccountMeasure):
        fields = {"account_id": body.account_id}
    elif isinstance(body, AddToListMeasure):
        fields = {"list_id": body.list_id, "list_name": list_name, "list_value": body.value}
    return RiskMeasureData(
        measure_id=measure_id,
        kind=body.kind,
        reason=body.reason,
        alert_id=alert.id,
        taken_by=actor,
        taken_by_name=actor_name,
        taken_at=at,
        **fields,
    )


def measure_detail(data: RiskMeasureData) -> dict[str, Any]:
    """The timeline entry's detail: the measure's own fields, ids and amounts as text."""
    shown = msgspec.to_builtins(data)
    return {key: shown[key] for key in _MEASURE_DETAIL if shown[key] is not None}


_MEASURE_DETAIL = (
    "measure_id",
    "kind",
    "account_id",
    "limit_amount",
    "limit_currency",
    "list_id",
    "list_name",
    "list_value",
    "reason",
)


async def take_measure(
    session: AsyncSession,
    alert_id: uuid.UUID,
    *,
    body: MeasureBody,
    actor: str,
    identity: Identity | None = None,
) -> Alert:
    """A risk-control measure on the alert's customer, in the alert's history and announced
    as `risk_measure_taken.v1` (the customer service records it, scoring enforces it); an
    `add_to_list` measure adds its value to the managed list here, in the same transaction."""
    alert = await get_alert(session, alert_id, for_update=True, identity=identity)
    if alert.customer_id is None:
        raise MeasureNotPossible(
            "this alert concerns no customer: there is no one to take a measure on",
            current_status=alert.status,
        )
    list_name = None
    if isinstance(body, AddToListMeasure):
        managed = await repository.get_list(session, body.list_id)
        if managed is None:
            raise ListNotFound(f"no managed list {body.list_id}")
        list_name = managed.name
    data = measure_data(
        body,
        measure_id=uuid.uuid4(),
        alert=alert,
        actor=actor,
        actor_name=_name_of(identity),
        at=datetime.now(UTC),
        list_name=list_name,
    )
    event = RiskMeasureTaken(customer_id=alert.customer_id, alert_id=alert.id, measure=data)
    # The transition first: a resolved alert refuses the measure before the list changes.
    alert = await _transition(
        session,
        alert,
        action="measure",
        actor=actor,
        detail=measure_detail(data),
        extra=[event],
        identity=identity,
    )
    if isinstance(body, AddToListMeasure):
        note = f"alert {alert.id}" + (f": {body.reason}" if body.reason else "")
        await repository.upsert_entries(session, body.list_id, [(body.value, note[:1_000])], actor)
        await repository.bump_cache_version(session, repository.LISTS_CACHE)
        await session.flush()
    return alert


def _apply(alert: Alert, action: str, status: str, now: datetime, detail: dict[str, Any]) -> None:
    alert.status = status
    alert.updated_at = now
    if action in ("acknowledge", "investigate", "escalate") and alert.acknowledged_at is None:
        alert.acknowledged_at = now
    if action == "assign":
        if detail.get("assignee") is not None:
            alert.assignee = detail["assignee"]
        if detail.get("team") is not None:
            alert.assignee_team = detail["team"]
    if action == "escalate" and detail.get("team") is not None:
        alert.assignee_team = detail["team"]
    if action == "resolve":
        alert.outcome = detail["outcome"]
        alert.mitigation = mitigation_of(detail["outcome"])
        alert.resolved_at = now
        alert.dedup_open = False  # a later repeat raises a fresh alert
    if action == "reopen":
        alert.outcome = None
        alert.mitigation = None
        alert.resolved_at = None


# --- listing --------------------------------------------------------------------------------


# A cursor names its sort: happened_at's are tagged `h`, sla_due_at's `s`; raised_at's none.
_CURSOR_TAGS: dict[str, str] = {"raised_at": "", "happened_at": "h", "sla_due_at": "s"}


def alerts_cursor(alert: Alert, sort: SortKey = "raised_at") -> str:
    at: datetime = getattr(alert, sort)
    return encode_cursor(at, alert.id, sort=_CURSOR_TAGS[sort])


def _after(cursor: str | None, sort: SortKey) -> tuple[datetime, uuid.UUID] | None:
    """The (time, id) a cursor continues after; InvalidQuery for a cursor of another sort."""
    if cursor is None:
        return None
    try:
        return cursor_after(cursor, uuid.UUID, sort=_CURSOR_TAGS[sort])
    except InvalidCursor as exc:
        raise InvalidQuery(str(exc), parameter="cursor") from exc


async def list_alerts(
    session: AsyncSession, filters: AlertFilters, *, cursor: str | None, limit: int
) -> tuple[Sequence[Alert], str | None]:
    before = _after(cursor, filters.sort)
    rows = await repository.list_alerts(session, filters, before=before, limit=limit + 1)
    page = rows[:limit]
    return page, alerts_cursor(page[-1], filters.sort) if len(rows) > limit else None


def export_row(alert: Alert) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column in EXPORT_COLUMNS:
        value = getattr(alert, column)
        row[column] = value.isoformat() if isinstance(value, datetime) else value
    return row


UTF8_BOM = "\ufeff"
# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...), +cmd...).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would read as a formula, prefixed with `'` (shown as text);
    numbers (a negative amount, say) and other values as they are. Pure."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return value


def to_csv(alerts: Sequence[Alert]) -> str:
    """The export as CSV: a UTF-8 BOM first (Excel then reads non-Latin names right), formula
    cells escaped."""
    buffer = io.StringIO()
    buffer.write(UTF8_BOM)
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for alert in alerts:
        writer.writerow(
            {k: ("" if v is None else spreadsheet_safe(v)) for k, v in export_row(alert).items()}
        )
    return buffer.getvalue()


async def stats(session: AsyncSession, filters: AlertFilters) -> AlertStats:
    by_status = await repository.count_by(session, filters, Alert.status)
    mean, median, acknowledged = await repository.acknowledge_seconds(session, filters)
    rates = [
        RuleFalsePositives(
            rule_id=rule_id,
            rule_name=name,
            resolved=resolved,
            false_positives=false_positives,
            false_positive_rate=false_positives / resolved if resolved else 0.0,
        )
        for rule_id, name, resolved, false_positives in await repository.false_positive_rates(
            session, filters
        )
    ]
    return AlertStats(
        total=sum(by_status.values()),
        by_type=await repository.count_by(session, filters, Alert.rule_type),
        by_severity=await repository.count_by(session, filters, Alert.severity),
        by_status=by_status,
        by_day=dict(sorted((await repository.count_by_day(session, filters)).items())),
        time_to_acknowledge=TimeToAcknowledge(
            count=acknowledged, mean_seconds=mean, median_seconds=median
        ),
        false_positive_rate_by_rule=rates,
    )
