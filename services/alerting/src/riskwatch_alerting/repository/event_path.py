"""SQL of the event path: what the consumer reads and writes per fetched batch (customer
states, the customer directory, window groups, evaluation history, open alerts, and every
row a batch writes, in one statement). Functions only flush; the caller owns the transaction."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    func,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.domain.evaluation import OpenAlert
from riskwatch_alerting.domain.evaluation_input import json_bytes
from riskwatch_alerting.models import (
    Alert,
    AlertOccurrence,
    AlertTimelineEntry,
    CustomerDirectoryEntry,
    CustomerState,
    EvaluationRecord,
    JsonBytes,
    WindowGroup,
    json_loads,
)
from riskwatch_alerting.rules.windows import GroupKey
from riskwatch_shared.db.base import table_of
from riskwatch_shared.db.bulk import unnest_insert
from riskwatch_shared.db.session import transaction_connection

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
    table_of(CustomerState),
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
    statement = pg_insert(table_of(CustomerDirectoryEntry))
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
    table_of(WindowGroup),
    WindowRow,
    suffix=" ON CONFLICT (group_by, group_id) DO UPDATE SET state = excluded.state, "
    "updated_at = now()",
)
_INSERT_HISTORY = unnest_insert(
    table_of(EvaluationRecord), HistoryRow, ordered=True, suffix=" ON CONFLICT DO NOTHING"
)


class StoredEvaluation(NamedTuple):
    """One evaluation history row, as a replay reads it (`context` decoded)."""

    event_id: uuid.UUID
    event_type: str
    customer_id: uuid.UUID | None
    occurred_at: datetime
    context: dict[str, Any]
    seq: int


async def history_chunks(
    session: AsyncSession, start: datetime, end: datetime, *, chunk_size: int = 5_000
) -> AsyncIterator[list[StoredEvaluation]]:
    """Evaluation history in [start, end), in arrival order, a keyset page at a time.

    Raw asyncpg rows (no ORM objects: a year of history is millions of rows). The page's
    lower bound on `occurred_at` alone is what the index serves, so each page starts where
    the last one ended instead of filtering every earlier row again. The caller may end the
    session's transaction between pages (a long replay holds no snapshot open)."""
    after_at, after_seq = start, 0
    while True:
        connection = await transaction_connection(session)
        rows = await connection.fetch(_HISTORY_PAGE, after_at, end, after_seq, chunk_size)
        if not rows:
            return
        yield [
            StoredEvaluation(
                uuid.UUID(int=row[0].int),
                row[1],
                None if row[2] is None else uuid.UUID(int=row[2].int),
                row[3],
                json_loads(row[4]),
                row[5],
            )
            for row in rows
        ]
        after_at, after_seq = rows[-1][3], rows[-1][5]


_HISTORY_PAGE = (
    "SELECT event_id, event_type, customer_id, occurred_at, context, seq "
    "FROM evaluation_history WHERE occurred_at >= $1 AND occurred_at < $2 "
    "AND (occurred_at, seq) > ($1, $3) ORDER BY occurred_at, seq LIMIT $4"
)


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


_INSERT_ALERTS = unnest_insert(table_of(Alert), AlertRow)
# The JSON columns (bytea, models.JsonBytes): encoded here, as the ORM would.
_ALERT_JSON = frozenset(
    name for name in AlertRow._fields if isinstance(table_of(Alert).c[name].type, JsonBytes)
)


def _alert_args(rows: list[AlertRow]) -> list[list[Any]]:
    columns = _INSERT_ALERTS.args(rows)
    return [
        [json_bytes(value) for value in column] if name in _ALERT_JSON else column
        for name, column in zip(AlertRow._fields, columns, strict=True)
    ]


_INSERT_OCCURRENCES = unnest_insert(table_of(AlertOccurrence), OccurrenceRow, ordered=True)


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


_INSERT_TIMELINE = unnest_insert(table_of(AlertTimelineEntry), TimelineRow, ordered=True)


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
