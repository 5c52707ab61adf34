"""Routes: backtests as jobs (`202` + a job resource, progress over SSE, cancellation)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, cast

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from riskwatch_alerting import backtest_jobs
from riskwatch_alerting.api.common import CONFLICT, INVALID, NOT_FOUND, RULE_INVALID
from riskwatch_alerting.backtest_runner import runner_of
from riskwatch_alerting.config import Settings
from riskwatch_alerting.domain.backtest_jobs import JobCaps
from riskwatch_alerting.schemas import (
    BacktestJobCreate,
    BacktestJobOut,
    BacktestJobPage,
    BacktestJobStatus,
)
from riskwatch_shared.app import IdentityDep, ServiceRuntime, SessionDep
from riskwatch_shared.db.unit_of_work import after_commit
from riskwatch_shared.roles import MANAGERS, require_role

router = APIRouter()

TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "You, or the whole install, already run as many backtest jobs as "
        "allowed (problem+json; the title says which)"
    }
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"description": "Only admins and risk managers run backtest jobs (problem+json)"}
}


def _settings(request: Request) -> Settings:
    runtime: ServiceRuntime = request.app.state.runtime
    return cast(Settings, runtime.settings)


@router.post(
    "/backtest-jobs",
    status_code=202,
    operation_id="alerting-backtest-jobs-create",
    responses={
        202: {"description": "Queued: the job, with its address in `Location`"},
        **NOT_FOUND,
        **RULE_INVALID,
        **CONFLICT,
        **TOO_MANY,
        **FORBIDDEN,
    },
)
async def create_backtest_job(
    body: BacktestJobCreate,
    request: Request,
    session: SessionDep,
    identity: IdentityDep,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="Send the same key to retry without a second job"),
    ] = None,
) -> JSONResponse:
    """Queue a backtest of a saved rule (its current or a given version) or of a draft
    condition over up to 366 days of stored history. It runs in the background, in any
    replica, off the live pipeline; follow it at `Location` or its `events_url` (SSE)."""
    require_role(identity, MANAGERS, action="starting a backtest job")
    settings = _settings(request)
    job, created = await backtest_jobs.submit(
        session,
        body,
        identity=identity,
        caps=JobCaps(settings.backtest_max_jobs, settings.backtest_max_jobs_per_user),
        idempotency_key=idempotency_key,
    )
    runner = runner_of(request.app.state.runtime)
    if created and runner is not None:
        after_commit(session, runner.wake)
    out = backtest_jobs.job_out(job, identity)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"{backtest_jobs.PATH}/{job.id}"},
    )


@router.get("/backtest-jobs", operation_id="alerting-backtest-jobs-list", responses=INVALID)
async def list_backtest_jobs(
    session: SessionDep,
    identity: IdentityDep,
    status: BacktestJobStatus | None = None,
    rule_id: uuid.UUID | None = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> BacktestJobPage:
    """Backtest jobs, newest first, paged by cursor: your own (an admin sees everyone's)."""
    page, next_cursor = await backtest_jobs.list_jobs(
        session, identity=identity, status=status, rule_id=rule_id, cursor=cursor, limit=limit
    )
    return BacktestJobPage(
        items=[backtest_jobs.job_out(job, identity) for job in page], next_cursor=next_cursor
    )


@router.get(
    "/backtest-jobs/{job_id}", operation_id="alerting-backtest-jobs-get", responses=NOT_FOUND
)
async def get_backtest_job(
    job_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> BacktestJobOut:
    """One job: its state, events replayed and hits so far, its result once it succeeded."""
    job = await backtest_jobs.get_job(session, job_id, identity=identity)
    return backtest_jobs.job_out(job, identity)


@router.post(
    "/backtest-jobs/{job_id}/cancel",
    operation_id="alerting-backtest-jobs-cancel",
    responses={**NOT_FOUND, **CONFLICT},
)
async def cancel_backtest_job(
    job_id: uuid.UUID, session: SessionDep, identity: IdentityDep
) -> BacktestJobOut:
    """Cancel a job: a queued one at once, a running one at its next page of history
    (`cancel_requested` until then). Cancelling again is harmless; a finished job is a 409."""
    job = await backtest_jobs.cancel(session, job_id, identity=identity)
    return backtest_jobs.job_out(job, identity)


@router.get(
    "/backtest-jobs/{job_id}/events",
    operation_id="alerting-backtest-jobs-events",
    responses={200: {"content": {"text/event-stream": {}}}, **NOT_FOUND},
    response_class=StreamingResponse,
)
async def backtest_job_events(
    job_id: uuid.UUID, request: Request, session: SessionDep, identity: IdentityDep
) -> StreamingResponse:
    """Server-Sent Events: `event: progress` (status, events replayed, hits, progress)
    whenever the job moves, then one `event: done` with the whole job and the stream ends."""
    await backtest_jobs.get_job(session, job_id, identity=identity)
    await session.rollback()
    runtime: ServiceRuntime = request.app.state.runtime
    settings = _settings(request)
    stream = backtest_jobs.progress_stream(
        runtime.session_factory,
        job_id,
        identity=identity,
        poll_seconds=settings.backtest_progress_seconds,
        heartbeat_seconds=settings.sse_heartbeat_seconds,
        max_seconds=settings.sse_max_seconds,
        disconnected=request.is_disconnected,
    )
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
