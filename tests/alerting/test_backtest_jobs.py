"""Issue 23 item 3: backtests as jobs. A job is queued (202), claimed by a runner and replayed
in a process of its own; its result equals the in-request backtest's; progress streams over
SSE; it can be cancelled; caps, timeouts, lost runners and hostile input are handled; only
admins and risk managers run jobs, and a risk manager sees only their own."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update

from riskwatch_alerting.backtest_runner import BacktestRunner, runner_of
from riskwatch_alerting.config import Settings
from riskwatch_alerting.main import create_app
from riskwatch_alerting.models import BacktestJob
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_gateway.routing import service_for_path
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.policy import DEFAULT_POLICY, decide
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import identity_headers, served_app, wait_until
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI
from .factories import BASE_TIME, active_template_rule, feed
from .test_backtest import _history

ADMIN = Identity(subject="ada", roles=("admin",))
RITA = Identity(subject="rita", roles=("risk_manager",))
ROB = Identity(subject="rob", roles=("risk_manager",))
ANALYST = Identity(subject="ann", roles=("analyst",))
VIEWER = Identity(subject="vic", roles=("viewer",))
JOBS = "/v1/backtest-jobs"
RANGE = {
    "start": (BASE_TIME + timedelta(hours=6)).isoformat(),
    "end": (BASE_TIME + timedelta(days=4)).isoformat(),
}
DRAFT = {
    "condition": 'count(txn, within="10m") >= 4',
    "trigger_event_types": ["scoring.transaction_scored.v1"],
    "cooldown_seconds": 600,
}


@dataclasses.dataclass
class World:
    client: httpx.AsyncClient
    runtime: ServiceRuntime
    rule_id: str

    @property
    def runner(self) -> BacktestRunner:
        runner = runner_of(self.runtime)
        assert runner is not None
        return runner


@pytest.fixture(scope="module")
async def world(infra: Infra) -> AsyncIterator[World]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_backtest_jobs"):
        settings = Settings(
            database_url=url,
            NATS_URL=infra.nats_url,
            consumer_prefix="alerting-backtest-jobs-test",
            backtest_page_size=100,
            backtest_progress_seconds=0.05,
            backtest_poll_seconds=0.2,
            backtest_cpu_share=1.0,
            backtest_nice=0,
            sse_heartbeat_seconds=0.5,
        )
        # Served for real (uvicorn): the in-process transport would buffer a whole SSE stream.
        async with (
            served_app(create_app(settings)) as (base_url, runtime),
            httpx.AsyncClient(
                base_url=base_url, headers=identity_headers(ADMIN), timeout=15
            ) as client,
        ):
            async with runtime.session_factory() as session, session.begin():
                rule = await active_template_rule(session, "velocity_burst", cooldown_seconds=1_800)
            await feed(runtime.session_factory, AlertPipeline(), _history(seed=7), batch_size=100)
            yield World(client, runtime, str(rule.id))


def as_(identity: Identity) -> dict[str, str]:
    return identity_headers(identity)


async def finished(world: World, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    async def done() -> dict[str, Any]:
        job: dict[str, Any] = (await world.client.get(f"{JOBS}/{job_id}")).json()
        return job if job["status"] not in ("queued", "running") else {}

    return await wait_until(done, timeout=timeout, interval=0.05, message=f"job {job_id} ends")


async def job_count(world: World) -> int:
    async with world.runtime.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(BacktestJob)) or 0)


@contextlib.asynccontextmanager
async def slow_replays(world: World, cpu_share: float = 0.002) -> AsyncIterator[None]:
    """Replays paced to a sliver of a core (a page, then a long pause): a job stays running
    long enough to be watched, cancelled or timed out."""
    runner = world.runner
    knobs = runner.knobs
    runner.knobs = dataclasses.replace(knobs, cpu_share=cpu_share)
    try:
        yield
    finally:
        runner.knobs = knobs


async def test_a_job_gives_the_in_request_backtests_result(world: World) -> None:
    client = world.client
    before = await client.post(f"/v1/rules/{world.rule_id}/backtest", json=RANGE)
    assert before.status_code == 200, before.text
    expected = before.json()
    assert expected["alerts"] > 0
    assert expected["events_replayed"] > 200

    submitted = await client.post(JOBS, json={"rule_id": world.rule_id, **RANGE}, headers=as_(RITA))
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert submitted.headers["location"] == f"{JOBS}/{job['id']}"
    assert (job["status"], job["created_by"], job["events_url"]) == (
        "queued",
        "rita",
        f"{JOBS}/{job['id']}/events",
    )
    assert job["rule_version"] == 2
    assert job["result"] is None

    done = await finished(world, job["id"])
    assert done["status"] == "succeeded", done
    assert done["result"] == expected
    assert (done["events_replayed"], done["hits"]) == (
        expected["events_replayed"],
        expected["alerts"],
    )
    assert done["progress"] == 1.0
    assert done["attempts"] == 1
    assert done["result"]["alerts_per_day"]
    assert done["result"]["samples"]

    # A draft condition gives what POST /v1/backtests gives.
    draft_sync = await client.post("/v1/backtests", json={**DRAFT, **RANGE})
    draft_job = await client.post(JOBS, json={"draft": DRAFT, **RANGE}, headers=as_(RITA))
    assert draft_job.status_code == 202, draft_job.text
    draft_done = await finished(world, draft_job.json()["id"])
    assert draft_done["result"] == draft_sync.json()
    assert (draft_done["rule_id"], draft_done["condition"]) == (None, DRAFT["condition"])


async def read_sse(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    name, data = "", ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif not line and name:
            events.append((name, json.loads(data)))
            name = ""
    return events


async def test_progress_streams_then_done(world: World) -> None:
    client = world.client
    async with slow_replays(world, cpu_share=0.1):
        submitted = await client.post(JOBS, json={"rule_id": world.rule_id, **RANGE})
        job_id = submitted.json()["id"]
        async with client.stream("GET", f"{JOBS}/{job_id}/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = await asyncio.wait_for(read_sse(response), timeout=30)
    names = [name for name, _ in events]
    assert names[0] == "progress"
    assert names[-1] == "done"
    assert names.count("done") == 1, names
    assert len(names) >= 3, names
    replayed = [data["events_replayed"] for name, data in events if name == "progress"]
    assert replayed == sorted(replayed)
    assert any(n > 0 for n in replayed)
    assert any(data["status"] == "running" for _, data in events[:-1])
    final = events[-1][1]
    assert final["status"] == "succeeded"
    assert final["result"]["alerts"] == final["hits"] > 0


async def test_cancel_stops_a_running_job_and_a_queued_one(world: World) -> None:
    client = world.client
    async with slow_replays(world):
        running = (await client.post(JOBS, json={"rule_id": world.rule_id, **RANGE})).json()
        queued = (await client.post(JOBS, json={"draft": DRAFT, **RANGE})).json()

        async def replaying() -> bool:
            job = (await client.get(f"{JOBS}/{running['id']}")).json()
            return bool(job["status"] == "running" and job["events_replayed"] > 0)

        await wait_until(replaying, timeout=20, message="the first job replays")
        stopped = await client.post(f"{JOBS}/{queued['id']}/cancel")
        assert stopped.json()["status"] == "cancelled"  # never claimed: at once
        asked = await client.post(f"{JOBS}/{running['id']}/cancel")
        assert asked.status_code == 200, asked.text
        assert (asked.json()["status"], asked.json()["cancel_requested"]) == ("running", True)
        ended = await finished(world, running["id"], timeout=10)
    assert ended["status"] == "cancelled"
    assert ended["result"] is None
    assert 0 < ended["events_replayed"] < 500
    assert ended["finished_at"] is not None
    again = await client.post(f"{JOBS}/{running['id']}/cancel")
    assert again.status_code == 200  # harmless
    later = (await client.get(f"{JOBS}/{queued['id']}")).json()
    assert (later["status"], later["started_at"]) == ("cancelled", None)


async def test_caps_refuse_with_problem_json(world: World) -> None:
    client = world.client
    body = {"draft": DRAFT, **RANGE}
    async with slow_replays(world):
        mine = [await client.post(JOBS, json=body, headers=as_(RITA)) for _ in range(2)]
        assert [r.status_code for r in mine] == [202, 202]
        third = await client.post(JOBS, json=body, headers=as_(RITA))
        assert third.status_code == 429
        assert third.headers["content-type"].startswith("application/problem+json")
        assert third.json()["title"].startswith("You already have the most backtest jobs")
        assert third.json()["limit"] == 2
        assert third.headers["retry-after"] == "30"
        others = [await client.post(JOBS, json=body, headers=as_(ADMIN)) for _ in range(2)]
        assert [r.status_code for r in others] == [202, 202]
        full = await client.post(JOBS, json=body, headers=as_(ROB))
        assert full.status_code == 429
        assert full.json()["title"] == "Too many backtest jobs running in this install"
        count = await job_count(world)
        for response in (*mine, *others):
            await client.post(f"{JOBS}/{response.json()['id']}/cancel")
        for response in (*mine, *others):
            assert (await finished(world, response.json()["id"]))["status"] == "cancelled"
    assert await job_count(world) == count  # the refused ones stored nothing


async def test_a_job_past_its_deadline_times_out(world: World) -> None:
    client = world.client
    async with slow_replays(world):
        job = (await client.post(JOBS, json={"draft": DRAFT, **RANGE})).json()

        async def replaying() -> bool:
            return bool((await client.get(f"{JOBS}/{job['id']}")).json()["events_replayed"])

        await wait_until(replaying, timeout=20, message="the job replays")
        async with world.runtime.session_factory() as session, session.begin():
            await session.execute(
                update(BacktestJob)
                .where(BacktestJob.id == uuid.UUID(job["id"]))
                .values(deadline_at=func.now())
            )
        ended = await finished(world, job["id"], timeout=10)
    assert ended["status"] == "timed_out"
    assert ended["events_replayed"] > 0


async def test_a_lost_runners_job_is_claimed_again_or_failed(world: World) -> None:
    """A replica that died left two running jobs behind (leases run out): one is claimed
    again and completes, the one out of attempts is marked failed."""
    client = world.client
    ids = []
    for attempts in (1, 2):
        job = (await client.post(JOBS, json={"draft": DRAFT, **RANGE})).json()
        await finished(world, job["id"])
        ids.append(uuid.UUID(job["id"]))
        async with world.runtime.session_factory() as session, session.begin():
            await session.execute(
                text(
                    "UPDATE backtest_jobs SET status = 'running', lease_owner = 'gone:1:x',"
                    " lease_expires_at = now() - interval '1 second', attempts = :attempts,"
                    " finished_at = NULL, result = NULL, deadline_at = now() + interval '1 hour'"
                    " WHERE id = :id"
                ),
                {"attempts": attempts, "id": ids[-1]},
            )
    world.runner.wake()
    again = await finished(world, str(ids[0]))
    assert (again["status"], again["attempts"]) == ("succeeded", 2)
    assert again["result"] is not None
    given_up = await finished(world, str(ids[1]))
    assert given_up["status"] == "failed"
    assert "stopped 2 times" in given_up["error"]


@pytest.mark.parametrize(
    "body",
    [
        {
            "draft": DRAFT,
            "start": BASE_TIME.isoformat(),
            "end": (BASE_TIME + timedelta(days=367)).isoformat(),
        },
        {"draft": DRAFT, "rule_id": str(uuid.UUID(int=1)), **RANGE},
        {"rule_version": 1, **RANGE},
        {"draft": {**DRAFT, "condition": "txn.amount >"}, **RANGE},
        {"draft": {**DRAFT, "condition": "x" * 3_000}, **RANGE},
        {"draft": DRAFT, "start": "2026-01-01T00:00:00", "end": "2026-01-02T00:00:00"},
        {"draft": DRAFT, **RANGE, "extra": 1},
    ],
)
async def test_hostile_input_is_refused_and_stores_nothing(
    world: World, body: dict[str, Any]
) -> None:
    before = await job_count(world)
    response = await world.client.post(JOBS, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await job_count(world) == before


async def test_unknown_rule_or_version_is_404(world: World) -> None:
    missing = await world.client.post(JOBS, json={"rule_id": str(uuid.uuid4()), **RANGE})
    assert missing.status_code == 404
    version = await world.client.post(
        JOBS, json={"rule_id": world.rule_id, "rule_version": 99, **RANGE}
    )
    assert version.status_code == 404


async def test_an_idempotency_key_gives_back_the_same_job(world: World) -> None:
    client = world.client
    key = {"Idempotency-Key": f"bt-{uuid.uuid4()}"}
    body = {"draft": DRAFT, **RANGE}
    first = await client.post(JOBS, json=body, headers=key)
    retried = await client.post(JOBS, json=body, headers=key)
    assert first.status_code == retried.status_code == 202
    assert first.json()["id"] == retried.json()["id"]
    other = await client.post(
        JOBS, json={**body, "draft": {**DRAFT, "cooldown_seconds": 1}}, headers=key
    )
    assert other.status_code == 409
    await finished(world, first.json()["id"])


async def test_analysts_and_viewers_cannot_run_jobs_in_the_gateway_or_the_service(
    world: World,
) -> None:
    for method, path in (("POST", JOBS), ("GET", JOBS), ("GET", f"{JOBS}/x/events")):
        rule = DEFAULT_POLICY.rule_for(method, path)
        assert service_for_path(path) == "alerting"
        assert decide(rule, ["risk_manager"], [])
        for role in ("analyst", "viewer", "relationship_manager"):
            assert not decide(rule, [role], []), (role, method, path)
    before = await job_count(world)
    for identity in (ANALYST, VIEWER):
        refused = await world.client.post(
            JOBS, json={"draft": DRAFT, **RANGE}, headers=as_(identity)
        )
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        listed = await world.client.get(JOBS, headers=as_(identity))
        assert listed.status_code == 403
    assert await job_count(world) == before


async def test_a_risk_manager_sees_only_their_own_jobs_an_admin_all(world: World) -> None:
    client = world.client
    ritas = (await client.post(JOBS, json={"draft": DRAFT, **RANGE}, headers=as_(RITA))).json()
    robs = (await client.post(JOBS, json={"draft": DRAFT, **RANGE}, headers=as_(ROB))).json()
    for job in (ritas, robs):
        await finished(world, job["id"])
    own = await client.get(JOBS, headers=as_(RITA), params={"limit": 500})
    assert {job["created_by"] for job in own.json()["items"]} == {"rita"}
    for path in (f"{JOBS}/{robs['id']}", f"{JOBS}/{robs['id']}/events"):
        assert (await client.get(path, headers=as_(RITA))).status_code == 404
    assert (await client.post(f"{JOBS}/{robs['id']}/cancel", headers=as_(RITA))).status_code == 404
    assert (await client.get(f"{JOBS}/{robs['id']}", headers=as_(ROB))).status_code == 200
    # An admin sees everyone's, a page at a time by cursor, newest first.
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(JOBS, params=params)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert {"rita", "rob"} <= {job["created_by"] for job in seen}
    assert len({job["id"] for job in seen}) == len(seen) == await job_count(world)
    created = [job["created_at"] for job in seen]
    assert created == sorted(created, reverse=True)
    assert (await client.get(JOBS, params={"cursor": "garbage"})).status_code == 422
