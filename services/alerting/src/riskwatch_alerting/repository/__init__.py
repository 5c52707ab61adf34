"""All SQL of the alerting service. Functions only flush; the caller owns the transaction."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple, TypeVar, cast

from sqlalchemy import (
    Float,
    Interval,
    Select,
    Table,
    and_,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.domain.desk import AMBER_REMAINING_SHARE
from riskwatch_alerting.domain.evaluation import OpenAlert
from riskwatch_alerting.domain.evaluation_input import json_bytes
from riskwatch_alerting.models import (
    Alert,
    AlertOccurrence,
    AlertTimelineEntry,
    Base,
    CacheVersion,
    CustomerDirectoryEntry,
    CustomerState,
    EvaluationRecord,
    JsonBytes,
    ListEntry,
    ManagedList,
    Rule,
    RuleVersion,
    WindowGroup,
    json_loads,
)
from riskwatch_alerting.rules.windows import GroupKey
from riskwatch_shared.db.bulk import unnest_insert
from riskwatch_shared.db.session import transaction_connection
from riskwatch_shared.db.totals import Total, total_of


def _table(model: type[Base]) -> Table:
    """The Core table of a model: bulk writes skip the ORM's per-row bookkeeping."""
    return cast(Table, model.__table__)


SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])
RULES_CACHE = "rules"
LISTS_CACHE = "lists"
SUPPRESSIONS_CACHE = "suppressions"


# --- cache versions -------------------------------------------------------------------------


async def bump_cache_version(session: AsyncSession, name: str) -> None:
    statement = pg_insert(_table(CacheVersion)).values(name=name, version=1)
    statement = statement.on_conflict_do_update(
        index_elements=[CacheVersion.name], set_={"version": CacheVersion.version + 1}
    )
    await session.execute(statement)


async def cache_versions(session: AsyncSession) -> tuple[int, int, int]:
    """(rules, lists, suppressions): read once per consumed batch, on the transaction's raw
    connection."""
    db = await transaction_connection(session)
    rows = dict(await db.fetch("SELECT name, version FROM cache_versions"))
    return (
        int(rows.get(RULES_CACHE, 0)),
        int(rows.get(LISTS_CACHE, 0)),
        int(rows.get(SUPPRESSIONS_CACHE, 0)),
    )


# --- rules ----------------------------------------------------------------------------------


