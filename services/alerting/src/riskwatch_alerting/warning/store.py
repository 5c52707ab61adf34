"""All SQL of the credit early warning. Functions only flush; the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.models import (
    CustomerDirectoryEntry,
    CustomerState,
    Rule,
    RuleVersion,
    WarningBaseline,
    WarningMovement,
    WarningState,
)
from riskwatch_alerting.repository import RULES_CACHE, bump_cache_version
from riskwatch_alerting.warning.catalogue import IndicatorState, SegmentBaseline


async def load_states(
    session: AsyncSession, customer_ids: Iterable[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], IndicatorState]:
    ids = list(customer_ids)
    if not ids:
        return {}
    rows = (
        await session.execute(select(WarningState).where(WarningState.customer_id.in_(ids)))
    ).scalars()
    return {
        (row.customer_id, row.indicator): IndicatorState(
            level=row.level,  # type: ignore[arg-type]
            since=row.since,
            first_amber_at=row.first_amber_at,
            first_red_at=row.first_red_at,
            value=row.value,
            detail=tuple(row.detail),
        )
        for row in rows
    }


@dataclass(frozen=True, slots=True)
class StateWrite:
    customer_id: uuid.UUID
    indicator: str
    state: IndicatorState
    segment: str | None


async def write_states(session: AsyncSession, writes: Sequence[StateWrite], now: datetime) -> None:
    if not writes:
        return
    rows = [
        {
            "customer_id": w.customer_id,
            "indicator": w.indicator,
            "level": w.state.level,
            "since": w.state.since,
            "first_amber_at": w.state.first_amber_at,
            "first_red_at": w.state.first_red_at,
            "value": w.state.value,
            "detail": list(w.state.detail),
            "segment": w.segment,
            "updated_at": now,
        }
        for w in writes
    ]
    statement = pg_insert(WarningState).values(rows)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[WarningState.customer_id, WarningState.indicator],
        set_={
            name: getattr(excluded, name)
            for name in (
                "level",
                "since",
                "first_amber_at",
                "first_red_at",
                "value",
                "detail",
                "segment",
                "updated_at",
            )
        },
    )
    await session.execute(statement)


async def add_movements(session: AsyncSession, movements: Sequence[dict[str, Any]]) -> None:
    if movements:
        await session.execute(pg_insert(WarningMovement).values(list(movements)))


async def load_baselines(
    session: AsyncSession,
) -> tuple[dict[str, dict[str, SegmentBaseline]], datetime | None]:
    """The stored baselines and when they were computed (None: never)."""
    table: dict[str, dict[str, SegmentBaseline]] = {}
    computed = None
    for row in (await session.execute(select(WarningBaseline))).scalars():
        table.setdefault(row.segment, {})[row.metric] = SegmentBaseline(
            population=row.population,
            percentiles={float(p): float(v) for p, v in row.percentiles.items()},
        )
        computed = row.computed_at if computed is None else max(computed, row.computed_at)
    return table, computed


async def portfolio_features(
    session: AsyncSession,
) -> list[tuple[str | None, Mapping[str, Any]]]:
    """(segment, features) of every customer alerting knows (its read model)."""
    statement = select(CustomerState.features, CustomerDirectoryEntry.segment).outerjoin(
        CustomerDirectoryEntry,
        CustomerDirectoryEntry.customer_id == CustomerState.customer_id,
    )
    found: list[tuple[str | None, Mapping[str, Any]]] = []
    for features, segment in (await session.execute(statement)).all():
        values = dict(features or {})
        named = segment or values.get("segment")
        found.append((named if isinstance(named, str) else None, values))
    return found


async def replace_baselines(
    session: AsyncSession, table: Mapping[str, Mapping[str, SegmentBaseline]], now: datetime
) -> None:
    await session.execute(delete(WarningBaseline))
    rows = [
        {
            "segment": segment,
            "metric": metric,
            "population": baseline.population,
            "percentiles": {f"{p:g}": v for p, v in baseline.percentiles.items()},
            "computed_at": now,
        }
        for segment, metrics in table.items()
        for metric, baseline in metrics.items()
    ]
    if rows:
        # Two replicas refreshing at once: the later one's figures win, neither fails.
        statement = pg_insert(WarningBaseline).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=[WarningBaseline.segment, WarningBaseline.metric],
            set_={
                "population": statement.excluded.population,
                "percentiles": statement.excluded.percentiles,
                "computed_at": statement.excluded.computed_at,
            },
        )
        await session.execute(statement)


async def get_rule(session: AsyncSession, rule_id: uuid.UUID) -> Rule | None:
    return await session.get(Rule, rule_id)


async def create_warning_rule(session: AsyncSession, values: Mapping[str, Any]) -> None:
    """The system rule the amber alerts belong to (once; a concurrent creator wins)."""
    inserted = await session.execute(
        pg_insert(Rule).values(dict(values)).on_conflict_do_nothing().returning(Rule.id)
    )
    if inserted.first() is None:
        return
    snapshot = {k: v for k, v in values.items() if k not in ("created_at", "updated_at", "id")}
    await session.execute(
        pg_insert(RuleVersion)
        .values(
            rule_id=values["id"],
            version=1,
            snapshot=snapshot,
            changed_fields=["created"],
            changed_by=values["created_by"],
            changed_at=values["created_at"],
        )
        .on_conflict_do_nothing()
    )
    await bump_cache_version(session, RULES_CACHE)


async def movement_counts(
    session: AsyncSession, since: datetime, until: datetime, customer_ids: Any = None
) -> list[tuple[str, str, str | None, int]]:
    """(indicator, change, to_level, count) of the movements in [since, until)."""
    statement = (
        select(
            WarningMovement.indicator,
            WarningMovement.change,
            WarningMovement.to_level,
            func.count(),
        )
        .where(WarningMovement.at >= since, WarningMovement.at < until)
        .group_by(WarningMovement.indicator, WarningMovement.change, WarningMovement.to_level)
    )
    if customer_ids is not None:
        statement = statement.where(WarningMovement.customer_id.in_(customer_ids))
    return [(str(i), str(c), t, int(n)) for i, c, t, n in (await session.execute(statement)).all()]
