"""The scheduler: every `escalation_interval_seconds`, release held messages, reclaim dead
leases, fire due escalation steps, close digest windows (one lane, one transaction each)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_notify import planner, queue
from riskwatch_notify.config import Settings
from riskwatch_notify.lanes import Lanes
from riskwatch_shared.events.base import utcnow


@dataclass
class Scheduler:
    """Every `escalation_interval_seconds`: release held messages, reclaim dead leases,
    fire due escalation steps, close digest windows."""

    session_factory: async_sessionmaker[AsyncSession]
    settings: Settings
    clock: Callable[[], datetime] = utcnow
    last_run_at: datetime | None = None  # the `now` of the last completed pass
    _lanes: Lanes = field(init=False)

    def __post_init__(self) -> None:
        self._lanes = Lanes("notify.scheduler", 1, self.settings.escalation_interval_seconds)

    async def start(self) -> None:
        self._lanes.start(self.run_once, full=1_000_000)

    async def stop(self) -> None:
        await self._lanes.stop()

    @property
    def healthy(self) -> bool:
        return self._lanes.healthy

    @property
    def live(self) -> bool:
        return self._lanes.live

    async def run_once(self) -> int:
        now = self.clock()
        done = 0
        async with self.session_factory() as session, session.begin():
            released = await queue.release_held(session, now)
            reclaimed = await queue.reclaim_expired_leases(session, now - timedelta(seconds=1))
            if released or reclaimed:
                await queue.wake_workers(session)
            done += released + reclaimed
        async with self.session_factory() as session, session.begin():
            done += await planner.fire_due_escalations(session, settings=self.settings, now=now)
        async with self.session_factory() as session, session.begin():
            done += await planner.flush_digests(session, settings=self.settings, now=now)
        self.last_run_at = now
        return done
