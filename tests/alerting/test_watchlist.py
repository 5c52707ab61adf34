"""The watch list (issue 22 item 3) through the alerting API on real PostgreSQL and NATS:
customers enter on an analyst's decision or from a rule or warning (idempotent per customer),
with an owner, a review date, required actions and exit criteria; reviews and exits are kept;
each change is an event on the ALERTING stream; the desk counts my reviews due; a relationship
manager sees only their own customers' entries."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import text

from riskwatch_alerting.config import Settings
from riskwatch_alerting.main import create_app
from riskwatch_alerting.pipeline import AlertPipeline
from riskwatch_shared.app import ServiceRuntime
from riskwatch_shared.events.common import CustomerSnapshot
from riskwatch_shared.events.customer import CustomerCreated
from riskwatch_shared.security import Identity
from riskwatch_shared.testing import identity_headers, running_app, wait_until
from riskwatch_shared.testing.fixtures import Infra, migrated_database

from .conftest import ALEMBIC_INI
from .factories import feed

ANALYST = Identity(subject="u-wl-ana", roles=("analyst",), staff_id="ana", name="Ana")
VIEWER = Identity(subject="u-wl-viewer", roles=("viewer",))
RM_OWNER = Identity(subject="u-wl-rm", roles=("relationship_manager",), staff_id="rm-wl")
RM_OTHER = Identity(subject="u-wl-rmx", roles=("relationship_manager",), staff_id="rm-wlx")
Client = tuple[httpx.AsyncClient, ServiceRuntime]


@pytest.fixture(scope="module")
async def api(infra: Infra) -> AsyncIterator[Client]:
    async for url in migrated_database(infra, ALEMBIC_INI, "alerting_watchlist"):
        settings = Settings(
            database_url=url,
            NATS_URL=infra.nats_url,
            consumer_prefix=f"alerting-wl-{uuid.uuid4().hex[:6]}",
        )
        async with running_app(create_app(settings), identity=ANALYST) as (client, runtime):
            yield client, runtime


async def _customer(runtime: ServiceRuntime, rm: str) -> uuid.UUID:
    customer_id = uuid.uuid4()
    snapshot = CustomerSnapshot(
        kind="individual", name="Wanda", status="active", relationship_manager=rm
    )
    created = CustomerCreated(customer_id=customer_id, customer=snapshot)
    await feed(runtime.session_factory, AlertPipeline(), [created])
    return customer_id


def _enter_body(customer_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    return {
        "customer_id": str(customer_id),
        "reason": "Payroll inflows stopped for two months",
        "review_due": (datetime.now(UTC).date() + timedelta(days=14)).isoformat(),
        "required_actions": ["Call the customer", "Review the overdraft limit"],
        "exit_criteria": "Three months of regular payroll",
        **overrides,
    }


async def _published(runtime: ServiceRuntime, subject: str, entry_id: str) -> dict[str, Any]:
    """The event of `subject` about `entry_id`, once the relay has put it on the stream."""

    async def found() -> dict[str, Any] | None:
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=10.0
        )
        sub = await runtime.bus.js.pull_subscribe(subject, stream="ALERTING", config=config)
        try:
            while True:
                try:
                    messages = await sub.fetch(100, timeout=0.3)
                except (nats.errors.TimeoutError, TimeoutError):
                    return None
                for message in messages:
                    payload: dict[str, Any] = json.loads(message.data)
                    if payload["entry_id"] == entry_id:
                        return payload
        finally:
            await sub.unsubscribe()

    return await wait_until(found, timeout=15, message=f"{subject} published")


async def test_enter_review_exit_with_events(api: Client) -> None:
    client, runtime = api
    customer_id = await _customer(runtime, "rm-wl")
    entered = await client.post("/v1/watchlist", json=_enter_body(customer_id))
    assert entered.status_code == 201, entered.text
    entry = entered.json()
    assert (entry["status"], entry["owner"], entry["origin"]) == ("active", "ana", "analyst")
    assert entry["customer_name"] == "Wanda"
    assert entry["review_overdue"] is False
    event = await _published(runtime, "alerting.customer_entered_watchlist.v1", entry["id"])
    assert event["customer_id"] == str(customer_id)
    assert event["required_actions"] == ["Call the customer", "Review the overdraft limit"]
    assert event["relationship_manager"] == "rm-wl"

    # A warning that calls again while the customer is on the list changes nothing.
    again = await client.post(
        "/v1/watchlist",
        json=_enter_body(customer_id, origin="warning", origin_ref="income_drop"),
    )
    assert again.status_code == 200
    assert again.json()["id"] == entry["id"]
    assert again.json()["origin"] == "analyst"

    next_due = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    reviewed = await client.post(
        f"/v1/watchlist/{entry['id']}/reviews",
        json={"note": "Payment plan agreed", "next_review_due": next_due},
    )
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["review_due"] == next_due
    await _published(runtime, "alerting.watchlist_reviewed.v1", entry["id"])
    exited = await client.post(
        f"/v1/watchlist/{entry['id']}/exit", json={"reason": "Payroll regular again"}
    )
    assert exited.json()["status"] == "exited"
    left = await _published(runtime, "alerting.customer_exited_watchlist.v1", entry["id"])
    assert left["reason"] == "Payroll regular again"
    detail = (await client.get(f"/v1/watchlist/{entry['id']}")).json()
    assert [(r["note"], r["reviewer_name"]) for r in detail["reviews"]] == [
        ("Payment plan agreed", "Ana")
    ]
    closed = await client.post(
        f"/v1/watchlist/{entry['id']}/reviews",
        json={"note": "late", "next_review_due": next_due},
    )
    assert closed.status_code == 409
    assert (
        await client.post(f"/v1/watchlist/{entry['id']}/exit", json={"reason": "x"})
    ).status_code == 409

    # The 360's status: the customer's entries, and a new one may start after the exit.
    history = (await client.get("/v1/watchlist", params={"customer_id": str(customer_id)})).json()
    assert [e["status"] for e in history["items"]] == ["exited"]
    back = await client.post("/v1/watchlist", json=_enter_body(customer_id))
    assert back.status_code == 201
    assert back.json()["id"] != entry["id"]


async def test_reviews_due_on_the_desk_and_rm_confinement(api: Client) -> None:
    client, runtime = api
    mine, theirs = await _customer(runtime, "rm-wl"), await _customer(runtime, "rm-wlx")
    carol = Identity(subject=f"u-{uuid.uuid4().hex[:6]}", roles=("analyst",))
    headers = identity_headers(carol)
    before = (await client.get("/v1/desk/summary", headers=headers)).json()
    assert before["my_watchlist_reviews_due"] == 0
    ids = []
    for customer_id in (mine, theirs):
        response = await client.post(
            "/v1/watchlist", json=_enter_body(customer_id), headers=headers
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    async with runtime.engine.begin() as conn:  # the first review's date has come
        await conn.execute(
            text("UPDATE watchlist_entries SET review_due = :d WHERE id = :id"),
            {"d": datetime.now(UTC).date() - timedelta(days=1), "id": uuid.UUID(ids[0])},
        )
    summary = (await client.get("/v1/desk/summary", headers=headers)).json()
    assert summary["my_watchlist_reviews_due"] == 1
    due = (
        await client.get(
            "/v1/watchlist", params={"owner": "me", "review_due": "true"}, headers=headers
        )
    ).json()
    assert [e["id"] for e in due["items"]] == [ids[0]]
    assert due["items"][0]["review_overdue"] is True

    rm = identity_headers(RM_OWNER)
    listed = (await client.get("/v1/watchlist", params={"status": "active"}, headers=rm)).json()
    assert ids[0] in {e["id"] for e in listed["items"]}
    assert ids[1] not in {e["id"] for e in listed["items"]}
    assert (await client.get(f"/v1/watchlist/{ids[1]}", headers=rm)).status_code == 404
    assert (await client.get(f"/v1/watchlist/{ids[0]}", headers=rm)).status_code == 200
    # Reading is for staff; changing it is for analysts and up.
    for identity in (RM_OWNER, VIEWER):
        refused = await client.post(
            f"/v1/watchlist/{ids[0]}/exit",
            json={"reason": "x"},
            headers=identity_headers(identity),
        )
        assert refused.status_code == 403


async def test_hostile_watchlist_input_is_refused_and_stores_nothing(api: Client) -> None:
    client, runtime = api
    customer_id = await _customer(runtime, "rm-wl")
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    for body in (
        _enter_body(customer_id, review_due=yesterday),
        _enter_body(customer_id, reason=""),
        _enter_body(customer_id, reason="x" * 2_001),
        _enter_body(customer_id, exit_criteria="ok\u0000"),
        _enter_body(customer_id, required_actions=["a"] * 21),
        _enter_body(customer_id, origin="scheduler"),
        _enter_body(customer_id, status="exited"),
        {**_enter_body(customer_id), "customer_id": "not-a-uuid"},
    ):
        response = await client.post("/v1/watchlist", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    unknown = await client.post("/v1/watchlist", json=_enter_body(uuid.uuid4()))
    assert unknown.status_code == 404
    listed = (await client.get("/v1/watchlist", params={"customer_id": str(customer_id)})).json()
    assert listed["items"] == []
    assert (await client.get("/v1/watchlist", params={"cursor": "garbage"})).status_code == 422
