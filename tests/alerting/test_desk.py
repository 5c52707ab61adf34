"""The alert desk API over real HTTP, PostgreSQL and NATS: queue filters (`assignee=me|none`,
team, SLA badge), the SLA sort, bulk assignment, the start page's summary and the live stream
of new and changed alerts (issue 21, screen 1)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from riskwatch_alerting.config import Settings
from riskwatch_alerting.main import create_app
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.common import CustomerSnapshot
from riskwatch_shared.events.customer import CustomerCreated
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import checker_headers, identity_headers, served_app
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI
from .factories import feed, transaction_scored

ANALYST = Identity(subject="u-alice", roles=("analyst",), staff_id="alice", name="Alice")
ADMIN = Identity(subject="u-root", roles=("admin",))
VIEWER = Identity(subject="u-vic", roles=("viewer",))
RM_A = Identity(subject="u-rma", roles=("relationship_manager",), staff_id="rm-a")
ACCOUNT = "DE89370400440532013000"


@dataclass
class Desk:
    base_url: str
    runtime: ServiceRuntime
    rule_id: str

    def client(self, identity: Identity) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url, headers=identity_headers(identity), timeout=15
        )

    async def raise_alert(self, customer_id: uuid.UUID, *, account: str = ACCOUNT) -> str:
        """One alert for `customer_id` through the pipeline, as the consumer raises it."""
        event = transaction_scored(customer_id, amount="9000", counterparty_account=account)
        await feed(self.runtime.session_factory, AlertPipeline(), [event])
        async with self.client(ADMIN) as admin:
            page = (await admin.get("/v1/alerts", params={"customer_id": str(customer_id)})).json()
        return str(page["items"][0]["id"])

    async def sql(self, statement: str, **params: Any) -> None:
        async with self.runtime.engine.begin() as conn:
            await conn.execute(text(statement), params)


@pytest.fixture(scope="module")
async def desk(infra: Infra) -> AsyncIterator[Desk]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_desk"):
        settings = Settings(
            database_url=url,
            NATS_URL=infra.nats_url,
            consumer_prefix=f"alerting-desk-{uuid.uuid4().hex[:6]}",
            sse_heartbeat_seconds=0.5,
        )
        async with served_app(create_app(settings)) as (base_url, runtime):
            harness = Desk(base_url, runtime, "")
            async with harness.client(ADMIN) as admin:
                rule = await admin.post(
                    "/v1/rules",
                    json={
                        "name": "Big payment",
                        "rule_type": "transaction_anomaly",
                        "severity": "high",
                        "trigger_event_types": ["scoring.transaction_scored.v1"],
                        "condition": "txn.amount > 5000",
                        "dedup_key": "customer_id:txn.counterparty_account",
                    },
                )
                assert rule.status_code == 201, rule.text
                harness.rule_id = rule.json()["id"]
                activated = await admin.post(
                    f"/v1/rules/{harness.rule_id}/activate", headers=checker_headers()
                )
                assert activated.status_code == 200, activated.text
            yield harness


async def test_queues_sla_badges_and_the_sla_sort(desk: Desk) -> None:
    customer = uuid.uuid4()
    mine, teams, loose = [
        await desk.raise_alert(customer, account=f"DE{n}0000000000000000000") for n in range(3)
    ]
    async with desk.client(ANALYST) as analyst:
        assigned = await analyst.post(
            "/v1/alerts/assign", json={"alert_ids": [mine], "assignee": "me"}
        )
        assert assigned.status_code == 200, assigned.text
        await analyst.post("/v1/alerts/assign", json={"alert_ids": [teams], "team": "Fraud"})
        params = {"customer_id": str(customer)}
        response = await analyst.get("/v1/alerts", params={**params, "assignee": "me"})
        assert [a["id"] for a in response.json()["items"]] == [mine]
        assert response.json()["items"][0]["assignee"] == "alice"  # `me` is the staff id
        assert response.json()["total"] == 1
        unassigned = await analyst.get("/v1/alerts", params={**params, "assignee": "none"})
        assert {a["id"] for a in unassigned.json()["items"]} == {teams, loose}
        team = await analyst.get("/v1/alerts", params={**params, "team": "Fraud"})
        assert [a["id"] for a in team.json()["items"]] == [teams]

        # Badges: `mine` in the last quarter of its SLA, `teams` past due, `loose` fresh.
        now = datetime.now(UTC)
        await desk.sql(
            "UPDATE alerts SET raised_at = :raised, sla_due_at = :due WHERE id = :id",
            raised=now - timedelta(hours=3, minutes=30),
            due=now + timedelta(minutes=30),
            id=uuid.UUID(mine),
        )
        await desk.sql(
            "UPDATE alerts SET raised_at = :raised, sla_due_at = :due WHERE id = :id",
            raised=now - timedelta(hours=5),
            due=now - timedelta(hours=1),
            id=uuid.UUID(teams),
        )
        listed = (await analyst.get("/v1/alerts", params=params)).json()["items"]
        badges = {a["id"]: a["sla_state"] for a in listed}
        assert badges == {mine: "amber", teams: "red", loose: "ok"}
        for state, expected in (("amber", mine), ("red", teams), ("ok", loose)):
            found = await analyst.get("/v1/alerts", params={**params, "sla_state": state})
            assert [a["id"] for a in found.json()["items"]] == [expected]
        detail = await analyst.get(f"/v1/alerts/{teams}")
        assert detail.json()["sla_state"] == "red"

        # The soonest due first, a page at a time; a cursor of another sort is refused.
        order: list[str] = []
        cursor = None
        while True:
            page = await analyst.get(
                "/v1/alerts",
                params={
                    **params,
                    "sort": "sla_due_at",
                    "limit": 1,
                    **({"cursor": cursor} if cursor else {}),
                },
            )
            assert page.status_code == 200, page.text
            order += [a["id"] for a in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert order == [teams, mine, loose]
        first = await analyst.get("/v1/alerts", params={**params, "sort": "sla_due_at", "limit": 1})
        foreign = await analyst.get(
            "/v1/alerts", params={**params, "cursor": first.json()["next_cursor"]}
        )
        assert foreign.status_code == 422
        bad = await analyst.get("/v1/alerts", params={"sla_state": "purple"})
        assert bad.status_code == 422


async def test_bulk_assign_reports_each_alert_and_refuses_what_it_must(desk: Desk) -> None:
    owned, other = uuid.uuid4(), uuid.uuid4()
    await feed(
        desk.runtime.session_factory,
        AlertPipeline(),
        [
            CustomerCreated(
                customer_id=owned,
                customer=CustomerSnapshot(
                    kind="individual", name="Bo", status="active", relationship_manager="rm-a"
                ),
            )
        ],
    )
    open_alert = await desk.raise_alert(owned)
    resolved = await desk.raise_alert(other)
    elsewhere = await desk.raise_alert(other, account="DE11000000000000000000")
    missing = str(uuid.uuid4())
    async with desk.client(ANALYST) as analyst:
        done = await analyst.post(
            f"/v1/alerts/{resolved}/resolve", json={"outcome": "false_positive"}
        )
        assert done.status_code == 200, done.text
        response = await analyst.post(
            "/v1/alerts/assign",
            json={"alert_ids": [open_alert, resolved, missing], "assignee": "bob", "team": "T"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["assigned"] == 1
        assert [(r["alert_id"], r["result"]) for r in body["results"]] == [
            (open_alert, "assigned"),
            (resolved, "not_allowed"),
            (missing, "not_found"),
        ]
        alert = (await analyst.get(f"/v1/alerts/{open_alert}")).json()
        assert (alert["assignee"], alert["assignee_team"]) == ("bob", "T")
        timeline = (await analyst.get(f"/v1/alerts/{open_alert}/timeline")).json()
        assert timeline[-1]["change"] == "assigned"
        assert timeline[-1]["actor_name"] == "Alice"

        for hostile in (
            {"alert_ids": [open_alert, open_alert], "assignee": "bob"},
            {"alert_ids": [], "assignee": "bob"},
            {"alert_ids": [open_alert]},
            {"alert_ids": [str(uuid.uuid4()) for _ in range(501)], "assignee": "bob"},
            {"alert_ids": [open_alert], "assignee": "bob\u0000"},
            {"alert_ids": [open_alert], "assignee": "bob", "admin": True},
        ):
            refused = await analyst.post("/v1/alerts/assign", json=hostile)
            assert refused.status_code == 422, hostile
            assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await analyst_view(desk, open_alert))["assignee"] == "bob"

    async with desk.client(VIEWER) as viewer:
        denied = await viewer.post(
            "/v1/alerts/assign", json={"alert_ids": [elsewhere], "team": "x"}
        )
        assert denied.status_code == 403
    # An RM may not bulk assign at all; their reads see only their own customers' alerts.
    async with desk.client(RM_A) as rm:
        denied = await rm.post("/v1/alerts/assign", json={"alert_ids": [open_alert], "team": "x"})
        assert denied.status_code == 403
    assert (await analyst_view(desk, elsewhere))["assignee"] is None


async def analyst_view(desk: Desk, alert_id: str) -> dict[str, Any]:
    async with desk.client(ANALYST) as analyst:
        response = await analyst.get(f"/v1/alerts/{alert_id}")
    assert response.status_code == 200
    return dict(response.json())


async def test_summary_counts_my_open_work_by_sla_and_todays_alerts(desk: Desk) -> None:
    carol = Identity(subject=f"u-{uuid.uuid4().hex[:6]}", roles=("analyst",))
    customer = uuid.uuid4()
    async with desk.client(carol) as client:
        before = (await client.get("/v1/desk/summary")).json()
    late, fresh, closed = [
        await desk.raise_alert(customer, account=f"DE{n}1000000000000000000") for n in range(3)
    ]
    async with desk.client(carol) as client:
        assert before["my_open_alerts"] == {"ok": 0, "amber": 0, "red": 0}
        assert before["me"] == [carol.subject]
        assign = await client.post(
            "/v1/alerts/assign", json={"alert_ids": [late, fresh, closed], "assignee": "me"}
        )
        assert assign.json()["assigned"] == 3
        await client.post(f"/v1/alerts/{closed}/resolve", json={"outcome": "confirmed_risk"})
        await desk.sql(
            "UPDATE alerts SET sla_due_at = now() - interval '1 minute' WHERE id = :id",
            id=uuid.UUID(late),
        )
        [case_id] = {(await client.get(f"/v1/alerts/{a}")).json()["case_id"] for a in (late, fresh)}
        await client.post(f"/v1/cases/{case_id}/assign", json={"assignee": carol.subject})
        await desk.sql(
            "UPDATE cases SET sla_due_at = now() - interval '1 minute' WHERE id = :id",
            id=uuid.UUID(case_id),
        )
        summary = (await client.get("/v1/desk/summary")).json()
    assert summary["my_open_alerts"] == {"ok": 1, "amber": 0, "red": 1}
    assert summary["my_open_cases"] == {"ok": 0, "amber": 0, "red": 1}
    assert summary["new_alerts_today"] == before["new_alerts_today"] + 3
    assert summary["new_unassigned_alerts_today"] == before["new_unassigned_alerts_today"]
    day_start = datetime.fromisoformat(summary["day_start"])
    assert day_start.tzinfo is not None
    assert day_start.hour == 0
    # A relationship manager's summary counts only their own customers' alerts.
    async with desk.client(Identity(subject="u-x", roles=("relationship_manager",))) as rm:
        confined = (await rm.get("/v1/desk/summary")).json()
    assert confined["new_alerts_today"] == 0


async def _next_event(lines: AsyncIterator[str]) -> dict[str, str]:
    event: dict[str, str] = {}
    async for line in lines:
        if line.startswith(("event:", "data:", "id:")):
            key, _, value = line.partition(": ")
            event[key] = value
        elif line == "" and "data" in event:
            return event
    raise AssertionError("the stream ended without an event")


async def test_the_stream_carries_new_and_changed_alerts_masked_per_role(desk: Desk) -> None:
    owned, other = uuid.uuid4(), uuid.uuid4()
    await feed(
        desk.runtime.session_factory,
        AlertPipeline(),
        [
            CustomerCreated(
                customer_id=owned,
                customer=CustomerSnapshot(
                    kind="individual", name="Ann", status="active", relationship_manager="rm-a"
                ),
            )
        ],
    )
    async with (
        desk.client(VIEWER) as viewer,
        viewer.stream("GET", "/v1/alerts/stream") as stream,
        desk.client(RM_A) as rm,
        rm.stream("GET", "/v1/alerts/stream") as rm_stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines, rm_lines = stream.aiter_lines(), rm_stream.aiter_lines()
        assert await anext(lines) == ": connected"
        assert await anext(rm_lines) == ": connected"
        foreign = await desk.raise_alert(other)
        raised = await _next_event(lines)
        assert raised["event"] == "alert"
        alert = json.loads(raised["data"])
        assert alert["id"] == foreign
        assert ACCOUNT not in raised["data"]  # a viewer sees account numbers masked
        assert ACCOUNT[-4:] in alert["dedup_value"]

        async with desk.client(ANALYST) as analyst:
            await analyst.post(f"/v1/alerts/{foreign}/acknowledge", json={})
        after_raised = [await _next_event(lines)]
        while json.loads(after_raised[-1]["data"])["status"] != "acknowledged":
            after_raised.append(await _next_event(lines))
        assert {json.loads(e["data"])["id"] for e in after_raised} == {foreign}
        ids = [int(raised["id"])] + [int(e["id"]) for e in after_raised]
        assert ids == sorted(set(ids))  # each change once, in order

        # The RM's stream skips another RM's customer and carries their own.
        own = await desk.raise_alert(owned)
        mine = await _next_event(rm_lines)
        assert json.loads(mine["data"])["id"] == own

    # Reconnecting with Last-Event-ID replays what came after it.
    resume = {**identity_headers(VIEWER), "Last-Event-ID": raised["id"]}
    async with (
        httpx.AsyncClient(base_url=desk.base_url, headers=resume, timeout=15) as client,
        client.stream("GET", "/v1/alerts/stream") as replay,
    ):
        replayed = await _next_event(replay.aiter_lines())
    assert replayed["id"] == after_raised[0]["id"]
    async with desk.client(VIEWER) as viewer:
        refused = await viewer.get("/v1/alerts/stream", headers={"Last-Event-ID": "1; DROP"})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")


async def test_a_lists_total_is_the_same_on_every_page_and_with_one_page(desk: Desk) -> None:
    """The first page that holds every match gives its length as the total (no count query);
    a page with more behind it counts them: both say the same."""
    customer = uuid.uuid4()
    raised = {
        await desk.raise_alert(customer, account=f"GB{n}1000000000000000000") for n in range(3)
    }
    params = {"customer_id": str(customer), "status": "new", "severity": "high"}
    async with desk.client(ANALYST) as analyst:
        whole = (await analyst.get("/v1/alerts", params=params)).json()
        assert {a["id"] for a in whole["items"]} == raised
        assert (whole["total"], whole["total_is_estimate"], whole["next_cursor"]) == (
            3,
            False,
            None,
        )
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            page = (
                await analyst.get(
                    "/v1/alerts",
                    params={**params, "limit": "2", **({"cursor": cursor} if cursor else {})},
                )
            ).json()
            assert (page["total"], page["total_is_estimate"]) == (3, False)
            seen |= {a["id"] for a in page["items"]}
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == raised
        none = (await analyst.get("/v1/alerts", params={**params, "severity": "low"})).json()
        assert (none["items"], none["total"]) == ([], 0)
