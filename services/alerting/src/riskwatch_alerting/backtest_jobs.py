"""Backtest jobs (issue 23 item 3): submitted, listed, read, cancelled and watched here; run
by `backtest_runner` in whichever replica claims them.

Who sees what: the policy table admits admins and risk managers only (an analyst backtests
in the request, a viewer not at all); inside that, a risk manager sees and cancels only the
jobs they started, an admin every job. Another user's job is a 404, as if it did not exist.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, cast

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from riskwatch_alerting import service
from riskwatch_alerting.domain import backtest_jobs as jobs
from riskwatch_alerting.domain.backtest import warm_up_start
from riskwatch_alerting.errors import (
    BacktestIdempotencyConflict,
    BacktestJobFinished,
    BacktestJobNotFound,
    InvalidQuery,
    TooManyBacktests,
    TooManyBacktestsOfUser,
)
from riskwatch_alerting.models import BacktestJob
from riskwatch_alerting.replay import rule_of_definition
from riskwatch_alerting.schemas import (
    BacktestJobCreate,
    BacktestJobOut,
    BacktestJobStatus,
    BacktestOut,
)
from riskwatch_shared.masking import mask_mapping
from riskwatch_shared.pagination import InvalidCursor, cursor_after, encode_cursor
from riskwatch_shared.security import Identity

PATH = "/v1/backtest-jobs"
# One advisory lock serialises the cap check and the insert of concurrent submissions.
_SUBMIT_LOCK = 0x6274_6A6F_6273  # "btjobs"


def sees_every_job(identity: Identity) -> bool:
    return identity.has_role("admin", "system")


def _visible(job: BacktestJob | None, identity: Identity) -> BacktestJob:
    if job is None or not (sees_every_job(identity) or job.created_by == identity.subject):
        raise BacktestJobNotFound("no such backtest job")
    return job


def request_hash(body: BacktestJobCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def submit(
    session: AsyncSession,
    body: BacktestJobCreate,
    *,
    identity: Identity,
    caps: jobs.JobCaps,
    idempotency_key: str | None,
) -> tuple[BacktestJob, bool]:
    """Queue a backtest; (the job, whether it is new). The same Idempotency-Key with the
    same body returns the job it created; with another body it is a 409. Refused with a 429
    when the caller or the install already has as many unfinished jobs as allowed."""
    fingerprint = request_hash(body)
    await session.execute(select(func.pg_advisory_xact_lock(_SUBMIT_LOCK)))
    if idempotency_key is not None:
        earlier = await session.scalar(
            select(BacktestJob).where(
                BacktestJob.created_by == identity.subject,
                BacktestJob.idempotency_key == idempotency_key,
            )
        )
        if earlier is not None:
            if earlier.request_hash != fingerprint:
                raise BacktestIdempotencyConflict(
                    "this Idempotency-Key was sent before with another request body"
                )
            return earlier, False
    if body.draft is not None:
        definition, rule_id, version = service.draft_definition(body.draft), None, None
    else:
        assert body.rule_id is not None  # the schema asks for one of the two
        rule = await service.get_rule(session, body.rule_id)
        version = body.rule_version or rule.version
        source = rule if version == rule.version else await _version(session, rule.id, version)
        definition, rule_id = service.rule_definition(source), rule.id
    unfinished = await _unfinished_counts(session, identity.subject)
    exceeded = jobs.cap_exceeded(caps, unfinished=unfinished[0], unfinished_of_user=unfinished[1])
    if exceeded == "user":
        raise TooManyBacktestsOfUser(
            f"you have {unfinished[1]} backtest jobs queued or running; at most "
            f"{caps.per_user} at once: wait for one to finish or cancel one",
            limit=caps.per_user,
        )
    if exceeded == "install":
        raise TooManyBacktests(
            f"{unfinished[0]} backtest jobs are queued or running; this install runs at most "
            f"{caps.per_install} at once: try again when one has finished",
            limit=caps.per_install,
        )
    job = BacktestJob(
        id=uuid.uuid4(),
        status=jobs.QUEUED,
        created_by=identity.subject,
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        rule_id=rule_id,
        rule_version=version,
        definition=definition,
        range_start=body.start,
        range_end=body.end,
        cancel_requested=False,
        events_replayed=0,
        events_evaluated=0,
        hits=0,
        attempts=0,
    )
    session.add(job)
    await session.flush()
    await session.refresh(job)
    return job, True


async def _version(session: AsyncSession, rule_id: uuid.UUID, version: int) -> Any:
    return await service.rule_version(session, rule_id, version)


async def _unfinished_counts(session: AsyncSession, subject: str) -> tuple[int, int]:
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(BacktestJob.created_by == subject),
            ).where(BacktestJob.status.in_(jobs.UNFINISHED))
        )
    ).one()
    return int(row[0]), int(row[1])


async def get_job(session: AsyncSession, job_id: uuid.UUID, *, identity: Identity) -> BacktestJob:
    return _visible(await session.get(BacktestJob, job_id), identity)


async def list_jobs(
    session: AsyncSession,
    *,
    identity: Identity,
    status: str | None,
    rule_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[BacktestJob], str | None]:
    """Newest first, a keyset page at a time: a risk manager's own jobs, an admin's all."""
    statement = select(BacktestJob)
    if not sees_every_job(identity):
        statement = statement.where(BacktestJob.created_by == identity.subject)
    if status is not None:
        statement = statement.where(BacktestJob.status == status)
    if rule_id is not None:
        statement = statement.where(BacktestJob.rule_id == rule_id)
    if cursor is not None:
        try:
            before = cursor_after(cursor, uuid.UUID)
        except InvalidCursor as exc:
            raise InvalidQuery(str(exc), parameter="cursor") from exc
        statement = statement.where(
            tuple_(BacktestJob.created_at, BacktestJob.id) < tuple_(*before)
        )
    statement = statement.order_by(BacktestJob.created_at.desc(), BacktestJob.id.desc())
    rows = (await session.execute(statement.limit(limit + 1))).scalars().all()
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor(page[-1].created_at, page[-1].id) if more else None


async def cancel(session: AsyncSession, job_id: uuid.UUID, *, identity: Identity) -> BacktestJob:
    """A queued job is cancelled at once; a running one is asked to stop (its runner stops
    at its next page and records `cancelled`). Cancelling a cancelled job again is a no-op;
    one that finished otherwise is a 409."""
    job = _visible(
        await session.get(BacktestJob, job_id, with_for_update=True, populate_existing=True),
        identity,
    )
    if job.status == jobs.CANCELLED or (job.status == jobs.RUNNING and job.cancel_requested):
        return job
    if jobs.is_finished(job.status):
        raise BacktestJobFinished(f"the backtest job already finished ({job.status})")
    job.cancel_requested = True
    if job.status == jobs.QUEUED:
        job.status = jobs.CANCELLED
        job.finished_at = await session.scalar(select(func.now()))
    await session.flush()
    return job


def job_out(job: BacktestJob, identity: Identity) -> BacktestJobOut:
    definition = job.definition
    result = None
    if job.result is not None:
        result = BacktestOut.model_validate(job.result)
        if not identity.may_unmask:
            result.samples = [mask_mapping(sample) for sample in result.samples]
    rule = rule_of_definition(definition, rule_id=job.rule_id, version=job.rule_version)
    return BacktestJobOut(
        id=job.id,
        status=cast(BacktestJobStatus, job.status),
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        rule_id=job.rule_id,
        rule_version=job.rule_version,
        rule_name=str(definition["name"]),
        condition=str(definition["condition"]),
        trigger_event_types=list(definition["trigger_event_types"]),
        start=job.range_start,
        end=job.range_end,
        cancel_requested=job.cancel_requested,
        events_replayed=job.events_replayed,
        events_evaluated=job.events_evaluated,
        hits=job.hits,
        replayed_until=job.replayed_until,
        progress=jobs.progress_of(
            job.status,
            replay_from=warm_up_start(rule, job.range_start),
            end=job.range_end,
            replayed_until=job.replayed_until,
        ),
        attempts=job.attempts,
        error=job.error,
        result=result,
        events_url=f"{PATH}/{job.id}/events",
    )


PROGRESS_FIELDS = (
    "id",
    "status",
    "cancel_requested",
    "events_replayed",
    "events_evaluated",
    "hits",
    "replayed_until",
    "progress",
)


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def progress_stream(
    session_factory: async_sessionmaker[AsyncSession],
    job_id: uuid.UUID,
    *,
    identity: Identity,
    poll_seconds: float,
    heartbeat_seconds: float,
    max_seconds: float,
    disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[str]:
    """`event: progress` whenever the job moved (the first at once), then one `event: done`
    with the whole job (its result included) when it finished, and the stream ends. A
    comment every `heartbeat_seconds` keeps proxies from closing a quiet stream."""
    deadline = time.monotonic() + max_seconds
    last_sent: dict[str, Any] | None = None
    last_beat = time.monotonic()
    yield ": connected\n\n"
    while time.monotonic() < deadline and not await disconnected():
        async with session_factory() as session:
            job = await session.get(BacktestJob, job_id)
            if job is None:  # deleted while watched: nothing more will come
                return
            shown = job_out(job, identity).model_dump(mode="json")
        progress = {name: shown[name] for name in PROGRESS_FIELDS}
        if progress != last_sent:
            yield _sse("progress", progress)
            last_sent, last_beat = progress, time.monotonic()
        if jobs.is_finished(shown["status"]):
            yield _sse("done", shown)
            return
        if time.monotonic() - last_beat >= heartbeat_seconds:
            yield ": ping\n\n"
            last_beat = time.monotonic()
        await asyncio.sleep(poll_seconds)