async def get_rule(
    session: AsyncSession, rule_id: uuid.UUID, *, for_update: bool = False
) -> Rule | None:
    statement = select(Rule).where(Rule.id == rule_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_rules(
    session: AsyncSession, *, status: str | None, rule_type: str | None
) -> Sequence[Rule]:
    statement = select(Rule).order_by(Rule.created_at, Rule.id)
    if status is not None:
        statement = statement.where(Rule.status == status)
    if rule_type is not None:
        statement = statement.where(Rule.rule_type == rule_type)
    return (await session.execute(statement)).scalars().all()


async def active_rules(session: AsyncSession) -> Sequence[Rule]:
    return (await session.execute(select(Rule).where(Rule.status == "active"))).scalars().all()


async def rule_has_alerts(session: AsyncSession, rule_id: uuid.UUID) -> bool:
    statement = select(Alert.id).where(Alert.rule_id == rule_id).limit(1)
    return (await session.execute(statement)).first() is not None


async def list_versions(session: AsyncSession, rule_id: uuid.UUID) -> Sequence[RuleVersion]:
    statement = (
        select(RuleVersion).where(RuleVersion.rule_id == rule_id).order_by(RuleVersion.version)
    )
    return (await session.execute(statement)).scalars().all()


async def get_version(
    session: AsyncSession, rule_id: uuid.UUID, version: int
) -> RuleVersion | None:
    return await session.get(RuleVersion, (rule_id, version))


async def latest_version(session: AsyncSession, rule_id: uuid.UUID) -> int:
    """The highest version number of a rule, live or draft (0 when it has none)."""
    statement = select(func.max(RuleVersion.version)).where(RuleVersion.rule_id == rule_id)
    return int((await session.execute(statement)).scalar_one() or 0)


# --- managed lists --------------------------------------------------------------------------


async def list_lists(session: AsyncSession) -> Sequence[tuple[ManagedList, int]]:
    counts = (
        select(ListEntry.list_id, func.count().label("n")).group_by(ListEntry.list_id).subquery()
    )
    statement = (
        select(ManagedList, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.list_id == ManagedList.id)
        .order_by(ManagedList.name)
    )
    return [(row[0], int(row[1])) for row in (await session.execute(statement)).all()]


async def get_list(session: AsyncSession, list_id: uuid.UUID) -> ManagedList | None:
    return await session.get(ManagedList, list_id)


async def get_list_by_name(session: AsyncSession, name: str) -> ManagedList | None:
    statement = select(ManagedList).where(ManagedList.name == name)
    return (await session.execute(statement)).scalar_one_or_none()


async def count_entries(session: AsyncSession, list_id: uuid.UUID) -> int:
    statement = select(func.count()).select_from(ListEntry).where(ListEntry.list_id == list_id)
    return int(await session.scalar(statement) or 0)


async def list_entries(
    session: AsyncSession, list_id: uuid.UUID, *, after: str | None, limit: int
) -> Sequence[ListEntry]:
    statement = select(ListEntry).where(ListEntry.list_id == list_id)
    if after is not None:
        statement = statement.where(ListEntry.value > after)
    statement = statement.order_by(ListEntry.value).limit(limit)
    return (await session.execute(statement)).scalars().all()


async def upsert_entries(
    session: AsyncSession, list_id: uuid.UUID, entries: Sequence[tuple[str, str | None]], actor: str
) -> None:
    if not entries:
        return
    rows = [
        {"list_id": list_id, "value": value, "note": note, "added_by": actor}
        for value, note in entries
    ]
    statement = pg_insert(_table(ListEntry))
    statement = statement.on_conflict_do_update(
        index_elements=[ListEntry.list_id, ListEntry.value],
        set_={"note": statement.excluded.note},
    )
    await session.execute(statement, rows)


async def delete_entries(
    session: AsyncSession, list_id: uuid.UUID, values: Sequence[str] | None = None
) -> int:
    statement = delete(ListEntry).where(ListEntry.list_id == list_id)
    if values is not None:
        statement = statement.where(ListEntry.value.in_(values))
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def all_list_values(session: AsyncSession) -> dict[str, frozenset[str]]:
    statement = select(ManagedList.name, ListEntry.value).outerjoin(
        ListEntry, ListEntry.list_id == ManagedList.id
    )
    values: dict[str, set[str]] = {}
    for name, value in (await session.execute(statement)).all():
        entries = values.setdefault(name, set())
        if value is not None:
            entries.add(value)
    return {name: frozenset(entries) for name, entries in values.items()}


# --- consumer state ---
# The consumer's per-batch reads and writes go straight to asyncpg, inside the session's
# transaction: one statement per kind of row (arrays in, `unnest` in SQL, built from the
# tables by `riskwatch_shared.db.bulk`) and JSON as the bytes orjson encoded (bytea columns,
# models.JsonBytes), without the ORM's per-row parameter processing. Each kind of row is a
# NamedTuple whose fields are its columns.


class StateRow(NamedTuple):
    customer_id: uuid.UUID
    features: bytes  # JSON
    levels: bytes
    scores: bytes
    sequence: int


class WindowRow(NamedTuple):
    group_by: str
    group_id: str
    state: bytes  # JSON


class HistoryRow(NamedTuple):
    """An evaluated event, in the order it was evaluated (`seq` follows it)."""

    event_id: uuid.UUID
    event_type: str
    customer_id: uuid.UUID | None
    occurred_at: datetime
    context: bytes  # JSON


class OccurrenceRow(NamedTuple):
    alert_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    transaction_id: uuid.UUID | None
    occurred_at: datetime
    evidence: bytes  # JSON


class TimelineRow(NamedTuple):
    alert_id: uuid.UUID
    at: datetime
    actor: str
    change: str
    status: str
    detail: bytes  # JSON


class StoredCustomerState(NamedTuple):
    features: dict[str, Any]
    levels: dict[str, Any]
    scores: dict[str, Any]
    sequence: int
    # The stored bytes of features, levels and scores: an unchanged state is not rewritten.
    encoded: tuple[bytes, bytes, bytes] = (b"", b"", b"")


async def lock_keys(session: AsyncSession, names: Iterable[str]) -> None:
    """Transaction-scoped advisory locks, taken in one sorted pass so batches never deadlock:
    competing consumers serialise on the customers and window groups they share."""
    keys = sorted(set(names))
    if keys:
        await (await transaction_connection(session)).execute(_LOCK_KEYS, keys)


_LOCK_KEYS = (
    "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(n, 0) AS h "
    "FROM unnest($1::text[]) AS n) AS keys ORDER BY h"
)


async def load_customer_states(
    session: AsyncSession, customer_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, StoredCustomerState]:
    ids = list(customer_ids)
    if not ids:
        return {}
    rows = await (await transaction_connection(session)).fetch(_LOAD_STATES, ids)
    return {
        uuid.UUID(int=row[0].int): StoredCustomerState(
            json_loads(row[1]),
            json_loads(row[2]),
            json_loads(row[3]),
            row[4],
            (row[1], row[2], row[3]),
        )
        for row in rows
    }


_LOAD_STATES = (
    "SELECT customer_id, features, levels, scores, sequence "
    "FROM customer_state WHERE customer_id = ANY($1::uuid[])"
)


_UPSERT_STATES = unnest_insert(
    _table(CustomerState),
    StateRow,
    suffix=" ON CONFLICT (customer_id) DO UPDATE SET features = excluded.features, "
    "levels = excluded.levels, scores = excluded.scores, sequence = excluded.sequence, "
    "updated_at = now()",
)


class DirectoryEntry(NamedTuple):
    name: str | None
    relationship_manager: str | None


async def load_directory(
    session: AsyncSession, customer_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, DirectoryEntry]:
    ids = list(customer_ids)
    if not ids:
        return {}
    rows = await (await transaction_connection(session)).fetch(_LOAD_DIRECTORY, ids)
    return {uuid.UUID(int=row[0].int): DirectoryEntry(row[1], row[2]) for row in rows}


_LOAD_DIRECTORY = (
    "SELECT customer_id, name, relationship_manager FROM customer_directory "
    "WHERE customer_id = ANY($1::uuid[])"
)


async def upsert_directory(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = pg_insert(_table(CustomerDirectoryEntry))
    statement = statement.on_conflict_do_update(
        index_elements=[CustomerDirectoryEntry.customer_id],
        set_={
            "name": statement.excluded.name,
            "relationship_manager": statement.excluded.relationship_manager,
            "segment": statement.excluded.segment,
            "updated_at": func.now(),
        },
    )
    await session.execute(statement, rows)


async def load_windows(
    session: AsyncSession, keys: Iterable[GroupKey]
) -> dict[GroupKey, dict[str, Any]]:
    pairs = list(dict.fromkeys(keys))
    if not pairs:
        return {}
    rows = await (await transaction_connection(session)).fetch(
        _LOAD_WINDOWS, [key.by for key in pairs], [key.value for key in pairs]
    )
    return {GroupKey(row[0], row[1]): json_loads(row[2]) for row in rows}


_LOAD_WINDOWS = (
    "SELECT w.group_by, w.group_id, w.state FROM window_groups AS w "
    "JOIN unnest($1::text[], $2::text[]) AS keys(b, g) "
    "ON w.group_by = keys.b AND w.group_id = keys.g"
)


_UPSERT_WINDOWS = unnest_insert(
    _table(WindowGroup),
    WindowRow,
    suffix=" ON CONFLICT (group_by, group_id) DO UPDATE SET state = excluded.state, "
    "updated_at = now()",
)
_INSERT_HISTORY = unnest_insert(
    _table(EvaluationRecord), HistoryRow, ordered=True, suffix=" ON CONFLICT DO NOTHING"
)


async def history_chunks(
    session: AsyncSession, start: datetime, end: datetime, *, chunk_size: int = 5_000
) -> AsyncIterator[Sequence[EvaluationRecord]]:
    """Evaluation history in [start, end), in arrival order, a keyset page at a time."""
    after: tuple[datetime, int] | None = None
    while True:
        statement = select(EvaluationRecord).where(
            EvaluationRecord.occurred_at >= start, EvaluationRecord.occurred_at < end
        )
        if after is not None:
            statement = statement.where(
                tuple_(EvaluationRecord.occurred_at, EvaluationRecord.seq) > tuple_(*after)
            )
        statement = statement.order_by(EvaluationRecord.occurred_at, EvaluationRecord.seq)
        rows = (await session.execute(statement.limit(chunk_size))).scalars().all()
        if not rows:
            return
        yield rows
        after = (rows[-1].occurred_at, rows[-1].seq)
        session.expunge_all()  # a long replay must not keep every row in the identity map


# --- alerts written by the consumer ---------------------------------------------------------


async def load_open_alerts(
    session: AsyncSession, pairs: Iterable[tuple[uuid.UUID, str]]
) -> dict[tuple[uuid.UUID, str], OpenAlert]:
    wanted = list(dict.fromkeys(pairs))
    if not wanted:
        return {}
    rows = await (await transaction_connection(session)).fetch(
        _LOAD_OPEN_ALERTS, [rule_id for rule_id, _ in wanted], [value for _, value in wanted]
    )
    return {
        (uuid.UUID(int=row[1].int), row[2]): OpenAlert(
            uuid.UUID(int=row[0].int), row[3], row[4], row[5], row[6]
        )
        for row in rows
    }


_LOAD_OPEN_ALERTS = (
    "SELECT a.id, a.rule_id, a.dedup_value, a.first_seen_at, a.occurrence_count, a.status, "
    "a.severity "
    "FROM alerts AS a JOIN unnest($1::uuid[], $2::text[]) AS wanted(r, v) "
    "ON a.rule_id = wanted.r AND a.dedup_value = wanted.v WHERE a.dedup_open"
)


async def close_dedup(session: AsyncSession, alert_ids: Sequence[uuid.UUID]) -> None:
    if alert_ids:
        statement = update(Alert).where(Alert.id.in_(alert_ids)).values(dedup_open=False)
        await session.execute(statement)


class AlertRow(NamedTuple):
    """An alert the consumer raises, as its row of `alerts` (JSON columns as values)."""

    id: uuid.UUID
    rule_id: uuid.UUID
    rule_version: int
    rule_name: str
    rule_type: str
    severity: str
    status: str
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
    dedup_value: str
    dedup_open: bool
    occurrence_count: int
    first_seen_at: datetime
    last_seen_at: datetime
    raised_at: datetime
    sla_due_at: datetime
    message_code: str | None
    message_params: dict[str, Any]
    coded_reasons: list[dict[str, Any]]
    happened_at: datetime


_INSERT_ALERTS = unnest_insert(_table(Alert), AlertRow)
# The JSON columns (bytea, models.JsonBytes): encoded here, as the ORM would.
_ALERT_JSON = frozenset(
    name for name in AlertRow._fields if isinstance(_table(Alert).c[name].type, JsonBytes)
)


def _alert_args(rows: list[AlertRow]) -> list[list[Any]]:
    columns = _INSERT_ALERTS.args(rows)
    return [
        [json_bytes(value) for value in column] if name in _ALERT_JSON else column
        for name, column in zip(AlertRow._fields, columns, strict=True)
    ]


_INSERT_OCCURRENCES = unnest_insert(_table(AlertOccurrence), OccurrenceRow, ordered=True)


def _count_args(counts: dict[uuid.UUID, tuple[int, datetime]]) -> list[list[Any]]:
    """counts: alert id -> (occurrences to add, latest occurrence time)."""
    return [
        list(counts),
        [added for added, _ in counts.values()],
        [seen for _, seen in counts.values()],
    ]


_ADD_OCCURRENCES = (
    "UPDATE alerts SET occurrence_count = alerts.occurrence_count + changes.added, "
    "last_seen_at = greatest(alerts.last_seen_at, changes.seen), updated_at = now() "
    "FROM unnest($1::uuid[], $2::int[], $3::timestamptz[]) AS changes(id, added, seen) "
    "WHERE alerts.id = changes.id"
)


_INSERT_TIMELINE = unnest_insert(_table(AlertTimelineEntry), TimelineRow, ordered=True)


@dataclass
class BatchWrites:
    """Everything a consumed batch writes but the outbox, sent as one statement."""

    history: list[HistoryRow] = field(default_factory=list)
    windows: list[WindowRow] = field(default_factory=list)
    states: list[StateRow] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    occurrences: list[OccurrenceRow] = field(default_factory=list)
    # Alerts stored before this batch only: one statement cannot update a row it inserts, so
    # the occurrences of an alert raised in the batch are counted in its row.
    counts: dict[uuid.UUID, tuple[int, datetime]] = field(default_factory=dict)
    timeline: list[TimelineRow] = field(default_factory=list)


def _combined(parts: Sequence[tuple[str, str]]) -> str:
    """One statement of data-modifying WITH parts, each written with its own $1..$n: every
    part runs exactly once, all in one round trip and one executor start."""
    offset, ctes = 0, []
    for name, sql in parts:

        def shifted(match: re.Match[str], by: int = offset) -> str:
            return f"${int(match.group(1)) + by}"

        ctes.append(f"{name} AS ({_PARAMETER.sub(shifted, sql)})")
        offset += max(int(number) for number in _PARAMETER.findall(sql))
    return "WITH " + ", ".join(ctes) + " SELECT 1"


_PARAMETER = re.compile(r"\$(\d+)")


# Foreign keys (occurrences and timeline -> alerts) are checked at the statement's end, when
# the alerts part has inserted its rows.
_WRITE_BATCH = _combined(
    (
        ("history_rows", _INSERT_HISTORY.sql),
        ("window_rows", _UPSERT_WINDOWS.sql),
        ("state_rows", _UPSERT_STATES.sql),
        ("alert_rows", _INSERT_ALERTS.sql),
        ("occurrence_rows", _INSERT_OCCURRENCES.sql),
        ("count_changes", _ADD_OCCURRENCES),
        ("timeline_rows", _INSERT_TIMELINE.sql),
    )
)


async def write_batch(session: AsyncSession, writes: BatchWrites) -> None:
    """Evaluation history, window groups, customer states, alerts, occurrences, occurrence
    counts and timeline entries, in the session's transaction, in one statement."""
    args = [
        *_INSERT_HISTORY.args(writes.history),
        *_UPSERT_WINDOWS.args(writes.windows),
        *_UPSERT_STATES.args(writes.states),
        *_alert_args(writes.alerts),
        *_INSERT_OCCURRENCES.args(writes.occurrences),
        *_count_args(writes.counts),
        *_INSERT_TIMELINE.args(writes.timeline),
    ]
    await (await transaction_connection(session)).execute(_WRITE_BATCH, *args)


# --- alerts read and changed through the API ------------------------------------------------


# Newest first by raised_at or happened_at; `sla_due_at`: the soonest due first.
SortKey = Literal["raised_at", "happened_at", "sla_due_at"]


@dataclass(frozen=True)
class AlertFilters:
    raised_from: datetime | None = None
    raised_to: datetime | None = None
    happened_from: datetime | None = None
    happened_to: datetime | None = None
    # The order of lists and exports: newest first by this time, then id.
    sort: SortKey = "raised_at"
    rule_type: str | None = None
    severity: str | None = None
    status: str | None = None
    customer_id: uuid.UUID | None = None
    rule_id: uuid.UUID | None = None
    assignee: str | None = None
    # The desk's queues: assigned to one of these people (`me`), to nobody, to a team.
    assignee_in: tuple[str, ...] | None = None
    unassigned: bool = False
    team: str | None = None
    sla_state: str | None = None
    open_only: bool = False
    # A relationship manager's own customers only (`riskwatch_shared.ownership.owner_scope`).
    owner: str | None = None


def alert_owned_by(owner: str) -> Any:
    """SQL: the alert's customer is `owner`'s: as the directory says now (customers change
    hands), else as the alert recorded when raised (a customer the directory has not heard of).
    """
    entry = CustomerDirectoryEntry
    # `IN` an uncorrelated list of the RM's customers: PostgreSQL hashes it once per query
    # rather than probing the directory for every alert (a list's count reads them all).
    theirs = select(entry.customer_id).where(entry.relationship_manager == owner)
    listed = select(entry.customer_id).where(entry.customer_id == Alert.customer_id)
    return or_(
        Alert.customer_id.in_(theirs),
        and_(Alert.relationship_manager == owner, ~listed.exists()),
    )


async def alert_visible_to(session: AsyncSession, alert_id: uuid.UUID, owner: str) -> bool:
    statement = select(Alert.id).where(Alert.id == alert_id, alert_owned_by(owner))
    return (await session.execute(statement)).first() is not None


def _filtered(statement: SelectT, filters: AlertFilters) -> SelectT:
    conditions = []
    if filters.owner is not None:
        conditions.append(alert_owned_by(filters.owner))
    if filters.raised_from is not None:
        conditions.append(Alert.raised_at >= filters.raised_from)
    if filters.raised_to is not None:
        conditions.append(Alert.raised_at < filters.raised_to)
    if filters.happened_from is not None:
        conditions.append(Alert.happened_at >= filters.happened_from)
    if filters.happened_to is not None:
        conditions.append(Alert.happened_at < filters.happened_to)
    for column, value in (
        (Alert.rule_type, filters.rule_type),
        (Alert.severity, filters.severity),
        (Alert.status, filters.status),
        (Alert.customer_id, filters.customer_id),
        (Alert.rule_id, filters.rule_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if filters.assignee is not None:
        conditions.append(
            or_(Alert.assignee == filters.assignee, Alert.assignee_team == filters.assignee)
        )
    if filters.assignee_in is not None:
        conditions.append(Alert.assignee.in_(filters.assignee_in))
    if filters.unassigned:
        conditions.append(Alert.assignee.is_(None))
    if filters.team is not None:
        conditions.append(Alert.assignee_team == filters.team)
    if filters.open_only:
        conditions.append(Alert.status != "resolved")
    if filters.sla_state is not None:
        conditions.append(alert_in_sla_state(filters.sla_state, datetime.now(UTC)))
    return statement.where(and_(*conditions)) if conditions else statement


def in_sla_state(
    state: str,
    now: datetime,
    *,
    started: Any,
    due: Any,
    closed: Any,
) -> Any:
    """SQL: the item's SLA badge is `state` at `now` (`domain.desk.sla_state`)."""
    is_open = closed.is_(None)
    # interval * float8 in PostgreSQL; SQLAlchemy's Interval type declares no `*`.
    share = literal(AMBER_REMAINING_SHARE, Float)
    amber_at = due - type_coerce(type_coerce(due - started, Float) * share, Interval)
    red = or_(and_(is_open, due <= now), and_(~is_open, closed > due))
    amber = and_(is_open, due > now, amber_at <= now)
    if state == "red":
        return red
    if state == "amber":
        return amber
    return and_(~red, ~amber)


def sla_state_of(now: datetime, *, started: Any, due: Any, closed: Any) -> Any:
    """SQL: the item's SLA badge at `now`, as text."""
    columns = {"started": started, "due": due, "closed": closed}
    return case(
        (in_sla_state("red", now, **columns), "red"),
        (in_sla_state("amber", now, **columns), "amber"),
        else_="ok",
    )


async def count_alerts_by_sla(
    session: AsyncSession, filters: AlertFilters, now: datetime
) -> dict[str, int]:
    """How many of the filtered alerts wear each SLA badge at `now`."""
    state = sla_state_of(
        now, started=Alert.raised_at, due=Alert.sla_due_at, closed=Alert.resolved_at
    )
    return await count_by(session, filters, state)


def alert_in_sla_state(state: str, now: datetime) -> Any:
    return in_sla_state(
        state, now, started=Alert.raised_at, due=Alert.sla_due_at, closed=Alert.resolved_at
    )


async def list_alerts(
    session: AsyncSession,
    filters: AlertFilters,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Alert]:
    """Newest first by `filters.sort`; `before` is the (that time, id) of the last row of the
    previous page."""
    statement = _filtered(select(Alert), filters)
    if filters.sort == "sla_due_at":
        if before is not None:
            statement = statement.where(tuple_(Alert.sla_due_at, Alert.id) > tuple_(*before))
        statement = statement.order_by(Alert.sla_due_at, Alert.id).limit(limit)
        return (await session.execute(statement)).scalars().all()
    moment = Alert.happened_at if filters.sort == "happened_at" else Alert.raised_at
    if before is not None:
        statement = statement.where(tuple_(moment, Alert.id) < tuple_(*before))
    statement = statement.order_by(moment.desc(), Alert.id.desc()).limit(limit)
    return (await session.execute(statement)).scalars().all()


async def alerts_changed_after(
    session: AsyncSession, filters: AlertFilters, *, after_seq: int, limit: int
) -> Sequence[Alert]:
    """The filtered alerts inserted or updated after change `after_seq`, in change order."""
    statement = _filtered(select(Alert), filters).where(Alert.change_seq > after_seq)
    statement = statement.order_by(Alert.change_seq).limit(limit)
    return (await session.execute(statement)).scalars().all()


async def last_change_seq(session: AsyncSession) -> int:
    """The newest change any alert carries (0 when there is none)."""
    return int(await session.scalar(select(func.max(Alert.change_seq))) or 0)


async def count_alerts(session: AsyncSession, filters: AlertFilters) -> Total:
    """How many alerts the filters select in all pages (exact, or estimated when many)."""
    return await total_of(session, _filtered(select(Alert), filters))


async def total_entries(session: AsyncSession, list_id: uuid.UUID) -> Total:
    return await total_of(session, select(ListEntry).where(ListEntry.list_id == list_id))


async def get_alert(
    session: AsyncSession, alert_id: uuid.UUID, *, for_update: bool = False
) -> Alert | None:
    statement = select(Alert).where(Alert.id == alert_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def occurrences_of(session: AsyncSession, alert_id: uuid.UUID) -> Sequence[AlertOccurrence]:
    statement = (
        select(AlertOccurrence)
        .where(AlertOccurrence.alert_id == alert_id)
        .order_by(AlertOccurrence.occurred_at, AlertOccurrence.id)
    )
    return (await session.execute(statement)).scalars().all()


async def timeline_of(session: AsyncSession, alert_id: uuid.UUID) -> Sequence[AlertTimelineEntry]:
    statement = (
        select(AlertTimelineEntry)
        .where(AlertTimelineEntry.alert_id == alert_id)
        .order_by(AlertTimelineEntry.at, AlertTimelineEntry.id)
    )
    return (await session.execute(statement)).scalars().all()


async def count_by(session: AsyncSession, filters: AlertFilters, column: Any) -> dict[str, int]:
    statement = _filtered(select(column, func.count()).group_by(column), filters)
    return {str(key): int(count) for key, count in (await session.execute(statement)).all()}


async def count_by_day(session: AsyncSession, filters: AlertFilters) -> dict[str, int]:
    day = func.to_char(func.timezone("UTC", Alert.raised_at), "YYYY-MM-DD")
    return await count_by(session, filters, day)


async def acknowledge_seconds(
    session: AsyncSession, filters: AlertFilters
) -> tuple[float | None, float | None, int]:
    """(mean, median, how many) of acknowledged_at - raised_at, in seconds."""
    seconds = func.extract("epoch", Alert.acknowledged_at - Alert.raised_at)
    statement = _filtered(
        select(
            func.avg(seconds),
            func.percentile_cont(0.5).within_group(seconds),
            func.count(Alert.acknowledged_at),
        ).where(Alert.acknowledged_at.is_not(None)),
        filters,
    )
    mean, median, count = (await session.execute(statement)).one()
    return (
        None if mean is None else float(mean),
        None if median is None else float(median),
        int(count),
    )


async def false_positive_rates(
    session: AsyncSession, filters: AlertFilters
) -> Sequence[tuple[uuid.UUID, str, int, int]]:
    """Per rule: (rule id, name, resolved alerts, false positives)."""
    false_positive = func.sum(case((Alert.outcome == "false_positive", 1), else_=0))
    statement = _filtered(
        select(Alert.rule_id, func.max(Alert.rule_name), func.count(), false_positive)
        .where(Alert.status == "resolved", Alert.outcome.is_not(None))
        .group_by(Alert.rule_id),
        filters,
    )
    return [
        (row[0], str(row[1]), int(row[2]), int(row[3] or 0))
        for row in (await session.execute(statement)).all()
    ]


async def dispositioned_alerts(
    session: AsyncSession, start: datetime, end: datetime
) -> Sequence[tuple[uuid.UUID | None, uuid.UUID | None, datetime, str]]:
    statement = select(
        Alert.trigger_event_id, Alert.customer_id, Alert.first_seen_at, Alert.outcome
    ).where(
        Alert.outcome.is_not(None),
        Alert.first_seen_at >= start,
        Alert.first_seen_at < end,
    )
    return [(row[0], row[1], row[2], str(row[3])) for row in (await session.execute(statement))]
