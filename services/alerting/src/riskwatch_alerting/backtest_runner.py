"""Running backtest jobs, off the live pipeline's event loop.

Every replica runs a `BacktestRunner`: it claims queued jobs with `FOR UPDATE SKIP LOCKED`
(replicas share the database, so any of them may run any job, and none runs one twice) and
hands each to a process of its own (`ProcessPoolExecutor`, spawned, at a lower CPU priority):
the replay's CPU never delays the consumer's batches in this process. The replay process
does the rest itself: it reads the history a page at a time in short read transactions,
writes its progress every `backtest_progress_seconds` (which renews its lease and tells it
whether it was cancelled or ran out of time), pauses between pages to stay within its CPU
share, and records the outcome.

A replica that dies leaves its job's lease to run out: any runner claims the job again (from
the start) up to `backtest_max_attempts` times, then it is marked `failed`. A replay process
that dies (out of memory...) fails its job at once: running it again would do the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import socket
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_alerting.config import Settings
from riskwatch_alerting.domain import backtest_jobs as jobs
from riskwatch_alerting.domain.backtest import BacktestResult
from riskwatch_alerting.models import BacktestJob
from riskwatch_alerting.replay import backtest_out, replay_history, rule_of_definition
from riskwatch_shared.aio import wait_event
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.db.session import create_engine, create_session_factory
from riskwatch_shared.logging import get_logger

log = get_logger(__name__)
RUNTIME_KEY = "backtest_runner"


@dataclass(frozen=True)
class ReplayKnobs:
    """What a replay process needs to know besides its job (picklable)."""

    database_url: str
    owner: str
    lease_seconds: float
    progress_seconds: float
    cpu_share: float
    page_size: int


class ReplayStopped(Exception):
    """The replay stops before its end: cancelled, timed out, or its lease was lost."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


LOST = "lost"  # another runner holds the job now: record nothing


# --- in the service's process ---------------------------------------------------------------


_CLAIM = text(
    "WITH next AS ("
    " SELECT id FROM backtest_jobs"
    " WHERE status = 'queued'"
    "  OR (status = 'running' AND lease_expires_at < now() AND attempts < :max_attempts"
    "      AND NOT cancel_requested AND deadline_at > now())"
    " ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " UPDATE backtest_jobs AS j SET status = 'running', lease_owner = :owner,"
    "  lease_expires_at = now() + make_interval(secs => :lease),"
    "  heartbeat_at = now(), attempts = j.attempts + 1,"
    "  started_at = coalesce(j.started_at, now()),"
    "  deadline_at = coalesce(j.deadline_at, now() + make_interval(secs => :timeout)),"
    "  events_replayed = 0, events_evaluated = 0, hits = 0, replayed_until = NULL"
    " FROM next WHERE j.id = next.id RETURNING j.id"
)
# Jobs whose runner is gone for good: out of attempts, out of time, or cancelled meanwhile.
_ABANDONED = text(
    "UPDATE backtest_jobs SET"
    " status = CASE WHEN cancel_requested THEN 'cancelled'"
    "  WHEN deadline_at <= now() THEN 'timed_out' ELSE 'failed' END,"
    " error = CASE WHEN cancel_requested THEN NULL"
    "  WHEN deadline_at <= now() THEN 'the backtest ran out of time'"
    "  ELSE 'its runner stopped ' || attempts || ' times (a replica crashed or was stopped)'"
    "  END,"
    " finished_at = now(), lease_owner = NULL, lease_expires_at = NULL"
    " WHERE status = 'running' AND lease_expires_at < now()"
    " AND (attempts >= :max_attempts OR cancel_requested OR deadline_at <= now())"
)
# A replica stopping hands its running jobs back, without spending one of their attempts.
_RELEASE = text(
    "UPDATE backtest_jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL,"
    " attempts = greatest(attempts - 1, 0)"
    " WHERE id = :id AND lease_owner = :owner AND status = 'running'"
)
_FAIL = text(
    "UPDATE backtest_jobs SET status = 'failed', error = :error, finished_at = now(),"
    " lease_owner = NULL, lease_expires_at = NULL"
    " WHERE id = :id AND lease_owner = :owner AND status = 'running'"
)


def _lower_priority(nice: int) -> None:
    """Replay processes yield the CPU to the service (and to PostgreSQL) when both want it."""
    if nice:
        os.nice(nice)


