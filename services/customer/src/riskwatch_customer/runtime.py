"""What the customer service adds to the shared runtime: what the intake needs per request,
built once (its asyncpg pool, since its hot path skips the ORM, and its rules)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from riskwatch_customer.config import Settings
from riskwatch_customer.domain.validation import TransactionRules
from riskwatch_customer.intake import rules_from
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.settings import to_asyncpg_dsn

_INTAKE = "intake"


@dataclass(frozen=True)
class Intake:
    pool: asyncpg.Pool
    rules: TransactionRules
    batch_max_items: int


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """The intake sets no session state (no LISTEN, SET or advisory lock), so a released
    connection needs no `RESET ALL; UNLISTEN *; ...` round trip; asyncpg still rolls back a
    transaction left open."""


async def open_resources(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    pool = await asyncpg.create_pool(
        to_asyncpg_dsn(settings.sqlalchemy_url),
        min_size=1,
        max_size=settings.db_pool_size,
        reset=_keep_session,
        server_settings={"application_name": "riskwatch-intake"},
    )
    runtime.extras[_INTAKE] = Intake(pool, rules_from(settings), settings.batch_max_items)


async def close_resources(runtime: ServiceRuntime) -> None:
    resources = runtime.extras.pop(_INTAKE, None)
    if resources is not None:
        await resources.pool.close()


def intake_of(runtime: ServiceRuntime) -> Intake:
    resources: Intake = runtime.extras[_INTAKE]
    return resources
