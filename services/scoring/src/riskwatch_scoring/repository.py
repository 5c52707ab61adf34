"""All SQL of the scoring service: customer state, assessments, model registry, labels."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

import asyncpg
import orjson
from sqlalchemy import Row, Select, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_scoring.models import AssessmentRow, CustomerStateRow, OutcomeLabel, ScoringModel
from riskwatch_shared.db.base import table_of
from riskwatch_shared.db.bulk import row_columns, unnest_insert, unnest_rows
from riskwatch_shared.db.session import transaction_connection
from riskwatch_shared.db.totals import Total, total_of


class StateRow(NamedTuple):
    """A customer's state as written back: its columns of `customer_state`."""

    customer_id: uuid.UUID
    version: int
    state: bytes  # the blob (orjson)
    # The event time the state is current to (`ScoredCustomer.as_of_epoch`), None before any.
    as_of: datetime | None


_STATES = table_of(CustomerStateRow)


# -- customer state ---------------------------------------------------------------------------

# Locks the batch's existing rows (stable order: no deadlock between replicas) and sends a
# blob only where the caller's cached version is stale.
_LOCK_STATES = (
    "SELECT s.customer_id, s.version, "
    "CASE WHEN s.version = c.version THEN NULL ELSE s.state END AS state "
    "FROM customer_state AS s "
    "JOIN unnest($1::uuid[], $2::int[]) AS c(customer_id, version) "
    "ON s.customer_id = c.customer_id ORDER BY s.customer_id FOR UPDATE OF s"
)
_READ_STATE = text(
    "SELECT version, CASE WHEN version = :version THEN NULL ELSE state END AS state "
    "FROM customer_state WHERE customer_id = :customer_id"
)
# updated_at: its server default, now().
_INSERT_STATES = unnest_insert(_STATES, StateRow)
_UPDATE_STATES = (
    "UPDATE customer_state AS s SET version = t.version, state = t.state, as_of = t.as_of, "
    "updated_at = now() "
    f"FROM {unnest_rows(_STATES, StateRow._fields)} WHERE s.customer_id = t.customer_id"
)
# Both in one round trip: a data-modifying CTE runs to completion, unreferenced. The two sets
# of rows are disjoint (the inserted ones were not found when the batch locked its rows).
_INSERT_AFTER_UPDATE = unnest_insert(_STATES, StateRow, start=len(StateRow._fields) + 1)
_UPDATE_AND_INSERT_STATES = f"WITH updated AS ({_UPDATE_STATES}) {_INSERT_AFTER_UPDATE.sql}"


async def lock_states(
    session: AsyncSession, cached_versions: dict[uuid.UUID, int]
) -> list[asyncpg.Record]:
    """(customer_id, version, state or None when the cached version is current), locked."""
    ids = list(cached_versions)
    versions = [cached_versions[customer_id] for customer_id in ids]
    driver = await transaction_connection(session)
    return list(await driver.fetch(_LOCK_STATES, ids, versions))


async def read_state(
    session: AsyncSession, customer_id: uuid.UUID, cached_version: int
) -> Row[Any] | None:
    result = await session.execute(
        _READ_STATE, {"customer_id": customer_id, "version": cached_version}
    )
    return result.first()


async def write_states(
    session: AsyncSession, *, inserted: Sequence[StateRow], updated: Sequence[StateRow]
) -> None:
    """New customers are INSERTed (a concurrent insert fails loudly); locked rows UPDATEd.
    One statement for the whole batch, the rows passed as arrays."""
    if not inserted and not updated:
        return
    driver = await transaction_connection(session)
    if inserted and updated:
        await driver.execute(
            _UPDATE_AND_INSERT_STATES,
            *_INSERT_STATES.args(updated),
            *_INSERT_STATES.args(inserted),
        )
        return
    statement = _UPDATE_STATES if updated else _INSERT_STATES.sql
    await driver.execute(statement, *_INSERT_STATES.args(updated or inserted))


async def stream_time(session: AsyncSession) -> datetime | None:
    """The stream's time: the newest event time any customer's state is current to, never
    after the machine clock (a future-dated event must not age every customer). None before
    the first event."""
    statement = text("SELECT least(max(as_of), now()) FROM customer_state")
    return (await session.execute(statement)).scalar_one_or_none()


async def idle_customers(session: AsyncSession, *, before: datetime, limit: int) -> list[uuid.UUID]:
    """Customers whose state is current to an event time before `before` (locked; busy ones
    are skipped)."""
    statement = text(
        "SELECT customer_id FROM customer_state WHERE as_of < :before "
        "ORDER BY as_of LIMIT :limit FOR UPDATE SKIP LOCKED"
    )
    result = await session.execute(statement, {"before": before, "limit": limit})
    return list(result.scalars().all())