class BacktestRunner:
    """Claims jobs while it has free replay processes; wakes on a local submission or every
    `backtest_poll_seconds` (a submission to another replica)."""

    def __init__(
        self, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.knobs = ReplayKnobs(
            database_url=settings.sqlalchemy_url,
            owner=self.owner,
            lease_seconds=settings.backtest_lease_seconds,
            progress_seconds=settings.backtest_progress_seconds,
            cpu_share=settings.backtest_cpu_share,
            page_size=settings.backtest_page_size,
        )
        self.woken = asyncio.Event()
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._pool: ProcessPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self.woken.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="backtest-runner")

    async def stop(self) -> None:
        """Stop claiming; end the replay processes and hand their jobs back to the queue, so
        another replica takes them at once instead of after a lease."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        running = list(self._running)
        for task in self._running.values():
            task.cancel()
        if self._pool is not None:
            processes = cast(dict[int, Any], getattr(self._pool, "_processes", None) or {})
            for process in processes.values():
                with contextlib.suppress(Exception):
                    process.terminate()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        for job_id in running:
            with contextlib.suppress(Exception):
                async with self.session_factory() as session, session.begin():
                    await session.execute(_RELEASE, {"id": job_id, "owner": self.owner})

    async def _loop(self) -> None:
        while True:
            self.woken.clear()
            try:
                await self.pass_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next pass tries again
                log.warning("backtest.runner_pass_failed", error=type(exc).__name__)
            await wait_event(self.woken, self.settings.backtest_poll_seconds)

    async def pass_once(self) -> None:
        """Close abandoned jobs, then claim as many as there are free replay processes."""
        async with self.session_factory() as session, session.begin():
            await session.execute(_ABANDONED, {"max_attempts": self.settings.backtest_max_attempts})
        while len(self._running) < self.settings.backtest_workers:
            job_id = await self._claim()
            if job_id is None:
                return
            self._running[job_id] = asyncio.create_task(self._run(job_id))

    async def _claim(self) -> uuid.UUID | None:
        async with self.session_factory() as session, session.begin():
            found = await session.scalar(
                _CLAIM,
                {
                    "owner": self.owner,
                    "lease": self.settings.backtest_lease_seconds,
                    "timeout": self.settings.backtest_timeout_seconds,
                    "max_attempts": self.settings.backtest_max_attempts,
                },
            )
        return None if found is None else uuid.UUID(str(found))

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=max(1, self.settings.backtest_workers),
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_lower_priority,
                initargs=(self.settings.backtest_nice,),
            )
        return self._pool

    async def _run(self, job_id: uuid.UUID) -> None:
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(
                self._executor(), run_job_process, str(job_id), self.knobs
            )
            log.info("backtest.job_ended", job_id=str(job_id), status=outcome)
        except BrokenProcessPool:
            self._pool = None
            await self._fail(job_id, "the replay process ended unexpectedly")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._fail(job_id, f"the replay could not run ({type(exc).__name__})")
        finally:
            self._running.pop(job_id, None)
            self.wake()

    async def _fail(self, job_id: uuid.UUID, error: str) -> None:
        log.warning("backtest.job_failed", job_id=str(job_id), error=error)
        async with self.session_factory() as session, session.begin():
            await session.execute(_FAIL, {"id": job_id, "owner": self.owner, "error": error})


async def start_backtest_runner(runtime: ServiceRuntime) -> None:
    settings = cast(Settings, runtime.settings)
    if settings.backtest_workers <= 0:
        return
    runner = BacktestRunner(settings, runtime.session_factory)
    runtime.extras[RUNTIME_KEY] = runner
    runner.start()


async def stop_backtest_runner(runtime: ServiceRuntime) -> None:
    runner = runtime.extras.pop(RUNTIME_KEY, None)
    if isinstance(runner, BacktestRunner):
        await runner.stop()


def runner_of(runtime: ServiceRuntime) -> BacktestRunner | None:
    runner = runtime.extras.get(RUNTIME_KEY)
    return runner if isinstance(runner, BacktestRunner) else None


# --- in the replay process ------------------------------------------------------------------


def run_job_process(job_id: str, knobs: ReplayKnobs) -> str:
    """The replay process's entry point: run one job to its end; its final status."""
    return asyncio.run(run_job(uuid.UUID(job_id), knobs))


_PROGRESS = text(
    "UPDATE backtest_jobs SET events_replayed = :replayed, events_evaluated = :evaluated,"
    " hits = :hits, replayed_until = :until, heartbeat_at = now(),"
    " lease_expires_at = now() + make_interval(secs => :lease)"
    " WHERE id = :id AND lease_owner = :owner AND status = 'running'"
    " RETURNING cancel_requested, deadline_at <= now()"
)


