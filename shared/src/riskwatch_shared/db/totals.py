"""How many rows a list has in all, for "1-50 of 1,234" (issue 18): exact when cheap, the
planner's estimate when counting would read a large table.

`total_of` counts the list's filtered statement (no cursor, no order, no limit) up to
`EXACT_UP_TO` rows: the answer is exact below that bound, and the bounded count costs at most
that many index or heap rows. Above it, PostgreSQL's own estimate of the filtered statement's
rows (`EXPLAIN`, from the table statistics) is given, and `total_is_estimate` says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_shared.logging import get_logger

log = get_logger(__name__)

EXACT_UP_TO = 10_000


@dataclass(frozen=True)
class Total:
    value: int
    is_estimate: bool

    def fields(self) -> dict[str, Any]:
        """The page fields (`PageTotal`) this total fills."""
        return {"total": self.value, "total_is_estimate": self.is_estimate}


class PageTotal(BaseModel):
    """Mixed into every cursor page: additive, so a client that ignores it is unaffected."""

    total: int = Field(
        ge=0,
        description="Rows matching the filters in all pages (exact unless `total_is_estimate`).",
        examples=[1234],
    )
    total_is_estimate: bool = Field(
        description=f"`total` is PostgreSQL's estimate: more than {EXACT_UP_TO} rows match.",
        examples=[False],
    )


async def total_of(
    session: AsyncSession, statement: Select[Any], *, exact_up_to: int = EXACT_UP_TO
) -> Total:
    """The number of rows `statement` (filters only) selects: see the module's doc."""
    rows = statement.order_by(None).limit(None).offset(None)
    bounded = select(func.count()).select_from(rows.limit(exact_up_to + 1).subquery())
    counted = int(await session.scalar(bounded) or 0)
    if counted <= exact_up_to:
        return Total(counted, is_estimate=False)
    estimate = await _planner_rows(session, select(func.count()).select_from(rows.subquery()))
    return Total(max(counted, estimate or 0), is_estimate=True)


async def _planner_rows(session: AsyncSession, count: Select[Any]) -> int | None:
    """PostgreSQL's estimate of the rows the count would read (its aggregate's input), from
    `EXPLAIN` with the statement's parameters bound by the driver (never inlined)."""
    connection = await session.connection()
    compiled = count.compile(dialect=connection.dialect)
    params = compiled.construct_params()
    positional = [params[name] for name in compiled.positiontup or ()]
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    try:
        async with driver.transaction():  # a savepoint: a failure leaves the request's own
            plan = await driver.fetchval(f"EXPLAIN (FORMAT JSON) {compiled.string}", *positional)
    except Exception as exc:  # an estimate is best effort: the bound is still true
        log.warning("totals.estimate_failed", error_type=type(exc).__name__)
        return None
    node = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    while node.get("Plans") and node.get("Node Type") in ("Aggregate", "Subquery Scan"):
        node = node["Plans"][0]
    return int(node.get("Plan Rows", 0))
