"""Cache versions: a rule, list or suppression change bumps its version, and every consumer
reloads what changed. Functions only flush; the caller owns the transaction."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from riskwatch_alerting.models import (
    CacheVersion,
)
from riskwatch_shared.db.base import table_of
from riskwatch_shared.db.session import transaction_connection

RULES_CACHE = "rules"
LISTS_CACHE = "lists"
SUPPRESSIONS_CACHE = "suppressions"


async def bump_cache_version(session: AsyncSession, name: str) -> None:
    statement = pg_insert(table_of(CacheVersion)).values(name=name, version=1)
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