class _Progress:
    """After each page: pause for the CPU budget; now and then record progress, renew the
    lease and learn whether to stop."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        job_id: uuid.UUID,
        knobs: ReplayKnobs,
    ) -> None:
        self.session_factory, self.job_id, self.knobs = session_factory, job_id, knobs
        self.page_started = time.perf_counter()
        self.last_written = 0.0
        self.replayed_until: datetime | None = None
        self.result = BacktestResult()

    async def after_page(self, result: BacktestResult, replayed_until: datetime) -> None:
        """Pause for the CPU budget, writing progress (and hearing of a cancel) meanwhile."""
        self.result, self.replayed_until = result, replayed_until
        pause = jobs.duty_pause(time.perf_counter() - self.page_started, self.knobs.cpu_share)
        resume_at = time.monotonic() + pause
        while True:
            if time.monotonic() - self.last_written >= self.knobs.progress_seconds:
                await self.write(result)
            left = resume_at - time.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(min(left, self.knobs.progress_seconds))
        self.page_started = time.perf_counter()

    async def write(self, result: BacktestResult) -> None:
        self.last_written = time.monotonic()
        async with self.session_factory() as session, session.begin():
            # Progress is advisory (a lost one is rewritten 0.5 s later, or the lease runs
            # out): it does not wait for a WAL flush the live pipeline's commits queue behind.
            await session.execute(text("SET LOCAL synchronous_commit = off"))
            row = (
                await session.execute(
                    _PROGRESS,
                    {
                        **_counters(result, self.replayed_until),
                        "lease": self.knobs.lease_seconds,
                        "id": self.job_id,
                        "owner": self.knobs.owner,
                    },
                )
            ).first()
        if row is None:
            raise ReplayStopped(LOST)
        if row[0]:
            raise ReplayStopped(jobs.CANCELLED)
        if row[1]:
            raise ReplayStopped(jobs.TIMED_OUT)


def _counters(result: BacktestResult, until: datetime | None) -> dict[str, Any]:
    return {
        "replayed": result.events_replayed,
        "evaluated": result.events_evaluated,
        "hits": result.alerts,
        "until": until,
    }


async def run_job(job_id: uuid.UUID, knobs: ReplayKnobs) -> str:
    """Replay the job this runner claimed and record how it ended (unless it lost the job
    to another runner meanwhile)."""
    engine = create_engine(knobs.database_url, pool_size=2)
    session_factory = create_session_factory(engine)
    try:
        async with session_factory() as session:
            job = await session.get(BacktestJob, job_id)
            if job is None or job.lease_owner != knobs.owner or job.status != jobs.RUNNING:
                return LOST
            rule = rule_of_definition(job.definition, rule_id=job.rule_id, version=job.rule_version)
            start, end, draft = job.range_start, job.range_end, job.rule_id is None
        progress = _Progress(session_factory, job_id, knobs)
        ending: dict[str, Any] = {"status": jobs.SUCCEEDED, "result": None, "error": None}
        async with session_factory() as session:
            try:
                result = await replay_history(
                    session,
                    rule,
                    start=start,
                    end=end,
                    after_page=progress.after_page,
                    page_size=knobs.page_size,
                    end_transactions=True,
                )
            except ReplayStopped as stopped:
                if stopped.status == LOST:
                    return LOST
                result = progress.result
                ending["status"] = stopped.status
            except Exception as exc:
                log.exception("backtest.replay_failed", job_id=str(job_id))
                result = progress.result
                ending.update(status=jobs.FAILED, error=f"the replay failed ({type(exc).__name__})")
            else:
                out = backtest_out(rule, result, start=start, end=end, draft=draft)
                ending["result"] = out.model_dump(mode="json")
                progress.replayed_until = end
        counters = _counters(result, progress.replayed_until)
        async with session_factory() as session, session.begin():
            await session.execute(
                update(BacktestJob)
                .where(
                    BacktestJob.id == job_id,
                    BacktestJob.lease_owner == knobs.owner,
                    BacktestJob.status == jobs.RUNNING,
                )
                .values(
                    **ending,
                    finished_at=func.now(),
                    events_replayed=counters["replayed"],
                    events_evaluated=counters["evaluated"],
                    hits=counters["hits"],
                    replayed_until=counters["until"],
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
        return str(ending["status"])
    finally:
        await engine.dispose()