# -- assessments ------------------------------------------------------------------------------


class AssessmentRecord(NamedTuple):
    """An assessment as the event path writes it: its columns of `assessment`, in COPY's
    order (JSON columns as values, encoded by `insert_assessments`)."""

    id: uuid.UUID
    customer_id: uuid.UUID
    kind: str
    score: float
    level: str
    model_id: uuid.UUID
    model_version: str
    inputs_hash: str
    reasons: list[dict[str, Any]]
    is_shadow: bool
    transaction_id: uuid.UUID | None
    trigger_event_type: str
    trigger_event_id: uuid.UUID | None
    sequence: int
    features: dict[str, Any] | None
    assessed_at: datetime


_ASSESSMENT_COLUMNS = row_columns(table_of(AssessmentRow), AssessmentRecord)


def _json_text(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


_REASONS = _ASSESSMENT_COLUMNS.index("reasons")
_FEATURES = _ASSESSMENT_COLUMNS.index("features")


def assessment_records(rows: Sequence[AssessmentRecord]) -> list[list[Any]]:
    """Assessment rows as COPY records, JSON columns encoded with orjson."""
    records = []
    for row in rows:
        record = list(row)
        record[_REASONS] = _json_text(row.reasons)
        record[_FEATURES] = _json_text(row.features)
        records.append(record)
    return records


async def insert_assessments(session: AsyncSession, rows: Sequence[AssessmentRecord]) -> None:
    """One COPY for the batch (in the session's transaction)."""
    if not rows:
        return
    driver = await transaction_connection(session)
    await driver.copy_records_to_table(
        "assessment", records=assessment_records(rows), columns=_ASSESSMENT_COLUMNS
    )


# -- outbox -----------------------------------------------------------------------------------


def level_changes(customer_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
    """SQL: ids of the customer's assessments that moved the level of their kind (the first
    of each kind included)."""
    previous = func.lag(AssessmentRow.level).over(
        partition_by=(AssessmentRow.kind, AssessmentRow.is_shadow),
        order_by=(AssessmentRow.assessed_at, AssessmentRow.id),
    )
    ordered = (
        select(AssessmentRow.id, AssessmentRow.level, previous.label("previous"))
        .where(AssessmentRow.customer_id == customer_id)
        .subquery()
    )
    return select(ordered.c.id).where(ordered.c.previous.is_distinct_from(ordered.c.level))


async def assessment_page(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID,
    kind: str | None,
    include_shadow: bool,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
    changes_only: bool = False,
) -> tuple[list[AssessmentRow], Total]:
    """Newest first, keyset-paginated on (assessed_at, id); `changes_only`: the assessments
    whose level differs from the one before it (same model kind, champion or shadow)."""
    statement = select(AssessmentRow).where(AssessmentRow.customer_id == customer_id)
    if kind is not None:
        statement = statement.where(AssessmentRow.kind == kind)
    if not include_shadow:
        statement = statement.where(AssessmentRow.is_shadow.is_(False))
    if changes_only:
        statement = statement.where(AssessmentRow.id.in_(level_changes(customer_id)))
    total = await total_of(session, statement)
    if after is not None:
        at, row_id = after
        statement = statement.where(
            (AssessmentRow.assessed_at < at)
            | ((AssessmentRow.assessed_at == at) & (AssessmentRow.id < row_id))
        )
    statement = statement.order_by(AssessmentRow.assessed_at.desc(), AssessmentRow.id.desc())
    return list((await session.execute(statement.limit(limit))).scalars().all()), total


async def recent_scores(
    session: AsyncSession, *, model_id: uuid.UUID, since: datetime, limit: int
) -> list[float]:
    statement = (
        select(AssessmentRow.score)
        .where(AssessmentRow.model_id == model_id, AssessmentRow.assessed_at >= since)
        .order_by(AssessmentRow.assessed_at.desc())
        .limit(limit)
    )
    return [float(score) for score in (await session.execute(statement)).scalars().all()]


async def first_scores(session: AsyncSession, *, model_id: uuid.UUID, limit: int) -> list[float]:
    statement = (
        select(AssessmentRow.score)
        .where(AssessmentRow.model_id == model_id)
        .order_by(AssessmentRow.assessed_at)
        .limit(limit)
    )
    return [float(score) for score in (await session.execute(statement)).scalars().all()]


async def shadow_summary(session: AsyncSession, model_id: uuid.UUID) -> dict[str, Any]:
    statement = select(
        func.count(), func.avg(AssessmentRow.score), func.max(AssessmentRow.assessed_at)
    ).where(AssessmentRow.model_id == model_id)
    count, mean, last = (await session.execute(statement)).one()
    return {"assessments": int(count), "mean_score": mean, "last_assessed_at": last}


# -- model registry ---------------------------------------------------------------------------


async def lock_model_kind(session: AsyncSession, kind: str) -> None:
    """Serialise registry changes of one kind (activation, shadowing, new versions)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"scoring-model-{kind}"}
    )


async def serving_models(session: AsyncSession) -> list[ScoringModel]:
    statement = select(ScoringModel).where(ScoringModel.status.in_(("champion", "challenger")))
    return list((await session.execute(statement)).scalars().all())


async def serving_fingerprint(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    statement = select(ScoringModel.id, ScoringModel.status).where(
        ScoringModel.status.in_(("champion", "challenger"))
    )
    return [(model_id, status) for model_id, status in (await session.execute(statement)).all()]


async def list_models(session: AsyncSession, *, kind: str | None) -> list[ScoringModel]:
    statement = select(ScoringModel)
    if kind is not None:
        statement = statement.where(ScoringModel.kind == kind)
    statement = statement.order_by(ScoringModel.kind, ScoringModel.version.desc())
    return list((await session.execute(statement)).scalars().all())


async def get_model(session: AsyncSession, model_id: uuid.UUID) -> ScoringModel | None:
    return await session.get(ScoringModel, model_id)


async def models_of_kind(session: AsyncSession, kind: str) -> list[ScoringModel]:
    statement = select(ScoringModel).where(ScoringModel.kind == kind)
    return list((await session.execute(statement)).scalars().all())


async def next_model_version(session: AsyncSession, kind: str) -> int:
    statement = select(func.coalesce(func.max(ScoringModel.version), 0)).where(
        ScoringModel.kind == kind
    )
    return int((await session.execute(statement)).scalar_one()) + 1


async def insert_model_if_absent(session: AsyncSession, values: dict[str, Any]) -> None:
    statement = pg_insert(ScoringModel).values(**values).on_conflict_do_nothing()
    await session.execute(statement)


async def set_model_status(
    session: AsyncSession, model_ids: Sequence[uuid.UUID], status: str, at: datetime | None = None
) -> None:
    if not model_ids:
        return
    values: dict[str, Any] = {"status": status}
    if at is not None:
        values["activated_at"] = at
    await session.execute(
        update(ScoringModel).where(ScoringModel.id.in_(model_ids)).values(**values)
    )
    await session.flush()


async def set_model_baseline(
    session: AsyncSession, model_id: uuid.UUID, baseline: list[float]
) -> None:
    await session.execute(
        update(ScoringModel).where(ScoringModel.id == model_id).values(baseline_scores=baseline)
    )


async def mark_drift_alerted(session: AsyncSession, model_id: uuid.UUID, on: date) -> None:
    await session.execute(
        update(ScoringModel).where(ScoringModel.id == model_id).values(drift_alerted_on=on)
    )


# -- labels -----------------------------------------------------------------------------------


async def insert_labels(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(OutcomeLabel), list(rows))


async def label_page(
    session: AsyncSession,
    *,
    kind: str | None,
    customer_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> tuple[list[OutcomeLabel], Total]:
    statement = select(OutcomeLabel)
    if kind is not None:
        statement = statement.where(OutcomeLabel.kind == kind)
    if customer_id is not None:
        statement = statement.where(OutcomeLabel.customer_id == customer_id)
    total = await total_of(session, statement)
    if after is not None:
        at, row_id = after
        statement = statement.where(
            (OutcomeLabel.observed_at < at)
            | ((OutcomeLabel.observed_at == at) & (OutcomeLabel.id < row_id))
        )
    statement = statement.order_by(OutcomeLabel.observed_at.desc(), OutcomeLabel.id.desc())
    return list((await session.execute(statement.limit(limit))).scalars().all()), total


# Each label joined to the customer's latest non-shadow assessment of that kind made at or
# before the outcome was observed: the features as they stood, never features from after it.
_TRAINING_ROWS = text(
    "SELECT l.outcome, a.features FROM outcome_label AS l "
    "CROSS JOIN LATERAL (SELECT features FROM assessment "
    "  WHERE customer_id = l.customer_id AND kind = l.kind AND NOT is_shadow "
    "  AND features IS NOT NULL AND assessed_at <= l.observed_at "
    "  ORDER BY assessed_at DESC LIMIT 1) AS a "
    "WHERE l.kind = :kind"
)


async def training_rows(session: AsyncSession, kind: str) -> list[tuple[int, dict[str, Any]]]:
    result = await session.execute(_TRAINING_ROWS, {"kind": kind})
    return [(int(outcome), dict(features)) for outcome, features in result.all()]
