"""All SQL of shadow runs: the running versions the event path loads, the hits it stores, and
what the comparison reads. Functions only flush; the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.domain.shadow import MAX_HITS_PER_RUN, HitRecord, StoredShadowHit
from riskwatch_alerting.models import (
    Alert,
    AlertOccurrence,
    RuleVersion,
    ShadowHit,
    ShadowRun,
)
from riskwatch_alerting.repository import RULES_CACHE, bump_cache_version
from riskwatch_shared.db.base import table_of
from riskwatch_shared.db.bulk import unnest_insert
from riskwatch_shared.db.session import transaction_connection

RUNNING = "running"
STOPPED = "stopped"


# --- the event path ---------------------------------------------------------------------------


async def running_versions(
    session: AsyncSession,
) -> Sequence[tuple[uuid.UUID, uuid.UUID, int, dict[str, Any]]]:
    """(run id, rule id, version, the version's snapshot) of every running shadow."""
    statement = (
        select(ShadowRun.id, ShadowRun.rule_id, ShadowRun.version, RuleVersion.snapshot)
        .join(
            RuleVersion,
            (RuleVersion.rule_id == ShadowRun.rule_id) & (RuleVersion.version == ShadowRun.version),
        )
        .where(ShadowRun.status == RUNNING)
        .order_by(ShadowRun.started_at, ShadowRun.id)
    )
    return [(row[0], row[1], row[2], dict(row[3])) for row in await session.execute(statement)]


class ShadowHitRow(NamedTuple):
    run_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    customer_id: uuid.UUID | None
    transaction_id: uuid.UUID | None
    occurred_at: datetime
    dedup_value: str
    evidence: bytes  # JSON


_INSERT_HITS = unnest_insert(table_of(ShadowHit), ShadowHitRow, ordered=True)
_COUNT_HITS = (
    "UPDATE shadow_runs SET hit_count = shadow_runs.hit_count + added.n "
    "FROM unnest($1::uuid[], $2::bigint[]) AS added(id, n) "
    "WHERE shadow_runs.id = added.id AND shadow_runs.status = 'running' "
    "RETURNING shadow_runs.id, shadow_runs.hit_count"
)


async def record_hits(session: AsyncSession, rows: Sequence[ShadowHitRow]) -> None:
    """Store a batch's shadow hits and count them on their runs; a run past MAX_HITS_PER_RUN
    stops itself (`hit_cap`)."""
    if not rows:
        return
    db = await transaction_connection(session)
    await db.execute(_INSERT_HITS.sql, *_INSERT_HITS.args(rows))
    added: dict[uuid.UUID, int] = {}
    for row in rows:
        added[row.run_id] = added.get(row.run_id, 0) + 1
    counted = await db.fetch(_COUNT_HITS, list(added), list(added.values()))
    capped = [uuid.UUID(int=row[0].int) for row in counted if row[1] >= MAX_HITS_PER_RUN]
    if capped:
        await session.execute(
            update(ShadowRun)
            .where(ShadowRun.id.in_(capped), ShadowRun.status == RUNNING)
            .values(
                status=STOPPED,
                stop_reason="hit_cap",
                stopped_by="system",
                stopped_at=datetime.now(UTC),
            )
        )
        await bump_cache_version(session, RULES_CACHE)


# --- runs -------------------------------------------------------------------------------------


async def running_of_proposal(
    session: AsyncSession, proposal_id: uuid.UUID, *, for_update: bool = False
) -> ShadowRun | None:
    statement = select(ShadowRun).where(
        ShadowRun.proposal_id == proposal_id, ShadowRun.status == RUNNING
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def latest_run(
    session: AsyncSession, *, proposal_id: uuid.UUID | None = None, rule_id: uuid.UUID | None = None
) -> ShadowRun | None:
    """The running shadow, else the one started last (of a proposal or of a rule)."""
    statement = select(ShadowRun)
    if proposal_id is not None:
        statement = statement.where(ShadowRun.proposal_id == proposal_id)
    if rule_id is not None:
        statement = statement.where(ShadowRun.rule_id == rule_id)
    running_first = (ShadowRun.status == RUNNING).desc()
    statement = statement.order_by(running_first, ShadowRun.started_at.desc()).limit(1)
    return await session.scalar(statement)


async def count_running(session: AsyncSession) -> int:
    statement = select(func.count()).select_from(ShadowRun).where(ShadowRun.status == RUNNING)
    return int(await session.scalar(statement) or 0)


# --- the comparison ---------------------------------------------------------------------------


async def shadow_hits(
    session: AsyncSession, run_id: uuid.UUID, start: datetime, end: datetime
) -> list[StoredShadowHit]:
    """A run's hits with event time in [start, end), in event order."""
    statement = (
        select(
            ShadowHit.event_id, ShadowHit.customer_id, ShadowHit.occurred_at, ShadowHit.dedup_value
        )
        .where(
            ShadowHit.run_id == run_id,
            ShadowHit.occurred_at >= start,
            ShadowHit.occurred_at < end,
        )
        .order_by(ShadowHit.occurred_at, ShadowHit.id)
    )
    return [StoredShadowHit(*row) for row in await session.execute(statement)]


async def hits_page(
    session: AsyncSession, run_id: uuid.UUID, *, after: tuple[datetime, int] | None, limit: int
) -> Sequence[ShadowHit]:
    """A run's stored hits in event order, a keyset page after `after` (time, id)."""
    statement = select(ShadowHit).where(ShadowHit.run_id == run_id)
    if after is not None:
        statement = statement.where(tuple_(ShadowHit.occurred_at, ShadowHit.id) > tuple_(*after))
    statement = statement.order_by(ShadowHit.occurred_at, ShadowHit.id).limit(limit)
    return (await session.scalars(statement)).all()


async def live_hits(
    session: AsyncSession, rule_id: uuid.UUID, start: datetime, end: datetime
) -> list[HitRecord]:
    """The events the live rule hit with event time in [start, end): each alert's trigger
    (a new alert) and its later occurrences."""
    raised = select(Alert.trigger_event_id, Alert.customer_id, Alert.first_seen_at).where(
        Alert.rule_id == rule_id,
        Alert.trigger_event_id.is_not(None),
        Alert.first_seen_at >= start,
        Alert.first_seen_at < end,
    )
    repeated = (
        select(AlertOccurrence.event_id, Alert.customer_id, AlertOccurrence.occurred_at)
        .join(Alert, Alert.id == AlertOccurrence.alert_id)
        .where(
            Alert.rule_id == rule_id,
            AlertOccurrence.occurred_at >= start,
            AlertOccurrence.occurred_at < end,
        )
    )
    records = [
        HitRecord(row[0], row[1], row[2], True)
        for row in await session.execute(raised)
        if row[0] is not None
    ]
    records += [HitRecord(row[0], row[1], row[2], False) for row in await session.execute(repeated)]
    return records
