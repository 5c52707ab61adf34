"""The unit of work: one transaction per request, committed by the kit before the response.

Routes, services and repositories only `flush()`. The request's session is committed when the
route returns and before its response is sent (a FastAPI dependency with `yield` in the
"function" scope), so a commit that fails is the caller's error answer, never a 2xx over
nothing stored. What the route raised rolls everything back, outbox rows included (they are
written in the same session). Work that must only happen once the change is durable (forget a
cache entry, wake a listener) is registered with `after_commit`.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_shared.errors import Conflict
from riskwatch_shared.logging import get_logger

log = get_logger(__name__)

# A plain function, or a coroutine function, of nothing.
AfterCommit = Callable[[], Awaitable[None] | None]
_AFTER_COMMIT_KEY = "riskwatch.after_commit"
UNIQUE_VIOLATION = "23505"


class DuplicateRecord(Conflict):
    """A write collided with a row that already exists (a unique constraint)."""

    title = "Conflict"
    type_slug = "duplicate"


def is_unique_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == UNIQUE_VIOLATION


def after_commit(session: AsyncSession, action: AfterCommit) -> None:
    """Run `action` once the session's unit of work has committed; never when it rolls back.

    Actions run in the order registered, before the response is sent; one that fails is
    logged and the others still run (the change is already durable: the answer stays 2xx).
    """
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append(action)


def _duplicate(exc: IntegrityError) -> DuplicateRecord:
    constraint = getattr(exc.orig, "constraint_name", None)
    # The constraint's name says which value collided, never the value (personal data).
    detail = f"it already exists ({constraint})" if constraint else "it already exists"
    return DuplicateRecord(detail)


async def _run_after_commit(session: AsyncSession) -> None:
    actions: list[AfterCommit] = session.info.pop(_AFTER_COMMIT_KEY, [])
    for action in actions:
        try:
            result = action()
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            log.error("unit_of_work.after_commit_failed", error_type=type(exc).__name__)


@contextlib.asynccontextmanager
async def unit_of_work(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session whose work is committed when the block ends normally, rolled back otherwise.

    A unique violation, at a flush inside the block or at the commit, becomes a 409.
    """
    # Leaving the `async with` closes the session, which rolls back whatever is uncommitted.
    async with session_factory() as session:
        try:
            yield session
        except IntegrityError as exc:
            session.info.pop(_AFTER_COMMIT_KEY, None)
            if is_unique_violation(exc):
                raise _duplicate(exc) from exc
            raise
        except BaseException:
            session.info.pop(_AFTER_COMMIT_KEY, None)
            raise
        try:
            await session.commit()
        except IntegrityError as exc:
            session.info.pop(_AFTER_COMMIT_KEY, None)
            if is_unique_violation(exc):
                raise _duplicate(exc) from exc
            raise
        await _run_after_commit(session)
